"""The breach moment (kpis/metrics/clock.py, docs/kpis.md): the instant a ticket's running
resolution clock reached its target, pauses and reopen gaps excluded. Hand-computed cases on
business hours, and the vectorised answer against a slow, obvious search. Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.metrics.clock import Intervals, ticket_clocks
from kpis.metrics.formulas import figure_tickets, kpis_by_period, prepared
from kpis.metrics.period import Period
from tests.test_clock import HOUR, always, at, business, one
from tests.test_formulas import frame, ticket

UTC_ZONE = ZoneInfo("UTC")


def clocks(calendar, created, resolved, target, *, pauses=(), gaps=(), exported=0, as_of=None):
    """One ticket's clocks; instants as epoch seconds, -1 for none."""

    def flat(pairs):
        return Intervals(
            np.zeros(len(pairs), dtype=np.int64),
            np.array([a for a, _ in pairs], dtype=np.int64),
            np.array([b for _, b in pairs], dtype=np.int64),
        )

    return ticket_clocks(
        calendar, created=one(created), first_response=one(-1), resolved=one(resolved),
        response_target=one(-1), resolution_target=one(target), pauses=flat(pauses),
        reopen_gaps=flat(gaps), paused_seconds_exported=one(exported),
        as_of=as_of if as_of is not None else at("2026-06-30 00:00"),
    )  # fmt: skip


def breached_at(*args, **kw) -> int:
    return int(clocks(*args, **kw).resolution_breached_at[0])


# --- Hand-computed (Mon–Fri 08:00–17:00, America/Chicago, Texas holidays) --------------------


def test_a_ticket_breaches_when_its_business_clock_reaches_the_target():
    # Created Mon 8 Sep 2025 15:00, target 4 business hours: 15–17 Monday is 2 h, so the
    # target is reached Tuesday 10:00; resolved Wednesday, breached in the week it passed.
    moment = breached_at(business, at("2025-09-08 15:00"), at("2025-09-10 12:00"), 4 * HOUR)
    assert moment == at("2025-09-09 10:00")


def test_pauses_and_reopen_gaps_move_the_breach_moment_later():
    # Same ticket, paused Tue 08:00–09:30 (1.5 h) and resolved Tue 11:00, reopened Tue 13:00
    # (2 h off the clock): Mon 15–17 (2 h) + Tue 09:30–11:00 (1.5 h) + 13:00–13:30 (0.5 h).
    moment = breached_at(
        business, at("2025-09-08 15:00"), at("2025-09-10 12:00"), 4 * HOUR,
        pauses=[(at("2025-09-09 08:00"), at("2025-09-09 09:30"))],
        gaps=[(at("2025-09-09 11:00"), at("2025-09-09 13:00"))],
    )  # fmt: skip
    assert moment == at("2025-09-09 13:30")


def test_an_open_ticket_past_its_target_has_its_breach_moment_and_a_pending_one_none():
    created, target = at("2025-09-08 09:00"), 4 * HOUR
    late = clocks(business, created, -1, target, as_of=at("2025-09-08 16:00"))
    early = clocks(business, created, -1, target, as_of=at("2025-09-08 12:00"))
    assert list(late.resolution_verdict) == ["breached"]
    assert late.resolution_breached_at[0] == at("2025-09-08 13:00")  # 09:00 + 4 h
    assert list(early.resolution_verdict) == ["pending"] and early.resolution_breached_at[0] == -1


def test_a_met_ticket_has_no_breach_moment_even_when_it_met_the_target_exactly():
    # 09:00 → 13:00 is exactly 4 h: met (elapsed ≤ target), no breach moment.
    result = clocks(business, at("2025-09-08 09:00"), at("2025-09-08 13:00"), 4 * HOUR)
    assert list(result.resolution_verdict) == ["met"] and result.resolution_breached_at[0] == -1


def test_an_exported_paused_total_is_taken_as_spent_before_the_breach():
    # Resolved after 8 h with 1 h of exported pause and a 4 h target: breached (7 h > 4 h);
    # the breach moment is when 4 + 1 = 5 h had run: 09:00 + 5 h = 14:00.
    moment = breached_at(
        business, at("2025-09-08 09:00"), at("2025-09-08 17:00"), 4 * HOUR, exported=HOUR
    )
    assert moment == at("2025-09-08 14:00")


