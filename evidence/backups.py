"""Backups and restore tests, measured: a period's job success rate and each device's longest
time without a successful backup (backup job reports), and whether every protected system had a
successful restore test in the period (restore test reports). Pure: plain dataclasses in,
numbers out, no ORM (evidence/backup_services.py fetches and stores).

Decisions (docs/evidence.md says why):
- A run belongs to the period of the day it started (the tool's wall clock, as exported).
- "A successful backup" is a run whose result is success or warning: the data was saved; the
  warning is shown beside it. The success rate is successful runs / runs started in the period.
- A device's gap is counted in whole days between successful backups. It runs from the last
  success before the period (a device never yet successful: from its first run) through each
  success in the period to the period's last day. Kept only when no gap exceeds N days.
- A retired device (absent from the latest backup report) answers only up to the last report
  that listed it; one retired before the period does not count at all.
- Restore tests: a system is owed a successful test in every whole period it was protected:
  backed up before the period's first day and still listed by a report on its last day. A
  system first protected, or retired, within the period is shown but owes nothing for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise

SUCCESS, WARNING, FAILED = "success", "warning", "failed"
SUCCESSFUL = frozenset({SUCCESS, WARNING})
# A result as the pages say it.
RESULT_WORDS = {SUCCESS: "succeeded", WARNING: "succeeded with warnings", FAILED: "failed"}


def system_key(name: str) -> str:
    """Devices and systems are compared without case or spacing, within and across reports
    and tools: "SRV-01", "srv-01 " are one."""
    return " ".join(name.lower().split())


@dataclass(frozen=True)
class BackupRun:
    """One run of a backup job on a device, as the latest report that listed it says."""

    job: str
    device: str
    started: datetime
    result: str  # success / warning / failed
    raw_result: str = ""

    @property
    def day(self) -> date:
        return self.started.date()

    @property
    def successful(self) -> bool:
        return self.result in SUCCESSFUL

    @property
    def result_words(self) -> str:
        return RESULT_WORDS[self.result]


@dataclass(frozen=True)
class BackupRule:
    """ "Every device has a successful backup at least every N days", with at least `target`
    (0..1) of the runs successful."""

    within_days: int
    target: float = 1.0


@dataclass(frozen=True)
class DeviceVerdict:
    device: str
    runs: list[BackupRun]  # the device's runs in the period, oldest first
    failed: int
    warnings: int
    last_success: date | None  # on or before the period's last day (None: never)
    longest_gap: int  # days without a successful backup, the longest in the period
    gap_from: date  # the gap's ends: the success (or first run) it starts from
    gap_to: date  # ... and the success (or the end of the period) it ends on
    late: bool  # the gap exceeds the rule's N days
    retired_after: date | None  # last reported on that day; None: in the latest report
    first_run: date


@dataclass(frozen=True)
class BackupMeasure:
    devices: list[DeviceVerdict]  # late first, then by device
    runs: int
    succeeded: int
    within_days: int
    kept: bool

    @property
    def rate(self) -> float | None:
        return self.succeeded / self.runs if self.runs else None

    @property
    def late(self) -> int:
        return sum(d.late for d in self.devices)

    def summary(self) -> dict:
        """What the occurrence stores: the figures without the rows."""
        return {
            "runs": self.runs,
            "succeeded": self.succeeded,
            "devices": len(self.devices),
            "late_devices": self.late,
            "longest_gap": max((d.longest_gap for d in self.devices), default=None),
            "within_days": self.within_days,
            "kept": self.kept,
        }


def device_answers(
    first_run: date, retired_after: date | None, first_day: date, last_day: date
) -> bool:
    """Whether a device answers to the period: backed up by its end, not retired before it."""
    return first_run <= last_day and (retired_after is None or retired_after >= first_day)


def longest_gap(
    successes: list[date], first_run: date, first_day: date, end: date
) -> tuple[int, date, date]:
    """(days, from, to): the longest stretch without a successful backup that reaches into
    [first_day, end]. It starts from the last success before first_day, or from the device's
    first run when it had none; each success in the window ends one stretch and starts the
    next; the window's end closes the last."""
    before = [s for s in successes if s < first_day]
    anchor = max(before) if before else first_run
    if end < anchor:  # a run dated after the last report listing it: nothing to count
        return 0, anchor, anchor
    points = [anchor, *sorted(s for s in set(successes) if anchor < s <= end), end]
    best = (0, anchor, anchor)
    for a, b in pairwise(points):
        if (b - a).days > best[0]:
            best = ((b - a).days, a, b)
    return best


