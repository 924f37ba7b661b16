"""KPI formulas (kpis/metrics/formulas.py) on a hand-built client: every figure computed by hand,
plus properties over random tickets. Pure: no database."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.metrics.formulas import figure_tickets, kpis_by_period, kpis_compute, prepared
from kpis.metrics.period import Period, period_key, period_label, period_labels_of_month

JULY = Period.parse("2025-07", "America/Chicago")
COLUMNS = {
    "id": pl.Int64, "created_at": pl.Datetime("us"), "resolved_at": pl.Datetime("us"),
    "kind": pl.String, "priority": pl.String, "origin": pl.String, "category": pl.String,
    "configuration_item": pl.String, "requester": pl.String, "title": pl.String,
    "tier": pl.Int16, "escalated_at": pl.Datetime("us"), "reopen_count": pl.Int64,
    "reassignment_count": pl.Int64, "state": pl.String, "response_minutes": pl.Float64,
    "response_verdict": pl.String, "resolution_minutes": pl.Float64,
    "resolution_verdict": pl.String, "no_verdict_reason": pl.String,
    "resolution_breached_at": pl.Datetime("us"),
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
        "resolution_breached_at": None,
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
        # June, resolved in July: counts for July's resolution times; its target passed on
        # 30 June 18:00 in Chicago, so its breach counts in June.
        ticket(1, d("2025-06-30 20:00"), d("2025-07-02 15:00"), resolution_minutes=600.0,
               resolution_verdict="breached", state="closed",
               resolution_breached_at=d("2025-06-30 23:00")),
        # The first of July in Chicago starts at 05:00 UTC: this one is all June.
        ticket(2, d("2025-07-01 04:59"), d("2025-07-01 04:59:59")),
        ticket(3, d("2025-07-03 14:00"), d("2025-07-03 16:00"), origin="proactive",
               configuration_item="SRV01", category="Backup", response_minutes=10.0),
        ticket(4, d("2025-07-10 14:00"), d("2025-07-11 14:00"), origin="proactive",
               configuration_item="SRV01", category="Backup", response_minutes=50.0,
               tier=2, escalated_at=d("2025-07-10 15:30"), resolution_minutes=300.0,
               resolution_verdict="breached", response_verdict="breached",
               resolution_breached_at=d("2025-07-11 10:00")),
        ticket(5, d("2025-07-20 14:00"), d("2025-07-21 14:00"), reopen_count=1,
               response_minutes=90.0, response_verdict="breached"),
        ticket(6, d("2025-07-25 14:00"), None, response_minutes=None, response_verdict="pending",
               origin=""),
        ticket(7, d("2025-07-28 14:00"), None, kind="request", response_minutes=20.0,
               resolution_verdict="", priority="", no_verdict_reason="unmapped priority"),
        # August: outside the period, but open at the end of July? No: created after it.
        ticket(8, d("2025-08-02 14:00"), None),
        # Raised in June, never resolved: past its target on 5 July (a July breach) and on
        # 3 August (an August breach, so still within target at the end of July).
        ticket(9, d("2025-06-10 14:00"), None, resolution_verdict="breached",
               resolution_breached_at=d("2025-07-05 15:00")),
        ticket(10, d("2025-06-11 14:00"), None, resolution_verdict="breached",
               resolution_breached_at=d("2025-08-03 15:00")),
    ])  # fmt: skip


def test_every_figure_of_a_hand_built_july():
    f = kpis_compute(hand_built(), JULY, seats=50, repeat_window_days=30)
    value = {k: v.value for k, v in f.items()}
    assert f["tickets.created"].tickets == [3, 4, 5, 6, 7]
    assert f["tickets.resolved"].tickets == [1, 3, 4, 5]
    assert f["tickets.open_at_end"].tickets == [6, 7, 9, 10]
    assert value["tickets.per_seat"] == 5 / 50
    # Response, over the created tickets that have a first response: 10, 50, 90, 20.
    assert value["response.mean_minutes"] == 42.5
    assert value["response.median_minutes"] == 35.0
    assert value["response.p90_minutes"] == 90.0
    assert (value["response.sla_met"], value["response.sla_breached"]) == (2, 2)
    assert value["response.sla_pending"] == 1
    assert value["response.compliance"] == 0.5
    # Resolution times, over July's resolutions (1, 3, 4, 5): 600, 120, 300, 120 minutes.
    assert value["resolution.mean_minutes"] == 285.0
    assert value["resolution.median_minutes"] == 210.0
    # Verdicts: met 3 and 5 (resolved in July); breached 4 and 9 (target passed in July; 9 is
    # still open); 1 breached in June and 10 in August: 2 / (2 + 2).
    assert f["resolution.sla_met"].tickets == [3, 5]
    assert f["resolution.sla_breached"].tickets == [4, 9]
    assert value["resolution.compliance"] == 0.5
    # Open at July's end with a target and not yet past it: 6, and 10 (breached in August);
    # 7 has no target, 9 breached in July.
    assert f["resolution.sla_pending"].tickets == [6, 10]
    # First-time fix: 1 and 3 (4 escalated, 5 reopened) of the four resolved.
    assert f["first_time_fix_rate"].tickets == [1, 3]
    assert value["first_time_fix_rate"] == 0.5
    assert value["reopen_rate"] == 0.25
    # Repeats: 4 repeats 3 (same device and category, 7 days apart); July's incidents are
    # 3, 4, 5 and 6 (7 is a request).
    assert (f["repeat_incident_rate"].numerator, f["repeat_incident_rate"].denominator) == (1, 4)
    [cluster] = value["repeat_clusters"]
    assert cluster["fingerprint"] == "ci:srv01|backup" and cluster["count"] == 2
    assert f["repeat_clusters"].tickets == [3, 4]
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


def test_a_breach_counts_once_in_the_month_its_target_passed():
    """Breaches of the hand-built client by month: June 1 (ticket 1), July 4 and 9, August 10;
    the quarters add their months up (Q2 = June's, Q3 = July's + August's) and 2025 has all
    four, each once. Pending at each month's end: June 9 and 10 (1 is past its target on
    30 June); August 6 and 8 (9 and 10 breached by then)."""
    by_label = {
        r.period: r.figures for r in kpis_by_period(hand_built(), JULY.zone, last_month="2025-08")
    }
    frame_ = prepared(hand_built(), JULY.zone, 30)

    def listed(key, label):
        return figure_tickets(frame_, key, Period.parse(label, JULY.zone), part="numerator")

    assert listed("resolution.sla_breached", "2025-06") == [1]
    assert listed("resolution.sla_breached", "2025-07") == [4, 9]
    assert listed("resolution.sla_breached", "2025-08") == [10]
    assert by_label["2025-Q2"]["resolution.sla_breached"].value == 1
    assert by_label["2025-Q3"]["resolution.sla_breached"].value == 3
    assert by_label["2025"]["resolution.sla_breached"].value == 4
    assert listed("resolution.sla_pending", "2025-06") == [9, 10]
    assert listed("resolution.sla_pending", "2025-08") == [6, 8]
    assert by_label["2025-08"]["resolution.sla_pending"].value == 2


def test_months_with_only_a_backlog_are_there_with_their_open_tickets():
    """Nothing is raised or resolved after 2 August; asked up to October, September and
    October still have figures: no ticket created, the backlog 6, 7, 8, 9 and 10."""
    results = kpis_by_period(hand_built(), JULY.zone, last_month="2025-10")
    labels = [r.period for r in results]
    # Every month from the first ticket (June) to October, with its quarters and the year.
    assert sorted(labels) == sorted(["2025-06", "2025-07", "2025-08", "2025-09", "2025-10",
                             "2025-Q2", "2025-Q3", "2025-Q4", "2025"])  # fmt: skip
    september = next(r.figures for r in results if r.period == "2025-09")
    assert september["tickets.created"].value == 0 and september["tickets.resolved"].value == 0
    assert september["tickets.open_at_end"].value == 5
    assert september["response.compliance"].value is None
    figures = kpis_compute(hand_built(), Period.parse("2025-09", JULY.zone), seats=None,
                           repeat_window_days=30)  # fmt: skip
    assert figures["tickets.open_at_end"].tickets == [6, 7, 8, 9, 10]


def test_months_from_a_first_outage_before_the_first_ticket_are_there_too():
    """The hand-built client's first ticket is from June; an outage in March (`since`) brings
    March, April and May, with no tickets and no backlog."""
    results = kpis_by_period(hand_built(), JULY.zone, since={0: "2025-03"})
    labels = {r.period for r in results}
    assert {"2025-03", "2025-04", "2025-05", "2025-Q1"} <= labels
    april = next(r.figures for r in results if r.period == "2025-04")
    assert april["tickets.created"].value == 0 and april["tickets.open_at_end"].value == 0
    assert april["resolution.compliance"].value is None


def test_a_rate_whose_input_the_export_does_not_carry_is_null_with_the_reason():
    """Two July tickets, one resolved. Without tiers, origins, reopens and reassignments the
    escalation rate, proactive ratio, first-time fix and reopen rate are null, not 0% or
    100%; the notes say why. With a tier on one ticket only, tiers are carried: the other
    reads as tier 1, and 1 of 2 tickets went above it."""
    bare = dict(tier=None, origin="", reopen_count=None, reassignment_count=None)
    rows = [ticket(1, d("2025-07-02 14:00"), d("2025-07-03 14:00"), **bare),
            ticket(2, d("2025-07-02 15:00"), None, **bare)]  # fmt: skip
    f = kpis_compute(frame(rows), JULY, seats=None, repeat_window_days=30)
    for key, reason in (
        ("escalation.rate", "no tier"),
        ("proactive_ratio", "no origin"),
        ("first_time_fix_rate", "no reopens, tiers or reassignments"),
        ("reopen_rate", "no reopen counts"),
    ):
        assert f[key].value is None, key
        assert reason in f[key].note, key
    # The time measures stay: nothing was divided by zero.
    assert f["resolution.compliance"].value == 1.0  # ticket 1 met, 2 pending: 1 / 1
    rows[1] = ticket(2, d("2025-07-02 15:00"), None, **bare | {"tier": 2})
    f = kpis_compute(frame(rows), JULY, seats=None, repeat_window_days=30)
    assert f["escalation.rate"].value == 1 / 2
    assert f["escalation.rate"].note == "went above tier 1 / tickets"
    # The resolved ticket (1) still carries none of the first-time-fix inputs.
    assert f["first_time_fix_rate"].value is None


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


def test_drill_down_lists_exactly_the_tickets_a_figure_counts():
    f = kpis_compute(hand_built(), JULY, seats=50, repeat_window_days=30)
    tickets = prepared(hand_built(), JULY.zone, 30)
    compliance = figure_tickets(tickets, "resolution.compliance", JULY)
    assert compliance == [3, 4, 5, 9] and len(compliance) == f["resolution.compliance"].denominator
    assert figure_tickets(tickets, "resolution.compliance", JULY, part="numerator") == [3, 5]
    assert figure_tickets(tickets, "repeat_clusters", JULY) == [3, 4]
    # A quarter's backlog is the backlog at the end of its last month.
    q3 = Period.parse("2025-Q3", JULY.zone)
    assert figure_tickets(tickets, "tickets.open_at_end", q3) == [6, 7, 8, 9, 10]


def test_p90_is_the_nearest_rank_value():
    """Ten response times 1..10 minutes: ceil(0.9 × 10) = 9th value, not the 10th."""
    rows = [ticket(i, d("2025-07-02 12:00"), response_minutes=float(i)) for i in range(1, 11)]
    f = kpis_compute(frame(rows), JULY, seats=None, repeat_window_days=30)
    assert f["response.p90_minutes"].value == 9.0
    rows = [ticket(i, d("2025-07-02 12:00"), response_minutes=float(i)) for i in range(1, 71)]
    f = kpis_compute(frame(rows), JULY, seats=None, repeat_window_days=30)
    assert f["response.p90_minutes"].value == 63.0  # 0.9 × 70 = 63.000000000000014 in floats


@given(st.integers(1, 9998), st.integers(1, 12))
def test_period_keys_round_trip_to_their_labels(year, month):
    for label in period_labels_of_month(f"{year:04d}-{month:02d}"):
        assert period_label(period_key(label)) == label