def test_a_pause_still_running_stops_the_clock_and_a_zero_target_is_reached_at_creation():
    # Paused from 10:00 with no end, open at 16:00: only 09:00–10:00 ran; a 30-minute target
    # was reached at 09:30.
    moment = breached_at(
        business, at("2025-09-08 09:00"), -1, 30 * 60,
        pauses=[(at("2025-09-08 10:00"), -1)], as_of=at("2025-09-08 16:00"),
    )  # fmt: skip
    assert moment == at("2025-09-08 09:30")
    assert breached_at(always, at("2025-09-08 09:00"), at("2025-09-08 09:01"), 0) == at(
        "2025-09-08 09:00"
    )


# --- Against the slow, obvious search -------------------------------------------------------


def slow_breach_moment(calendar, created, resolved, target, pauses, gaps, exported, as_of):
    """The first instant t at which the clock, stopped at t, has reached the target: a binary
    search over seconds, reading the clock ticket_clocks gives an open ticket at `as_of = t`
    (the clock runs monotonely, so the search is exact)."""
    stop = resolved if resolved >= 0 else as_of

    def running(t):
        return clocks(
            calendar, created, -1, -1, pauses=pauses, gaps=gaps, exported=exported, as_of=t
        ).resolution_seconds[0]

    if running(stop) <= target:
        return -1
    low, high = created - 1, stop  # running(low) < target <= running(high)
    if target == 0:
        return created
    while high - low > 1:
        middle = (low + high) // 2
        if running(middle) >= target:
            high = middle
        else:
            low = middle
    return high


START = at("2025-09-01 00:00")
OFFSETS = st.integers(0, 20 * 86400)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["business", "always"]),
    OFFSETS,
    st.one_of(st.none(), st.integers(0, 15 * 86400)),
    st.integers(0, 40 * HOUR),
    st.lists(st.tuples(OFFSETS, st.one_of(st.none(), st.integers(0, 3 * 86400))), max_size=4),
    st.lists(st.tuples(OFFSETS, st.integers(1, 3 * 86400)), max_size=2),
    st.sampled_from([0, 0, 1800, 4 * HOUR]),
)
def test_the_vectorised_breach_moment_equals_a_slow_search(
    which, created, open_for, target, raw_pauses, raw_gaps, exported
):
    calendar = business if which == "business" else always
    created = START + created
    resolved = -1 if open_for is None else created + open_for
    as_of = created + 25 * 86400
    pauses = [(START + s, -1 if d is None else START + s + d) for s, d in raw_pauses]
    gaps = [(START + s, START + s + d) for s, d in raw_gaps]
    result = clocks(
        calendar, created, resolved, target, pauses=pauses, gaps=gaps, exported=exported,
        as_of=as_of,
    )  # fmt: skip
    breached = result.resolution_verdict[0] == "breached"
    if target == 0:  # reached at creation
        assert result.resolution_breached_at[0] == (created if breached else -1)
        return
    # The exported total counts as spent before the breach: the target plus it, on the clock
    # without it.
    goal = target + exported
    expected = slow_breach_moment(calendar, created, resolved, goal, pauses, gaps, 0, as_of)
    assert result.resolution_breached_at[0] == expected
    assert (expected >= 0) == breached


def test_many_tickets_at_once_give_each_its_own_breach_moment():
    # Three tickets in one call: 2 h target from Mon 09:00 (11:00); 1 h from Mon 16:30
    # (Tue 08:30); paused Mon 09:00–10:00 with a 2 h target from 08:00 (11:00).
    result = ticket_clocks(
        business,
        created=np.array([at("2025-09-08 09:00"), at("2025-09-08 16:30"), at("2025-09-08 08:00")]),
        first_response=np.full(3, -1), resolved=np.full(3, -1), response_target=np.full(3, -1),
        resolution_target=np.array([2 * HOUR, HOUR, 2 * HOUR]),
        pauses=Intervals(np.array([2]), np.array([at("2025-09-08 09:00")]),
                         np.array([at("2025-09-08 10:00")])),
        reopen_gaps=Intervals.empty(), paused_seconds_exported=np.zeros(3, dtype=np.int64),
        as_of=at("2025-09-10 00:00"),
    )  # fmt: skip
    assert list(result.resolution_breached_at) == [
        at("2025-09-08 11:00"),
        at("2025-09-09 08:30"),
        at("2025-09-08 11:00"),
    ]


