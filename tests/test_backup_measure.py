"""The backup and restore-test measures (evidence/backups.py), worked out by hand. Pure: no
database. Each test's comment is the arithmetic."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from evidence.backups import (
    BackupRule,
    BackupRun,
    ProtectedSystem,
    RestoreTest,
    backup_measure,
    backup_words,
    longest_gap,
    restore_measure,
    restore_words,
)

AUG_1, AUG_31 = date(2025, 8, 1), date(2025, 8, 31)
RULE = BackupRule(within_days=2, target=0.95)


def _nightly(device, first, last, failed=(), warning=(), job="Nightly"):
    runs, day = [], first
    while day <= last:
        result = "failed" if day in failed else "warning" if day in warning else "success"
        runs.append(BackupRun(job, device, datetime(day.year, day.month, day.day, 22), result))
        day += timedelta(days=1)
    return runs


def test_a_failed_night_lowers_the_rate_but_keeps_the_gap_within_two_days():
    # SRV-01 nightly 25 Jul - 31 Aug, failed on 20 Aug: August has 31 runs, 30 succeeded,
    # 30/31 = 96.8 % >= 95 %; successes 19 Aug and 21 Aug: a gap of 2 days, not more than 2.
    runs = _nightly("SRV-01", date(2025, 7, 25), AUG_31, failed={date(2025, 8, 20)})
    measure = backup_measure(runs, RULE, AUG_1, AUG_31)
    assert (measure.runs, measure.succeeded) == (31, 30)
    [device] = measure.devices
    assert (device.longest_gap, device.gap_from, device.gap_to) == (
        2,
        date(2025, 8, 19),
        date(2025, 8, 21),
    )
    assert (device.failed, device.late, measure.kept) == (1, False, True)


def test_a_gap_of_three_days_misses_though_the_rate_is_met():
    # Failed 14, 15, 16 Aug: last success 13 Aug, next 17 Aug: 4 days > 2: missed. The rate,
    # 28/31 = 90.3 %, would miss 95 % too; with a target of 90 % only the gap misses.
    failed = {date(2025, 8, 14), date(2025, 8, 15), date(2025, 8, 16)}
    runs = _nightly("SRV-01", date(2025, 7, 25), AUG_31, failed=failed)
    measure = backup_measure(runs, BackupRule(within_days=2, target=0.90), AUG_1, AUG_31)
    [device] = measure.devices
    assert (device.longest_gap, device.late, measure.kept) == (4, True, False)
    assert measure.rate is not None and round(measure.rate, 3) == 0.903
    # One night fewer of failure (gap 13 -> 16 Aug: 3 days) still misses at N = 2 ...
    runs = _nightly("SRV-01", date(2025, 7, 25), AUG_31, failed=failed - {date(2025, 8, 16)})
    assert backup_measure(runs, BackupRule(2, 0.9), AUG_1, AUG_31).devices[0].longest_gap == 3
    # ... and is kept at N = 3.
    assert backup_measure(runs, BackupRule(3, 0.9), AUG_1, AUG_31).kept is True


def test_a_warning_counts_as_a_successful_backup_and_is_counted_apart():
    # Warning on 12 Aug: 31 of 31 successful, the warning listed; the gap stays 1 day.
    runs = _nightly("SRV-01", date(2025, 7, 25), AUG_31, warning={date(2025, 8, 12)})
    measure = backup_measure(runs, RULE, AUG_1, AUG_31)
    assert (measure.succeeded, measure.devices[0].warnings, measure.devices[0].longest_gap) == (
        31,
        1,
        1,
    )


def test_the_gap_counts_from_the_last_success_before_the_period_and_runs_to_its_end():
    # Last success 28 Jul; every August run failed: the gap runs 28 Jul -> 31 Aug = 34 days.
    runs = _nightly("SRV-01", date(2025, 7, 20), date(2025, 7, 28))
    runs += _nightly("SRV-01", AUG_1, AUG_31, failed=set(_days(AUG_1, AUG_31)))
    measure = backup_measure(runs, RULE, AUG_1, AUG_31)
    [device] = measure.devices
    assert (device.longest_gap, device.gap_from, device.gap_to) == (34, date(2025, 7, 28), AUG_31)
    assert (measure.runs, measure.succeeded, measure.kept) == (31, 0, False)
    assert device.last_success == date(2025, 7, 28)


def test_a_device_first_seen_mid_period_counts_from_its_first_run():
    # First run 10 Aug (failed), successes 13 Aug on: 10 -> 13 Aug = 3 days > 2: late. The
    # days before 10 Aug are not held against it.
    runs = _nightly(
        "SRV-NEW",
        date(2025, 8, 10),
        AUG_31,
        failed={date(2025, 8, 10), date(2025, 8, 11), date(2025, 8, 12)},
    )
    [device] = backup_measure(runs, RULE, AUG_1, AUG_31).devices
    assert (device.first_run, device.longest_gap, device.gap_from, device.gap_to) == (
        date(2025, 8, 10),
        3,
        date(2025, 8, 10),
        date(2025, 8, 13),
    )
    # A device whose first run is after the period does not answer for it.
    assert backup_measure(runs, RULE, date(2025, 7, 1), date(2025, 7, 31)).devices == []


def test_a_retired_device_answers_only_up_to_the_last_report_that_listed_it():
    # WS-OLD backed up to 31 Jul, last listed by the report of 5 Aug, absent since. In August
    # it answers for 1-5 Aug: last success 31 Jul -> 5 Aug = 5 days > 2: late.
    runs = _nightly("WS-OLD", date(2025, 7, 1), date(2025, 7, 31))
    runs += _nightly("SRV-01", date(2025, 7, 1), AUG_31)
    august = backup_measure(runs, RULE, AUG_1, AUG_31, retired={"WS-OLD": date(2025, 8, 5)})
    old = next(d for d in august.devices if d.device == "WS-OLD")
    assert (old.longest_gap, old.gap_to, old.late, august.kept) == (
        5,
        date(2025, 8, 5),
        True,
        False,
    )
    # Listed on 1 Aug only: 31 Jul -> 1 Aug = 1 day: kept. Retired before August: not counted.
    assert backup_measure(runs, RULE, AUG_1, AUG_31, retired={"WS-OLD": AUG_1}).kept is True
    gone = backup_measure(runs, RULE, AUG_1, AUG_31, retired={"WS-OLD": date(2025, 7, 31)})
    assert [d.device for d in gone.devices] == ["SRV-01"] and gone.kept is True


def test_one_device_written_two_ways_by_two_tools_is_one_device():
    # Veeam writes SRV-01 to 31 Jul, Datto srv-01 from 1 Aug: one device, gaps of 1 day.
    runs = _nightly("SRV-01", date(2025, 7, 1), date(2025, 7, 31))
    runs += _nightly("srv-01", AUG_1, AUG_31)
    [device] = backup_measure(runs, RULE, AUG_1, AUG_31, retired={"SRV-01 ": AUG_1}).devices
    assert (device.device, device.longest_gap, device.retired_after) == ("srv-01", 1, AUG_1)


def test_a_period_without_devices_is_kept_and_said_so():
    measure = backup_measure([], RULE, AUG_1, AUG_31)
    assert (measure.kept, measure.rate) == (True, None)
    assert backup_words(measure.summary()) == "No device was backed up in this period."
    assert backup_words(None) == "No backup job report covers this period yet."


def test_the_words_say_the_rate_and_the_late_devices():
    summary = {
        "runs": 93,
        "succeeded": 89,
        "devices": 3,
        "late_devices": 1,
        "longest_gap": 4,
        "within_days": 2,
        "kept": False,
    }
    # 89 / 93 = 95.7 %, shown with one decimal.
    assert backup_words(summary) == (
        "89 of 93 runs succeeded (95.7%); 1 of 3 devices went more than 2 days without a "
        "successful backup (longest 4 days)"
    )
    kept = {**summary, "late_devices": 0, "longest_gap": 1, "succeeded": 93}
    assert backup_words(kept) == (
        "93 of 93 runs succeeded (100%); every device (3) had a successful backup at least "
        "every 2 days"
    )


Q3 = (date(2025, 7, 1), date(2025, 9, 30))
Q4 = (date(2025, 10, 1), date(2025, 12, 31))


def test_restore_tests_per_quarter_missing_failed_and_kept():
    # SRV-01 and SRV-02 protected since June. SRV-01 restored 15 Aug (Q3) and nothing in Q4:
    # Q4 is missing for it. SRV-02's only Q3 test failed (12 Sep): Q3 missing; restored 3 Nov.
    systems = [
        ProtectedSystem("SRV-01", date(2025, 6, 1)),
        ProtectedSystem("SRV-02", date(2025, 6, 1)),
    ]
    tests = [
        RestoreTest("SRV-01", date(2025, 8, 15), "success"),
        RestoreTest("srv-02", date(2025, 9, 12), "failed"),  # names compared without case
        RestoreTest("SRV-02", date(2025, 11, 3), "success"),
    ]
    q3 = restore_measure(systems, tests, *Q3)
    assert q3.summary() == {"systems": 2, "tested": 1, "failed_tests": 1, "kept": False}
    assert [(s.system, s.missing) for s in q3.systems] == [("SRV-02", True), ("SRV-01", False)]
    assert q3.systems[0].last_test == tests[1]
    q4 = restore_measure(systems, tests, *Q4)
    assert q4.summary() == {"systems": 2, "tested": 1, "failed_tests": 0, "kept": False}
    missing = q4.systems[0]
    # SRV-01's last test is Q3's: outside the cadence.
    assert (missing.system, missing.tests, missing.last_test) == ("SRV-01", [], tests[0])
    assert restore_words(q3.summary()) == (
        "1 of 2 protected systems had a successful restore test; 1 test failed"
    )


def test_a_system_first_protected_or_retired_within_the_period_owes_nothing_for_it():
    # SRV-NEW first backed up 10 Sep, WS-OLD last reported 1 Sep: neither owes Q3 a test;
    # SRV-01 (protected all quarter) restored 15 Aug: kept, 1 of 1.
    systems = [
        ProtectedSystem("SRV-01", date(2025, 6, 1)),
        ProtectedSystem("SRV-NEW", date(2025, 9, 10)),
        ProtectedSystem("WS-OLD", date(2025, 6, 1), retired_after=date(2025, 9, 1)),
        ProtectedSystem("WS-GONE", date(2025, 1, 1), retired_after=date(2025, 6, 30)),
    ]
    tests = [RestoreTest("SRV-01", date(2025, 8, 15), "success")]
    q3 = restore_measure(systems, tests, *Q3)
    assert q3.summary() == {"systems": 1, "tested": 1, "failed_tests": 0, "kept": True}
    why = {s.system: s.why_not_owed for s in q3.systems}
    assert why == {
        "SRV-01": "",
        "SRV-NEW": "first backed up on 10 Sep 2025: owed from the next period",
        "WS-OLD": "not in the backup reports after 1 Sep 2025",
    }  # WS-GONE left before the quarter: not listed at all
    # A test of a system the backup reports do not name is shown, owing nothing.
    other = restore_measure(
        systems, [*tests, RestoreTest("LAPTOP-9", date(2025, 9, 1), "failed")], *Q3
    )
    assert other.summary() == q3.summary()
    laptop = next(s for s in other.systems if s.system == "LAPTOP-9")
    assert (laptop.owed, laptop.why_not_owed) == (False, "not in the backup job reports")
    # In Q4 SRV-NEW owes its first test.
    q4 = restore_measure(systems, tests, *Q4)
    assert [(s.system, s.missing) for s in q4.systems] == [("SRV-01", True), ("SRV-NEW", True)]
    assert restore_words(restore_measure([], [], *Q3).summary()) == (
        "No system was protected for the whole period: no restore test was owed."
    )


def test_longest_gap_of_a_device_never_successful():
    # First run 1 Aug, never a success, period ends 31 Aug: 30 days.
    assert longest_gap([], AUG_1, AUG_1, AUG_31) == (30, AUG_1, AUG_31)


def _days(first, last):
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


results = st.sampled_from(["success", "warning", "failed"])
night_results = st.lists(results, min_size=1, max_size=40)


def _runs_of(outcomes, first=date(2025, 7, 20)):
    return [
        BackupRun(
            "Nightly", "SRV-01", datetime.combine(first + timedelta(days=i), datetime.min.time()), r
        )
        for i, r in enumerate(outcomes)
    ]


@given(night_results, st.integers(min_value=0, max_value=10), st.floats(0, 1))
def test_rate_bounded_kept_means_no_long_gap_and_a_success_never_lowers(outcomes, n, target):
    rule = BackupRule(within_days=n, target=target)
    runs = _runs_of(outcomes)
    measure = backup_measure(runs, rule, AUG_1, AUG_31)
    if measure.rate is not None:
        assert 0 <= measure.rate <= 1
    if measure.kept:
        assert all(d.longest_gap <= n for d in measure.devices)
    # Adding a successful run (on a new day after the others) never lowers the rate nor
    # lengthens the longest gap.
    more = backup_measure(_runs_of([*outcomes, "success"]), rule, AUG_1, AUG_31)
    if measure.rate is not None and more.rate is not None:
        assert more.rate >= measure.rate
    before = max((d.longest_gap for d in measure.devices), default=0)
    after = max((d.longest_gap for d in more.devices), default=0)
    assert after <= before or not measure.devices


tests_of = st.lists(
    st.tuples(st.sampled_from(["SRV-01", "SRV-02", "WS-03"]), st.integers(0, 200), results),
    max_size=20,
)


@given(tests_of, st.sampled_from(["SRV-01", "SRV-02", "WS-03"]), st.integers(0, 91))
def test_a_successful_test_never_turns_a_kept_quarter_missed(raw, system, day):
    # Systems protected from June; tests spread over 200 days from 1 Jun 2025.
    systems = [ProtectedSystem(n, date(2025, 6, 1)) for n in ("SRV-01", "SRV-02", "WS-03")]
    start = date(2025, 6, 1)
    tests = [
        RestoreTest(n, start + timedelta(days=d), "failed" if r == "failed" else "success")
        for n, d, r in raw
    ]
    before = restore_measure(systems, tests, *Q3)
    more = [*tests, RestoreTest(system, Q3[0] + timedelta(days=day), "success")]
    after = restore_measure(systems, more, *Q3)
    assert after.tested >= before.tested and (after.kept or not before.kept)
    # Kept exactly when every owing system has a successful test dated in the quarter.
    owing = {s.name for s in systems}
    passed = {t.system for t in tests if t.successful and Q3[0] <= t.tested_on <= Q3[1]}
    assert before.kept == (owing <= passed)
