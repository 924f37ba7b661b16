"""The SLA clock (kpis/metrics/clock.py): every edge case of kpis.md with a hand-computed answer,
and the properties any business-time clock must have, tested with hypothesis. Pure: no database."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.rules import parse_weekly_hours
from kpis.metrics.clock import (
    CalendarIndex,
    CalendarSpec,
    Intervals,
    ticket_clocks,
    version_in_force,
)

CHICAGO = ZoneInfo("America/Chicago")
HOUR = 3600
TX_HOLIDAYS = frozenset(holidays.country_holidays("US", subdiv="TX", years=range(2024, 2028)))
BUSINESS = CalendarSpec(
    zone="America/Chicago",
    weekly_hours=parse_weekly_hours({"mon-fri": ["08:00-17:00"]}),
    holidays=TX_HOLIDAYS,
)
SPAN = (date(2024, 12, 1), date(2026, 12, 31))
business = CalendarIndex(BUSINESS, *SPAN)
always = CalendarIndex(CalendarSpec(always=True), *SPAN)


def at(text: str, zone: ZoneInfo = CHICAGO) -> int:
    """Epoch seconds of a local wall time like '2025-09-05 16:30'."""
    return int(datetime.fromisoformat(text).replace(tzinfo=zone).timestamp())


def hours(calendar: CalendarIndex, start: str, end: str) -> float:
    return float(calendar.elapsed(np.array([at(start)]), np.array([at(end)]))[0]) / HOUR


def one(values) -> np.ndarray:
    return np.array([values], dtype=np.int64)


def resolution_hours(calendar, created, resolved, pauses=(), gaps=()) -> float:
    def flat(pairs):
        if not pairs:
            return Intervals.empty()
        return Intervals(
            np.zeros(len(pairs), dtype=np.int64),
            np.array([at(a) for a, _ in pairs], dtype=np.int64),
            np.array([at(b) if b else -1 for _, b in pairs], dtype=np.int64),
        )

    result = ticket_clocks(
        calendar,
        created=one(at(created)),
        first_response=one(-1),
        resolved=one(at(resolved) if resolved else -1),
        response_target=one(-1),
        resolution_target=one(8 * HOUR),
        pauses=flat(pauses),
        reopen_gaps=flat(gaps),
        paused_seconds_exported=one(0),
        as_of=at("2025-12-31 00:00"),
    )
    return result.resolution_seconds[0] / HOUR


# --- Hand-computed edge cases (business hours Mon–Fri 08:00–17:00, America/Chicago, TX) -----


def test_a_ticket_created_outside_hours_starts_counting_at_the_next_open_minute():
    # Tue 2 Sep 2025 06:00, answered 08:30: half an hour of business time.
    assert hours(business, "2025-09-02 06:00", "2025-09-02 08:30") == 0.5
    # Created Saturday, answered Monday 08:15.
    assert hours(business, "2025-09-06 11:00", "2025-09-08 08:15") == 0.25


def test_friday_1630_plus_one_business_hour_is_monday_0930():
    nine_to_five = CalendarIndex(
        CalendarSpec(zone="America/Chicago", weekly_hours=parse_weekly_hours(
            {"mon-fri": ["09:00-17:00"]})),
        *SPAN,
    )  # fmt: skip
    due = nine_to_five.add(one(at("2025-09-05 16:30")), one(HOUR))[0]
    assert datetime.fromtimestamp(due, CHICAGO).isoformat() == "2025-09-08T09:30:00-05:00"
    # The demo's 08:00–17:00 week: half an hour on Friday, half an hour on Monday.
    due = business.add(one(at("2025-09-05 16:30")), one(HOUR))[0]
    assert datetime.fromtimestamp(due, CHICAGO).isoformat() == "2025-09-08T08:30:00-05:00"


def test_overnight_windows_run_across_midnight_and_weekends():
    night = CalendarIndex(
        CalendarSpec(zone="America/Chicago", weekly_hours=parse_weekly_hours(
            {"mon-fri": ["22:00-06:00"]})),
        *SPAN,
    )  # fmt: skip
    assert hours(night, "2025-09-08 23:00", "2025-09-09 01:00") == 2  # Mon 23:00 → Tue 01:00
    # Fri 23:00 → Mon 23:00: Fri 23–24, Sat 00–06 (Friday's shift), Mon 22–23.
    assert hours(night, "2025-09-05 23:00", "2025-09-08 23:00") == 8


def test_a_window_ending_at_2400_runs_to_midnight():
    late = CalendarIndex(
        CalendarSpec(zone="America/Chicago", weekly_hours=parse_weekly_hours(
            {"mon": ["18:00-24:00"]})),
        *SPAN,
    )  # fmt: skip
    assert hours(late, "2025-09-08 12:00", "2025-09-09 12:00") == 6


def test_holidays_are_closed_all_day():
    # Labor Day, Mon 1 Sep 2025: Fri 16:00 → Tue 09:00 is Fri 16–17 plus Tue 08–09.
    assert date(2025, 9, 1) in TX_HOLIDAYS
    assert hours(business, "2025-08-29 16:00", "2025-09-02 09:00") == 2
    extra = CalendarIndex(
        CalendarSpec(zone="America/Chicago", weekly_hours=BUSINESS.weekly_hours,
                     holidays=frozenset({date(2025, 12, 24)})),
        *SPAN,
    )  # fmt: skip
    assert hours(extra, "2025-12-23 16:00", "2025-12-25 09:00") == 2


def test_a_pause_spanning_a_weekend_is_subtracted_in_business_time():
    # Thu 4 Sep 09:00 → Tue 9 Sep 12:00 is 8 + 9 + 9 + 4 = 30 business hours; paused from
    # Fri 15:00 to Mon 10:00, which is 2 + 2 = 4 business hours (the weekend costs nothing).
    assert hours(business, "2025-09-04 09:00", "2025-09-09 12:00") == 30
    assert resolution_hours(
        business, "2025-09-04 09:00", "2025-09-09 12:00",
        pauses=[("2025-09-05 15:00", "2025-09-08 10:00")],
    ) == 26  # fmt: skip


def test_the_time_between_a_resolution_and_a_reopen_is_off_the_clock():
    # Created Mon 09:00, resolved Mon 11:00, reopened Tue 10:00, resolved again Tue 12:00:
    # 2 hours on Monday and 2 on Tuesday count; the 8 business hours in between do not.
    assert resolution_hours(
        business, "2025-09-08 09:00", "2025-09-09 12:00",
        gaps=[("2025-09-08 11:00", "2025-09-09 10:00")],
    ) == 4  # fmt: skip


def test_overlapping_pauses_and_gaps_count_once():
    assert resolution_hours(
        business, "2025-09-08 09:00", "2025-09-08 17:00",
        pauses=[("2025-09-08 10:00", "2025-09-08 12:00"), ("2025-09-08 11:00", "2025-09-08 13:00")],
        gaps=[("2025-09-08 12:30", "2025-09-08 14:00")],
    ) == 4  # off the clock 10:00–14:00 once  # fmt: skip


def test_a_pause_still_running_lasts_until_the_clock_stops():
    assert (
        resolution_hours(
            business, "2025-09-08 09:00", "2025-09-08 17:00", pauses=[("2025-09-08 15:00", None)]
        )
        == 6
    )


def test_an_open_ticket_past_its_target_is_breached_and_one_within_it_pending():
    created = one(at("2025-09-08 09:00"))
    common = dict(
        created=created, first_response=one(at("2025-09-08 09:10")), resolved=one(-1),
        response_target=one(15 * 60), resolution_target=one(4 * HOUR),
        pauses=Intervals.empty(), reopen_gaps=Intervals.empty(), paused_seconds_exported=one(0),
    )  # fmt: skip
    early = ticket_clocks(business, **common, as_of=at("2025-09-08 12:00"))
    late = ticket_clocks(business, **common, as_of=at("2025-09-08 14:00"))
    assert list(early.resolution_verdict) == ["pending"]
    assert list(late.resolution_verdict) == ["breached"]
    assert list(early.response_verdict) == ["met"] and early.response_seconds[0] == 600


def test_met_is_at_or_under_the_target_breached_above_it():
    created = at("2025-09-08 09:00")
    results = ticket_clocks(
        business,
        created=np.array([created] * 3),
        first_response=np.array([created + 3599, created + 3600, created + 3601]),
        resolved=np.array([-1, -1, -1]),
        response_target=np.array([HOUR] * 3),
        resolution_target=np.array([-1] * 3),
        pauses=Intervals.empty(),
        reopen_gaps=Intervals.empty(),
        paused_seconds_exported=np.zeros(3, dtype=np.int64),
        as_of=created + 10 * HOUR,
    )
    assert list(results.response_verdict) == ["met", "met", "breached"]
    assert list(results.resolution_verdict) == ["", "", ""]  # no target: no verdict


def test_an_exported_paused_total_comes_off_the_resolution_clock():
    result = ticket_clocks(
        business, created=one(at("2025-09-08 09:00")), first_response=one(-1),
        resolved=one(at("2025-09-08 15:00")), response_target=one(-1),
        resolution_target=one(-1), pauses=Intervals.empty(), reopen_gaps=Intervals.empty(),
        paused_seconds_exported=one(90 * 60), as_of=at("2025-12-01 00:00"),
    )  # fmt: skip
    assert result.resolution_seconds[0] == 4.5 * HOUR


def test_the_policy_version_in_force_at_creation_applies_even_after_a_change_mid_quarter():
    # Versions effective 1 Jul and 15 Aug 2025 (local midnight): a ticket created a minute
    # before the change keeps the old targets, a minute after gets the new ones.
    effective = np.array([at("2025-07-01 00:00"), at("2025-08-15 00:00")])
    created = np.array([at("2025-06-30 23:59"), at("2025-08-14 23:59"), at("2025-08-15 00:01")])
    assert list(version_in_force(created, effective)) == [-1, 0, 1]


def test_each_client_takes_only_its_own_policy_versions():
    # Client 1 has versions from 1 Jul and 15 Aug; client 2 only from 1 Sep. A client-2 ticket
    # of 20 Aug has no version yet, even though client 1's August version is in force then;
    # year-1 and year-9999 instants stay within their client.
    clients = np.array([1, 1, 2])
    effective = np.array([at("2025-07-01 00:00"), at("2025-08-15 00:00"), at("2025-09-01 00:00")])
    created = np.array([at("2025-08-20 12:00"), at("2025-08-20 12:00"), at("2025-09-02 09:00"),
                        at("2025-06-01 09:00"), -62135596800, 253402300799])  # fmt: skip
    owners = np.array([1, 2, 2, 1, 2, 1])
    assert list(version_in_force(created, effective, owners, clients)) == [1, -1, 2, -1, -1, 1]


def test_a_priority_change_retargets_from_creation():
    # The final priority's target, measured from creation: a ticket raised from P3 (24 h) to
    # P1 (4 h) after 5 business hours is already breached, although it met P3's target then.
    created = at("2025-09-08 08:00")
    result = ticket_clocks(
        business, created=one(created), first_response=one(-1),
        resolved=one(at("2025-09-08 14:00")), response_target=one(-1),
        resolution_target=one(4 * HOUR),  # the final priority's target
        pauses=Intervals.empty(), reopen_gaps=Intervals.empty(),
        paused_seconds_exported=one(0), as_of=at("2025-12-01 00:00"),
    )  # fmt: skip
    assert list(result.resolution_verdict) == ["breached"]


def test_daylight_saving_days_are_23_and_25_hours_long():
    every_day = CalendarIndex(
        CalendarSpec(zone="America/Chicago", weekly_hours=parse_weekly_hours(
            {"mon-sun": ["00:00-24:00"]})),
        *SPAN,
    )  # fmt: skip
    assert hours(every_day, "2025-03-09 00:00", "2025-03-10 00:00") == 23
    assert hours(every_day, "2025-11-02 00:00", "2025-11-03 00:00") == 25
    assert hours(every_day, "2025-09-08 00:00", "2025-09-09 00:00") == 24


def test_a_window_edge_in_the_skipped_hour_moves_to_when_the_clocks_jumped():
    sunday_early = CalendarIndex(
        CalendarSpec(zone="America/Chicago", weekly_hours=parse_weekly_hours(
            {"sun": ["02:30-04:00"]})),
        *SPAN,
    )  # fmt: skip
    # 9 Mar 2025: 02:00 CST jumps to 03:00 CDT; 02:30 does not exist, so the window is 03–04.
    assert hours(sunday_early, "2025-03-09 00:00", "2025-03-09 12:00") == 1
    assert hours(sunday_early, "2025-03-16 00:00", "2025-03-16 12:00") == 1.5


# --- Properties ------------------------------------------------------------------------------

INSTANTS = st.integers(min_value=at("2025-01-01 00:00"), max_value=at("2026-06-30 00:00"))


@given(st.lists(st.tuples(INSTANTS, INSTANTS), min_size=1, max_size=50))
def test_a_24x7_calendar_equals_wall_time(pairs):
    start = np.array([min(a, b) for a, b in pairs])
    end = np.array([max(a, b) for a, b in pairs])
    assert np.array_equal(always.elapsed(start, end), end - start)


@given(INSTANTS, INSTANTS, INSTANTS)
def test_elapsed_time_is_additive_over_adjacent_intervals(a, b, c):
    a, b, c = sorted((a, b, c))
    whole = business.elapsed(one(a), one(c))[0]
    parts = business.elapsed(one(a), one(b))[0] + business.elapsed(one(b), one(c))[0]
    assert whole == parts


@given(INSTANTS, INSTANTS, st.integers(min_value=0, max_value=30 * 86400))
def test_elapsed_time_is_monotone_and_never_more_than_wall_time(a, b, extra):
    a, b = sorted((a, b))
    shorter = business.elapsed(one(a), one(b))[0]
    longer = business.elapsed(one(a), one(b + extra))[0]
    assert 0 <= shorter <= longer
    assert shorter <= b - a


@settings(max_examples=200)
@given(
    INSTANTS,
    st.integers(min_value=1, max_value=60 * 86400),
    st.lists(st.tuples(st.integers(0, 60 * 86400), st.integers(0, 10 * 86400)), max_size=5),
)
def test_adding_a_pause_never_increases_the_resolution_clock(created, length, raw_pauses):
    resolved = created + length

    def clock(pause_pairs):
        pauses = Intervals(
            np.zeros(len(pause_pairs), dtype=np.int64),
            np.array([created + s for s, _ in pause_pairs], dtype=np.int64),
            np.array([created + s + d for s, d in pause_pairs], dtype=np.int64),
        )
        return ticket_clocks(
            business, created=one(created), first_response=one(-1), resolved=one(resolved),
            response_target=one(-1), resolution_target=one(-1), pauses=pauses,
            reopen_gaps=Intervals.empty(), paused_seconds_exported=one(0), as_of=resolved,
        ).resolution_seconds[0]  # fmt: skip

    previous = clock([])
    for count in range(1, len(raw_pauses) + 1):
        current = clock(raw_pauses[:count])
        assert 0 <= current <= previous
        previous = current


@given(INSTANTS, st.integers(min_value=0, max_value=200 * HOUR))
def test_adding_business_time_lands_where_elapsed_time_says(start, seconds):
    due = business.add(one(start), one(seconds))[0]
    assert business.elapsed(one(start), one(due))[0] == seconds
    # ...and at the earliest such instant: one second earlier is not enough.
    if seconds:
        assert business.elapsed(one(start), one(due - 1))[0] == seconds - 1


def test_a_million_tickets_are_computed_at_once_within_wall_time():
    rng = np.random.default_rng(1)
    created = rng.integers(at("2025-01-01 00:00"), at("2026-01-01 00:00"), 1_000_000)
    resolved = created + rng.integers(0, 10 * 86400, created.size)
    elapsed = business.elapsed(created, resolved)
    assert elapsed.shape == (1_000_000,) and (elapsed >= 0).all()
    assert (elapsed <= resolved - created).all()
