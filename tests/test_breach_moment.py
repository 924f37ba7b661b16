"""The breach moment (kpis/metrics/clock.py, docs/kpis.md): the instant a ticket's running
resolution clock reached its target, pauses and reopen gaps excluded. Hand-computed cases on
business hours, and the vectorised answer against a slow, obvious search. Pure: no database."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.metrics.clock import Intervals, ticket_clocks
from tests.test_clock import HOUR, always, at, business, one


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
