"""A ticket's timeline, hand-built: the events of its fields, in order."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from kpis.dashboard.timeline import ticket_timeline


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_field_becomes_an_event_in_time_order():
    ticket = SimpleNamespace(
        created_at=utc("2025-09-08 14:00"),
        first_response_at=utc("2025-09-08 14:20"),
        escalated_at=utc("2025-09-08 15:00"),
        tier=2,
        paused_intervals=[
            ["2025-09-08T16:00:00Z", "2025-09-09T14:00:00Z"],
            ["2025-09-10T14:00:00Z", None],
        ],
        reopen_gaps=[["2025-09-09T16:00:00Z", "2025-09-10T09:00:00Z"]],
        resolved_at=utc("2025-09-11 15:00"),
        closed_at=utc("2025-09-14 15:00"),
    )
    events = [(e.at.strftime("%d %H:%M"), e.kind) for e in ticket_timeline(ticket)]
    assert events == [
        ("08 14:00", "start"),
        ("08 14:20", "response"),
        ("08 15:00", "escalation"),
        ("08 16:00", "pause"),
        ("09 14:00", "resume"),
        ("09 16:00", "resolved"),
        ("10 09:00", "reopened"),
        ("10 14:00", "pause"),
        ("11 15:00", "resolved"),
        ("14 15:00", "closed"),
    ]
    assert "tier 2" in ticket_timeline(ticket)[2].what


def test_a_new_ticket_has_just_its_creation():
    ticket = SimpleNamespace(
        created_at=utc("2025-09-08 14:00"),
        first_response_at=None,
        escalated_at=None,
        tier=None,
        paused_intervals=[],
        reopen_gaps=[],
        resolved_at=None,
        closed_at=None,
    )
    assert [e.kind for e in ticket_timeline(ticket)] == ["start"]