# --- From random histories to the periods their verdicts count in ----------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 200 * 86400),  # created, after 1 May 2025
            st.one_of(st.none(), st.integers(0, 120 * 86400)),  # open for, or still open
            st.integers(HOUR, 60 * 86400),  # resolution target
            st.lists(st.tuples(st.integers(0, 90 * 86400), st.integers(1, 20 * 86400)), max_size=2),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_each_verdict_of_random_histories_counts_in_exactly_one_month(histories):
    """Tickets timed by the clock (24x7, pauses, some never resolved) and counted by the KPI
    engine: every met or breached ticket is in exactly one month's sla_met or sla_breached,
    a breached one in the month of its breach moment (open ones too), and each quarter's and
    year's counts are the sums of its months'."""
    base, as_of = at("2025-05-01 00:00", UTC_ZONE), at("2026-03-01 00:00", UTC_ZONE)
    created = np.array([base + c for c, _, _, _ in histories], dtype=np.int64)
    resolved = np.array(
        [-1 if o is None else min(base + c + o, as_of - 1) for c, o, _, _ in histories],
        dtype=np.int64,
    )
    # Pauses from `s` to `s + d` after each ticket's creation: (ticket, start, end).
    pairs = [
        (i, base + h[0] + s, base + h[0] + s + d) for i, h in enumerate(histories) for s, d in h[3]
    ]
    result = ticket_clocks(
        always, created=created, first_response=np.full(created.size, -1), resolved=resolved,
        response_target=np.full(created.size, -1),
        resolution_target=np.array([t for _, _, t, _ in histories], dtype=np.int64),
        pauses=Intervals(*(np.array([p[k] for p in pairs], dtype=np.int64) for k in range(3))),
        reopen_gaps=Intervals.empty(), paused_seconds_exported=np.zeros(created.size, np.int64),
        as_of=as_of,
    )  # fmt: skip

    def instant(seconds):
        return None if seconds < 0 else datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)

    rows = [
        ticket(
            i + 1, instant(created[i]), instant(resolved[i]),
            resolution_verdict=result.resolution_verdict[i],
            resolution_breached_at=instant(result.resolution_breached_at[i]),
        )
        for i in range(created.size)
    ]  # fmt: skip
    by_label = {
        r.period: r.figures for r in kpis_by_period(frame(rows), "UTC", last_month="2026-02")
    }
    ready = prepared(frame(rows), "UTC", 30)
    months = [label for label in by_label if len(label) == 7 and label[5] != "Q"]
    for key, verdict in (("resolution.sla_met", "met"), ("resolution.sla_breached", "breached")):
        seen: dict[int, str] = {}
        for label in months:
            for i in figure_tickets(ready, key, Period.parse(label, "UTC"), part="numerator"):
                assert i not in seen, (key, i, seen.get(i), label)  # once only
                seen[i] = label
        judged = {r["id"] for r in rows if r["resolution_verdict"] == verdict}
        assert set(seen) == judged, key
        for label, figures in by_label.items():
            if label not in months:
                inner = Period.parse(label, "UTC").months
                assert figures[key].value == sum(
                    by_label[m][key].value for m in inner if m in by_label
                ), label
    for r in rows:
        if r["resolution_verdict"] == "breached":
            moment = r["resolution_breached_at"]
            assert moment is not None and r["created_at"] <= moment
            month = f"{moment:%Y-%m}"
            assert r["id"] in figure_tickets(
                ready, "resolution.sla_breached", Period.parse(month, "UTC"), part="numerator"
            )