def backup_measure(
    runs: list[BackupRun],
    rule: BackupRule,
    first_day: date,
    last_day: date,
    retired: dict[str, date] | None = None,
) -> BackupMeasure:
    """The period's devices and runs judged against the rule. `retired`: device → the last
    report date that listed it, for the devices absent from the latest report (names compared
    by `system_key`). Kept when the
    success rate reaches the target (no run: nothing to rate) and no device went more than N
    days without a successful backup."""
    retired = {system_key(d): day for d, day in (retired or {}).items()}
    by_device: dict[str, list[BackupRun]] = {}
    for run in runs:
        by_device.setdefault(system_key(run.device), []).append(run)
    verdicts = []
    for key, device_runs in by_device.items():
        first_run = min(r.day for r in device_runs)
        retired_after = retired.get(key)
        # Named as its latest run names it (two tools may write one device differently).
        device = max(device_runs, key=lambda r: r.started).device
        if not device_answers(first_run, retired_after, first_day, last_day):
            continue
        end = min(last_day, retired_after) if retired_after is not None else last_day
        successes = [r.day for r in device_runs if r.successful and r.day <= end]
        days, gap_from, gap_to = longest_gap(successes, first_run, first_day, end)
        in_period = sorted(
            (r for r in device_runs if first_day <= r.day <= last_day), key=lambda r: r.started
        )
        verdicts.append(
            DeviceVerdict(
                device=device,
                runs=in_period,
                failed=sum(r.result == FAILED for r in in_period),
                warnings=sum(r.result == WARNING for r in in_period),
                last_success=max(successes, default=None),
                longest_gap=days,
                gap_from=gap_from,
                gap_to=gap_to,
                late=days > rule.within_days,
                retired_after=retired_after,
                first_run=first_run,
            )
        )
    verdicts.sort(key=lambda v: (not v.late, -v.longest_gap, v.device))
    counted = [r for v in verdicts for r in v.runs]
    succeeded = sum(r.successful for r in counted)
    rate_kept = not counted or succeeded / len(counted) >= rule.target
    return BackupMeasure(
        devices=verdicts,
        runs=len(counted),
        succeeded=succeeded,
        within_days=rule.within_days,
        kept=rate_kept and not any(v.late for v in verdicts),
    )


@dataclass(frozen=True)
class RestoreTest:
    system: str
    tested_on: date
    result: str  # success / failed
    raw_result: str = ""
    scope: str = ""

    @property
    def successful(self) -> bool:
        return self.result == SUCCESS

    @property
    def result_words(self) -> str:
        return "restored" if self.successful else "failed"


@dataclass(frozen=True)
class ProtectedSystem:
    """A device of the backup reports: when it was first backed up and, if it is absent from
    the latest backup report, the last report date that listed it."""

    name: str
    first_run: date
    retired_after: date | None = None


@dataclass(frozen=True)
class SystemVerdict:
    system: str
    owed: bool  # protected for the whole period: a successful test in it is owed
    why_not_owed: str  # in words, when not owed
    tests: list[RestoreTest]  # the tests in the period, oldest first
    last_test: RestoreTest | None  # the latest on or before the period's last day
    tested: bool  # a successful test in the period

    @property
    def missing(self) -> bool:
        return self.owed and not self.tested


@dataclass(frozen=True)
class RestoreMeasure:
    systems: list[SystemVerdict]  # missing first, then the owed, then the others
    kept: bool

    @property
    def owed(self) -> int:
        return sum(s.owed for s in self.systems)

    @property
    def tested(self) -> int:
        return sum(s.owed and s.tested for s in self.systems)

    @property
    def failed_tests(self) -> int:
        return sum(not t.successful for s in self.systems if s.owed for t in s.tests)

    def summary(self) -> dict:
        return {
            "systems": self.owed,
            "tested": self.tested,
            "failed_tests": self.failed_tests,
            "kept": self.kept,
        }


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _why_not_owed(system: ProtectedSystem, first_day: date, last_day: date) -> str:
    if system.first_run >= first_day:
        return f"first backed up on {_day(system.first_run)}: owed from the next period"
    if system.retired_after is not None and system.retired_after < last_day:
        return f"not in the backup reports after {_day(system.retired_after)}"
    return ""


