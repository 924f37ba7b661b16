"""Patch compliance, measured: which (device, patch) pairs a period answers for, which of them
were installed within the promised number of days, and the latency distribution. Pure: plain
dataclasses in, numbers out, no ORM (evidence/services.py fetches and stores).

Decisions (docs/evidence.md says why):
- A pair belongs to the period in which it falls *due* (release + N days), not the one in which
  it was released: at the period's end every pair in it can be judged.
- On time: installed on or before the due day. A pair never shown installed counts late.
- A retired device (absent from the latest report) answers only for pairs due on or before the
  day it was last seen; later ones leave the denominator.
- Latency (median, p90) is over the installed pairs; the never-installed are listed as overdue.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class PatchPair:
    """One patch on one device, as the latest report that listed it says."""

    device: str
    patch: str
    severity: str
    released: date
    installed: date | None
    # The last report date the device appeared in; None: it is in the latest report.
    retired_after: date | None = None


@dataclass(frozen=True)
class PatchRule:
    """ "Patches of these severities installed within N days", kept at `target` (0..1) or above."""

    within_days: int
    severities: frozenset[str]
    target: float = 1.0


@dataclass(frozen=True)
class PairVerdict:
    pair: PatchPair
    due: date
    days: int | None  # release to install; None: not installed
    on_time: bool


@dataclass(frozen=True)
class PatchMeasure:
    """A period's measure: `counted` pairs, `on_time` of them, latency in days."""

    verdicts: list[PairVerdict]
    on_time: int
    counted: int
    median_days: float | None
    p90_days: int | None
    kept: bool

    @property
    def share(self) -> float | None:
        return self.on_time / self.counted if self.counted else None

    def summary(self) -> dict:
        """What the occurrence stores: the figures without the rows."""
        return {
            "on_time": self.on_time,
            "counted": self.counted,
            "median_days": self.median_days,
            "p90_days": self.p90_days,
            "kept": self.kept,
        }


def severity_key(text: str) -> str:
    """Severities compared as words: "CRITICAL", "Critical " and "critical" are one."""
    return " ".join(text.lower().split())


def pair_due(pair: PatchPair, within_days: int) -> date:
    return pair.released + timedelta(days=within_days)


def pair_verdict(pair: PatchPair, within_days: int) -> PairVerdict:
    due = pair_due(pair, within_days)
    if pair.installed is None:
        return PairVerdict(pair, due, None, False)
    return PairVerdict(pair, due, (pair.installed - pair.released).days, pair.installed <= due)


def pair_counts(pair: PatchPair, rule: PatchRule, first_day: date, last_day: date) -> bool:
    """Whether the pair answers to the period [first_day, last_day]."""
    if severity_key(pair.severity) not in rule.severities:
        return False
    due = pair_due(pair, rule.within_days)
    if not first_day <= due <= last_day:
        return False
    # A device that left before the patch fell due is not a device the MSP failed to patch.
    return pair.retired_after is None or due <= pair.retired_after


def percentile_nearest_rank(values: list[int], share: float) -> int | None:
    """The smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def patch_measure(
    pairs: list[PatchPair], rule: PatchRule, first_day: date, last_day: date
) -> PatchMeasure:
    """The period's pairs judged against the rule; kept when the on-time share reaches the
    target (a period with no pair due keeps it: nothing was owed)."""
    verdicts = sorted(
        (
            pair_verdict(p, rule.within_days)
            for p in pairs
            if pair_counts(p, rule, first_day, last_day)
        ),
        # Late first, the never installed before the installed late; then by due day.
        key=lambda v: (v.on_time, v.days is not None, v.due, v.pair.device, v.pair.patch),
    )
    on_time = sum(v.on_time for v in verdicts)
    latencies = [v.days for v in verdicts if v.days is not None]
    counted = len(verdicts)
    return PatchMeasure(
        verdicts=verdicts,
        on_time=on_time,
        counted=counted,
        median_days=float(statistics.median(latencies)) if latencies else None,
        p90_days=percentile_nearest_rank(latencies, 0.9),
        kept=counted == 0 or on_time / counted >= rule.target,
    )


def _days(value: float | int | None) -> str:
    if value is None:
        return "—"
    number = f"{value:g}"
    return f"{number} day" if number == "1" else f"{number} days"


def summary_words(summary: dict | None) -> str:
    """A stored measure as a person reads it: "3 of 5 patches on time, median 20 days, p90
    42 days"."""
    if summary is None:
        return "No patch report covers this period yet."
    counted = summary["counted"]
    if counted == 0:
        return "No patch of the counted severities fell due in this period."
    words = f"{summary['on_time']} of {counted} patch{'es' if counted != 1 else ''} on time"
    if summary["median_days"] is None:
        return f"{words}; none installed yet"
    return f"{words}, median {_days(summary['median_days'])}, p90 {_days(summary['p90_days'])}"
