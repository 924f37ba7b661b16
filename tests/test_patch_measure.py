"""The patch measure, hand-computed: "critical patches installed within 30 days", the quarter
2026-Q1 (1 Jan to 31 Mar). A pair belongs to the period in which it falls due (release + 30)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from evidence.patches import (
    PatchPair,
    PatchRule,
    pair_counts,
    patch_measure,
    percentile_nearest_rank,
)

RULE = PatchRule(within_days=30, severities=frozenset({"critical"}), target=1.0)
Q1 = (date(2026, 1, 1), date(2026, 3, 31))


def pair(device, patch, released, installed=None, severity="Critical", retired_after=None):
    return PatchPair(device, patch, severity, released, installed, retired_after)


# Released 1 Jan, due 31 Jan.
ON_TIME_10 = pair("PC-1", "KB1", date(2026, 1, 1), date(2026, 1, 11))  # 10 days
ON_TIME_30 = pair("PC-2", "KB1", date(2026, 1, 1), date(2026, 1, 31))  # 30 days: due day
LATE_45 = pair("PC-3", "KB1", date(2026, 1, 1), date(2026, 2, 15))  # 45 days: late
NEVER = pair("PC-4", "KB1", date(2026, 1, 1))  # never installed: late
IMPORTANT = pair("PC-1", "KB2", date(2026, 1, 1), severity="Important")  # not counted
# Released 20 Dec 2025: due 19 Jan 2026, so it is Q1's, not Q4's.
DECEMBER = pair("PC-1", "KB0", date(2025, 12, 20), date(2026, 1, 2))  # 13 days
# Released 10 Mar: due 9 Apr, so it is Q2's.
MARCH = pair("PC-1", "KB3", date(2026, 3, 10))


def test_a_late_and_a_never_installed_patch_miss_the_quarter():
    m = patch_measure(
        [ON_TIME_10, ON_TIME_30, LATE_45, NEVER, IMPORTANT, DECEMBER, MARCH], RULE, *Q1
    )
    # Counted: ON_TIME_10, ON_TIME_30, LATE_45, NEVER, DECEMBER = 5; on time 10, 30, 13 days.
    assert (m.on_time, m.counted) == (3, 5)
    # Latencies of the installed: 10, 13, 30, 45 → median (13 + 30) / 2 = 21.5; p90 nearest
    # rank ceil(0.9 * 4) = 4th = 45. The never-installed pair has no latency.
    assert m.median_days == 21.5
    assert m.p90_days == 45
    assert not m.kept
    late = [(v.pair.device, v.pair.patch, v.days) for v in m.verdicts if not v.on_time]
    assert sorted(late, key=str) == [("PC-3", "KB1", 45), ("PC-4", "KB1", None)]


def test_the_target_decides_kept():
    pairs = [ON_TIME_10, ON_TIME_30, LATE_45, NEVER, DECEMBER]
    at_60 = PatchRule(30, frozenset({"critical"}), target=0.6)  # 3 / 5 = 60 %: kept
    at_61 = PatchRule(30, frozenset({"critical"}), target=0.61)
    assert patch_measure(pairs, at_60, *Q1).kept
    assert not patch_measure(pairs, at_61, *Q1).kept


def test_severities_not_counted_leave_the_denominator():
    m = patch_measure([ON_TIME_10, IMPORTANT], RULE, *Q1)
    assert (m.on_time, m.counted, m.kept) == (1, 1, True)
    both = PatchRule(30, frozenset({"critical", "important"}), 1.0)
    m = patch_measure([ON_TIME_10, IMPORTANT], both, *Q1)
    assert (m.on_time, m.counted, m.kept) == (1, 2, False)


def test_severity_is_compared_as_a_word():
    shouted = pair("PC-9", "KB9", date(2026, 1, 1), date(2026, 1, 2), severity=" CRITICAL ")
    assert pair_counts(shouted, RULE, *Q1)


def test_the_period_a_pair_belongs_to_is_the_one_it_falls_due_in():
    q4 = (date(2025, 10, 1), date(2025, 12, 31))
    q2 = (date(2026, 4, 1), date(2026, 6, 30))
    assert pair_counts(DECEMBER, RULE, *Q1) and not pair_counts(DECEMBER, RULE, *q4)
    assert pair_counts(MARCH, RULE, *q2) and not pair_counts(MARCH, RULE, *Q1)
    # Due on the period's last day: still that period's.
    last = pair("PC-1", "KB4", date(2026, 3, 1))  # due 31 Mar
    assert pair_counts(last, RULE, *Q1)


def test_a_retired_device_answers_only_for_pairs_due_while_it_was_seen():
    # Last seen 15 Jan: its pair due 31 Jan leaves the denominator; the one due 19 Jan stays.
    gone_before_due = pair("OLD-PC", "KB1", date(2026, 1, 1), retired_after=date(2026, 1, 15))
    due_while_seen = pair("OLD-PC", "KB0", date(2025, 12, 10), retired_after=date(2026, 1, 15))
    m = patch_measure([ON_TIME_10, gone_before_due, due_while_seen], RULE, *Q1)
    # due_while_seen: released 10 Dec, due 9 Jan, seen until 15 Jan, never installed: late.
    assert (m.on_time, m.counted) == (1, 2)
    assert [v.pair.patch for v in m.verdicts if not v.on_time] == ["KB0"]


def test_a_period_with_nothing_due_is_kept_with_no_latency():
    m = patch_measure([MARCH], RULE, *Q1)
    assert (m.counted, m.kept, m.median_days, m.p90_days) == (0, True, None, None)


def test_percentile_nearest_rank_by_hand():
    assert percentile_nearest_rank([], 0.9) is None
    assert percentile_nearest_rank([7], 0.9) == 7
    # Ten values 1..10: ceil(9) = 9th = 9.
    assert percentile_nearest_rank(list(range(10, 0, -1)), 0.9) == 9


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=200),  # release day offset
            st.one_of(st.none(), st.integers(min_value=0, max_value=120)),  # install after
        ),
        max_size=40,
    )
)
def test_the_share_counts_exactly_the_pairs_installed_by_their_due_day(raw):
    start = date(2025, 11, 1)
    pairs = [
        pair(
            f"PC-{i}",
            "KB",
            start + timedelta(days=r),
            None if d is None else start + timedelta(days=r + d),
        )
        for i, (r, d) in enumerate(raw)
    ]
    m = patch_measure(pairs, RULE, *Q1)
    due_in_q1 = [(r, d) for r, d in raw if Q1[0] <= start + timedelta(days=r + 30) <= Q1[1]]
    assert m.counted == len(due_in_q1)
    assert m.on_time == sum(1 for _, d in due_in_q1 if d is not None and d <= 30)
    assert m.kept == (m.on_time == m.counted)
    latencies = [d for _, d in due_in_q1 if d is not None]
    if latencies:
        assert min(latencies) <= m.median_days <= m.p90_days <= max(latencies)