def restore_measure(
    systems: list[ProtectedSystem], tests: list[RestoreTest], first_day: date, last_day: date
) -> RestoreMeasure:
    """Every system protected in the period with its restore tests; kept when each system
    protected for the whole period had a successful test dated in it (none owed: kept)."""
    by_system: dict[str, list[RestoreTest]] = {}
    for test in tests:
        by_system.setdefault(system_key(test.system), []).append(test)
    verdicts = []
    for system in systems:
        if not device_answers(system.first_run, system.retired_after, first_day, last_day):
            continue
        own = sorted(by_system.get(system_key(system.name), []), key=lambda t: t.tested_on)
        in_period = [t for t in own if first_day <= t.tested_on <= last_day]
        why = _why_not_owed(system, first_day, last_day)
        verdicts.append(
            SystemVerdict(
                system=system.name,
                owed=not why,
                why_not_owed=why,
                tests=in_period,
                last_test=next((t for t in reversed(own) if t.tested_on <= last_day), None),
                tested=any(t.successful for t in in_period),
            )
        )
    # Tests of systems the backup reports do not name: shown, owing nothing (the measure
    # cannot know them as protected).
    known = {system_key(s.name) for s in systems}
    for key, own in by_system.items():
        in_period = sorted(
            (t for t in own if first_day <= t.tested_on <= last_day), key=lambda t: t.tested_on
        )
        if key not in known and in_period:
            verdicts.append(
                SystemVerdict(
                    system=in_period[0].system,
                    owed=False,
                    why_not_owed="not in the backup job reports",
                    tests=in_period,
                    last_test=in_period[-1],
                    tested=any(t.successful for t in in_period),
                )
            )
    verdicts.sort(key=lambda v: (not v.missing, not v.owed, v.system))
    return RestoreMeasure(systems=verdicts, kept=not any(v.missing for v in verdicts))


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _percent(share: float) -> str:
    """0.957 → "95.7%", 1 → "100%": one decimal, so that a rate just under a target never
    reads as meeting it."""
    return f"{share * 100:.1f}".removesuffix(".0") + "%"


def backup_words(summary: dict | None) -> str:
    """A stored backup measure as a person reads it: "47 of 50 runs succeeded (94%); 1 of 6
    devices went more than 2 days without a successful backup (longest 4 days)"."""
    if summary is None:
        return "No backup job report covers this period yet."
    if summary["devices"] == 0:
        return "No device was backed up in this period."
    runs, succeeded = summary["runs"], summary["succeeded"]
    words = (
        f"{succeeded} of {_plural(runs, 'run')} succeeded ({_percent(succeeded / runs)})"
        if runs
        else "no run in this period"
    )
    days = _plural(summary["within_days"], "day")
    if summary["late_devices"]:
        return (
            f"{words}; {summary['late_devices']} of {_plural(summary['devices'], 'device')} "
            f"went more than {days} without a successful backup "
            f"(longest {_plural(summary['longest_gap'], 'day')})"
        )
    return (
        f"{words}; every device ({summary['devices']}) had a successful backup at least "
        f"every {days}"
    )


def restore_words(summary: dict | None) -> str:
    """A stored restore measure in words: "3 of 4 protected systems had a successful restore
    test; 1 test failed"."""
    if summary is None:
        return "No backup job and restore test reports cover this period yet."
    if summary["systems"] == 0:
        return "No system was protected for the whole period: no restore test was owed."
    words = (
        f"{summary['tested']} of {_plural(summary['systems'], 'protected system')} had a "
        "successful restore test"
    )
    if summary["failed_tests"]:
        words += f"; {_plural(summary['failed_tests'], 'test')} failed"
    return words
