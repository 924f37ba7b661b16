"""A ticket's story in order: created, first response, escalation, pauses, resolutions and
reopens, closure. Read from the stored ticket; pure apart from reading its fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str
    kind: str  # start | response | escalation | pause | resume | resolved | reopened | closed


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def ticket_timeline(ticket) -> list[Event]:
    events = [Event(ticket.created_at, "Created", "start")]
    if ticket.first_response_at:
        events.append(Event(ticket.first_response_at, "First response", "response"))
    if ticket.escalated_at:
        tier = f" (reached tier {ticket.tier})" if ticket.tier else ""
        events.append(Event(ticket.escalated_at, f"Escalated above tier 1{tier}", "escalation"))
    for start, end in (_pair(p) for p in ticket.paused_intervals or []):
        if start:
            events.append(Event(start, "Paused (off the resolution clock)", "pause"))
        if end:
            events.append(Event(end, "Work resumed", "resume"))
    for resolved, reopened in (_pair(p) for p in ticket.reopen_gaps or []):
        if resolved:
            events.append(Event(resolved, "Resolved", "resolved"))
        if reopened:
            events.append(Event(reopened, "Reopened", "reopened"))
    if ticket.resolved_at:
        events.append(Event(ticket.resolved_at, "Resolved (final)", "resolved"))
    if ticket.closed_at:
        events.append(Event(ticket.closed_at, "Closed", "closed"))
    order = {"start": 0, "response": 1, "escalation": 2, "resume": 3, "reopened": 3}
    return sorted(events, key=lambda e: (e.at, order.get(e.kind, 4)))


def _pair(pair) -> tuple[datetime | None, datetime | None]:
    start = pair[0] if len(pair) > 0 else None
    end = pair[1] if len(pair) > 1 else None
    return _instant(start), _instant(end)
