"""The pure rules: business-hours windows, commitment periods, matrix gaps (no database)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.rules import (
    STANDARD_AREAS,
    WEEKDAYS,
    AreaRow,
    commitment_periods,
    matrix_gaps,
    parse_day_spec,
    parse_weekly_hours,
    standard_area_for,
)

# --- Windows ----------------------------------------------------------------------------------


def test_a_range_of_days_expands():
    assert parse_day_spec("mon-fri") == ["mon", "tue", "wed", "thu", "fri"]
    assert parse_day_spec("sat, sun") == ["sat", "sun"]
    assert parse_day_spec("fri-mon") == ["fri", "sat", "sun", "mon"]


def test_several_windows_a_day_are_kept_apart():
    assert parse_weekly_hours({"mon": ["13:00-17:00", "08:00-12:00"]}) == {
        "mon": [["08:00", "12:00"], ["13:00", "17:00"]]
    }


def test_an_overnight_window_is_split_at_midnight():
    assert parse_weekly_hours({"fri": ["22:00-06:00"]}) == {
        "fri": [["22:00", "24:00"]],
        "sat": [["00:00", "06:00"]],
    }


def test_sunday_night_wraps_to_monday():
    assert parse_weekly_hours({"sun": ["20:00-02:00"]}) == {
        "mon": [["00:00", "02:00"]],
        "sun": [["20:00", "24:00"]],
    }


def test_24_00_is_a_valid_end():
    assert parse_weekly_hours({"sat": ["22:00-24:00"]}) == {"sat": [["22:00", "24:00"]]}
    assert parse_weekly_hours({"sat": ["00:00-24:00"]}) == {"sat": [["00:00", "24:00"]]}


def test_overlapping_and_touching_windows_merge():
    assert parse_weekly_hours(
        {"mon-tue": ["08:00-12:00"], "mon": ["11:00-13:00", "13:00-14:00"]}
    ) == {
        "mon": [["08:00", "14:00"]],
        "tue": [["08:00", "12:00"]],
    }


@pytest.mark.parametrize(
    "window", ["8-17", "08:00-17:60", "24:30-01:00", "25:00-26:00", "09:00-09:00", "24:00-02:00"]
)
def test_malformed_windows_are_rejected_with_the_day_key(window):
    with pytest.raises(ValueError, match=r"^mon-fri: "):
        parse_weekly_hours({"mon-fri": [window]})


def _weekly_minutes(hours: dict[str, list[list[str]]]) -> int:
    def m(t):
        h, mm = t.split(":")
        return int(h) * 60 + int(mm)

    return sum(m(b) - m(a) for windows in hours.values() for a, b in windows)


times = st.integers(0, 24 * 60 - 1)


@given(day=st.sampled_from(WEEKDAYS), start=times, length=st.integers(1, 24 * 60 - 1))
def test_a_single_window_keeps_its_length_whatever_midnight_does(day, start, length):
    end = (start + length) % (24 * 60)
    spec = {day: [f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"]}
    if end == 0:
        spec = {day: [f"{start // 60:02d}:{start % 60:02d}-24:00"]}
    parsed = parse_weekly_hours(spec)
    assert _weekly_minutes(parsed) == length
    for windows in parsed.values():
        for a, b in windows:
            assert a < b or b == "24:00"


@given(
    st.lists(
        st.tuples(st.sampled_from(WEEKDAYS), times, times).filter(lambda t: t[1] != t[2]),
        min_size=1,
        max_size=8,
    )
)
def test_normalised_windows_are_sorted_disjoint_and_within_the_day(windows):
    spec: dict[str, list[str]] = {}
    for day, a, b in windows:
        spec.setdefault(day, []).append(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}")
    parsed = parse_weekly_hours(spec)
    total = 0
    for windows_of_day in parsed.values():
        previous_end = -1
        for a, b in windows_of_day:
            start = int(a[:2]) * 60 + int(a[3:])
            end = int(b[:2]) * 60 + int(b[3:])
            assert 0 <= start < end <= 24 * 60
            assert start > previous_end  # disjoint and not touching (touching ones merge)
            previous_end = end
            total += end - start
    assert total <= 7 * 24 * 60
    # Normalising is idempotent.
    assert parse_weekly_hours({d: [f"{a}-{b}" for a, b in w] for d, w in parsed.items()}) == parsed


# --- Commitment periods -----------------------------------------------------------------------


def test_quarterly_periods_follow_calendar_quarters_from_a_mid_quarter_start():
    periods = commitment_periods("quarterly", date(2025, 8, 15), None, date(2026, 1, 10))
    assert periods == [
        (date(2025, 7, 1), date(2025, 9, 30)),
        (date(2025, 10, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), date(2026, 3, 31)),
    ]


def test_monthly_periods_stop_at_the_contract_end():
    periods = commitment_periods("monthly", date(2025, 11, 1), date(2026, 1, 31), date(2026, 6, 1))
    assert [p[1] for p in periods] == [date(2025, 11, 30), date(2025, 12, 31), date(2026, 1, 31)]


def test_february_of_a_leap_year_is_due_on_the_29th():
    periods = commitment_periods("monthly", date(2028, 2, 1), None, date(2028, 2, 1))
    assert periods == [(date(2028, 2, 1), date(2028, 2, 29))]


def test_nothing_is_due_before_the_contract_starts():
    assert commitment_periods("annual", date(2026, 3, 1), None, date(2025, 12, 31)) == []


@given(
    cadence=st.sampled_from(["monthly", "quarterly", "semiannual", "annual"]),
    starts=st.dates(date(2000, 1, 1), date(2040, 1, 1)),
    span=st.integers(0, 2000),
)
def test_periods_are_contiguous_and_cover_the_span(cadence, starts, span):
    until = starts + timedelta(days=span)
    periods = commitment_periods(cadence, starts, None, until)
    assert periods[0][0] <= starts <= periods[0][1]
    assert periods[-1][0] <= until <= periods[-1][1]
    for (a_start, a_due), (b_start, _) in itertools.pairwise(periods):
        assert a_due + timedelta(days=1) == b_start
        assert a_start < a_due
    assert all(start.day == 1 for start, _ in periods)


# --- Matrix gaps ------------------------------------------------------------------------------

DEMO_ROWS = [
    AreaRow("Monitoring and alerting", "msp"),
    AreaRow("Incident response and escalation", "msp"),
    AreaRow("Routine maintenance and patching", "msp"),
    AreaRow("Service reporting", "msp"),
    AreaRow("Security operations", "shared", "MSP runs EDR; client owns policy"),
    AreaRow("Business-critical applications", "shared", "MSP: infrastructure; client: app"),
    AreaRow("Change management", "shared"),
    AreaRow("Data ownership and access approvals", "customer"),
    AreaRow("Compliance accountability", "customer"),
    AreaRow("Major-incident authority", "customer"),
]


def test_the_demo_matrix_flags_change_management_as_shared_without_split():
    gaps = matrix_gaps(DEMO_ROWS, client_approved=False, msp_approved=True)
    no_split = [g for g in gaps if g.kind == "no_split"]
    assert [g.area for g in no_split] == ["Change management"]
    assert no_split[0].message == "Change management: shared, but the split is not written down"


def test_standard_areas_nobody_holds_are_gaps():
    gaps = matrix_gaps(DEMO_ROWS, client_approved=True, msp_approved=True)
    assert sorted(g.area for g in gaps if g.kind == "unassigned") == [
        "Backups and restore tests",
        "Business strategy and risk decisions",
        "User training and phishing simulation",
        "Vendor management",
    ]


def test_a_version_not_approved_by_both_sides_is_a_gap():
    full = [AreaRow(name, "msp") for name in STANDARD_AREAS]
    assert matrix_gaps(full, client_approved=True, msp_approved=True) == []
    [gap] = matrix_gaps(full, client_approved=False, msp_approved=True)
    assert gap.kind == "not_approved" and gap.message.endswith("by the client")
    [gap] = matrix_gaps(full, client_approved=False, msp_approved=False)
    assert gap.message.endswith("by the client or the MSP")


def test_custom_unassigned_areas_are_gaps_too():
    rows = [AreaRow(name, "msp") for name in STANDARD_AREAS] + [AreaRow("Printers", "unassigned")]
    gaps = matrix_gaps(rows, client_approved=True, msp_approved=True)
    assert [(g.kind, g.area) for g in gaps] == [("unassigned", "Printers")]


def test_standard_areas_are_recognised_by_their_other_names():
    assert standard_area_for("patching") == "Routine maintenance and patching"
    assert standard_area_for("  Backups ") == "Backups and restore tests"
    assert standard_area_for("Major incident authority") == "Major-incident authority"
    assert standard_area_for("Coffee machine") is None
