"""KPI formulas (kpis/formulas.py) on a hand-built client: every figure computed by hand, plus
properties over random tickets. Pure: no database."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.formulas import Period, kpis_compute

JULY = Period.parse("2025-07", "America/Chicago")
COLUMNS = {
    "id": pl.Int64, "created_at": pl.Datetime("us"), "resolved_at": pl.Datetime("us"),
    "kind": pl.String, "priority": pl.String, "origin": pl.String, "category": pl.String,
    "configuration_item": pl.String, "requester": pl.String, "title": pl.String,
    "tier": pl.Int16, "escalated_at": pl.Datetime("us"), "reopen_count": pl.Int64,
    "reassignment_count": pl.Int64, "state": pl.String, "response_minutes": pl.Float64,
    "response_verdict": pl.String, "resolution_minutes": pl.Float64,
    "resolution_verdict": pl.String, "no_verdict_reason": pl.String,
}  # fmt: skip


# Distinct titles without digits: the fingerprint reads digits as '#', so 'Ticket 5' and
# 'Ticket 6' would be the same incident.
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]


def ticket(id, created, resolved=None, **kw):
    row = {
        "id": id, "created_at": created, "resolved_at": resolved, "kind": "incident",
        "priority": "P3", "origin": "reactive", "category": "Email", "configuration_item": "",
        "requester": "", "title": f"Issue {WORDS[id % len(WORDS)]}", "tier": 1,
        "escalated_at": None, "reopen_count": 0, "reassignment_count": 0,
        "state": "closed" if resolved else "open", "response_minutes": 30.0,
        "response_verdict": "met", "resolution_minutes": 120.0 if resolved else None,
        "resolution_verdict": "met" if resolved else "pending", "no_verdict_reason": "",
    }  # fmt: skip
    return row | kw


def frame(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=COLUMNS, orient="row")


def d(text: str) -> datetime:
    """A UTC instant, naive, as the frames hold them."""
    return datetime.fromisoformat(text)


def test_july_in_chicago_is_a_utc_range_starting_at_five_in_the_morning():
    assert (JULY.start, JULY.end) == (d("2025-07-01 05:00"), d("2025-08-01 05:00"))
    q3 = Period.parse("2025-Q3", "America/Chicago")
    assert (q3.first_day.isoformat(), q3.next_first_day.isoformat()) == ("2025-07-01", "2025-10-01")
    assert Period.parse("2025", "UTC").end == d("2026-01-01 00:00")
    with pytest.raises(ValueError, match="not a period"):
        Period.parse("2025-13x", "UTC")


def hand_built() -> pl.DataFrame:
    return frame([
        # June, resolved in July: counts for July's resolution figures only.
        ticket(1, d("2025-06-30 20:00"), d("2025-07-02 15:00"), resolution_minutes=600.0,
               resolution_verdict="breached", state="closed"),
        # The first of July in Chicago starts at 05:00 UTC: this one is all June.
        ticket(2, d("2025-07-01 04:59"), d("2025-07-01 04:59:59")),
        ticket(3, d("2025-07-03 14:00"), d("2025-07-03 16:00"), origin="proactive",
               configuration_item="SRV01", category="Backup", response_minutes=10.0),
        ticket(4, d("2025-07-10 14:00"), d("2025-07-11 14:00"), origin="proactive",
               configuration_item="SRV01", category="Backup", response_minutes=50.0,
               tier=2, escalated_at=d("2025-07-10 15:30"), resolution_minutes=300.0,
               resolution_verdict="breached", response_verdict="breached"),
        ticket(5, d("2025-07-20 14:00"), d("2025-07-21 14:00"), reopen_count=1,
               response_minutes=90.0, response_verdict="breached"),
        ticket(6, d("2025-07-25 14:00"), None, response_minutes=None, response_verdict="pending",
               origin=""),
        ticket(7, d("2025-07-28 14:00"), None, kind="request", response_minutes=20.0,
               resolution_verdict="", priority="", no_verdict_reason="unmapped priority"),
        # August: outside the period, but open at the end of July? No: created after it.
        ticket(8, d("2025-08-02 14:00"), None),
    ])  # fmt: skip


def test_every_figure_of_a_hand_built_july():
    f = kpis_compute(hand_built(), JULY, seats=50, repeat_window_days=30)
    value = {k: v.value for k, v in f.items()}
    assert f["tickets.created"].tickets == [3, 4, 5, 6, 7]
    assert f["tickets.resolved"].tickets == [1, 3, 4, 5]
    assert f["tickets.open_at_end"].tickets == [6, 7]
    assert value["tickets.per_seat"] == 5 / 50
    # Response, over the created tickets that have a first response: 10, 50, 90, 20.
    assert value["response.mean_minutes"] == 42.5
    assert value["response.median_minutes"] == 35.0
    assert value["response.p90_minutes"] == 90.0
    assert (value["response.sla_met"], value["response.sla_breached"]) == (2, 2)
    assert value["response.sla_pending"] == 1
    assert value["response.compliance"] == 0.5
    # Resolution, over July's resolutions: 600, 120, 300, 120 minutes; 1 and 4 breached.
    assert value["resolution.mean_minutes"] == 285.0
    assert value["resolution.median_minutes"] == 210.0
    assert value["resolution.compliance"] == 0.5
    assert f["resolution.sla_pending"].tickets == [6]
    # First-time fix: 1 and 3 (4 escalated, 5 reopened) of the four resolved.
    assert f["first_time_fix_rate"].tickets == [1, 3]
    assert value["first_time_fix_rate"] == 0.5
    assert value["reopen_rate"] == 0.25
    # Repeats: 4 repeats 3 (same device and category, 7 days apart); July's incidents are
    # 3, 4, 5 and 6 (7 is a request).
    assert (f["repeat_incident_rate"].numerator, f["repeat_incident_rate"].denominator) == (1, 4)
    [cluster] = value["repeat_clusters"]
    assert cluster["fingerprint"] == "ci:srv01|backup" and cluster["tickets"] == [3, 4]
    # Proactive: 3 and 4 of the incidents with a known origin (3, 4, 5; 6 has none).
    assert f["proactive_ratio"].tickets == [3, 4] and f["proactive_ratio"].denominator == 3
    assert value["escalation.rate"] == 1 / 5
    assert value["escalation.mean_minutes_to_escalate"] == 90.0
    assert value["escalation.resolved_at_tier"] == {"1": 0.75, "2": 0.25, "3": 0.0}
    assert value["excluded"] == {"unmapped priority": 1}


def test_empty_periods_give_nulls_not_zero_division():
    f = kpis_compute(hand_built(), Period.parse("2024-01", "UTC"), seats=0, repeat_window_days=30)
    assert f["tickets.created"].value == 0
    assert f["response.compliance"].value is None
    assert f["response.mean_minutes"].value is None
    assert f["tickets.per_seat"].value is None


VERDICTS = st.sampled_from(["met", "breached", "pending", ""])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 60 * 24 * 90), st.one_of(st.none(), st.integers(0, 60 * 24 * 30)),
            VERDICTS, VERDICTS, st.integers(0, 2), st.integers(1, 3),
            st.sampled_from(["proactive", "reactive", ""]),
        ),
        max_size=40,
    )
)  # fmt: skip
def test_rates_are_fractions_and_compliance_is_met_over_judged(rows):
    base = d("2025-06-15 00:00")
    tickets = frame([
        ticket(i, base + timedelta(minutes=c),
               None if r is None else base + timedelta(minutes=c + r),
               response_verdict=rv, resolution_verdict=sv, reopen_count=reopen, tier=tier,
               origin=origin)
        for i, (c, r, rv, sv, reopen, tier, origin) in enumerate(rows)
    ])  # fmt: skip
    f = kpis_compute(tickets, JULY, seats=10, repeat_window_days=30)
    for key in (
        "response.compliance",
        "resolution.compliance",
        "first_time_fix_rate",
        "repeat_incident_rate",
        "proactive_ratio",
        "reopen_rate",
        "escalation.rate",
    ):
        value = f[key].value
        assert value is None or 0 <= value <= 1, key
        if value is not None:
            assert value == f[key].numerator / f[key].denominator
            assert len(f[key].tickets) == f[key].numerator
    met, breached = f["response.sla_met"].value, f["response.sla_breached"].value
    assert f["response.compliance"].denominator == met + breached
    created = f["tickets.created"].value
    assert met + breached + f["response.sla_pending"].value <= created
