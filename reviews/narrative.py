"""The executive summary: plain sentences that say what changed since the last quarter and
whether the MSP kept its promises. Pure: KPI rows and a few counts in, sentences out.

The sentences are ranked (see `summary`). A sentence names the figure, the direction ("rose",
"fell"; "improved", "worsened" for times), both values and the target when there is one, so
a board member can read it without the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from msp_portal.units import duration


@dataclass(frozen=True)
class KpiLine:
    """What the narrative needs of one KPI row."""

    key: str
    label: str
    unit: str  # rate | minutes | count
    better: str  # higher | lower | neither
    value: float | int | None
    previous: float | int | None
    target: float | None = None


def percent_pair(a: float, b: float) -> tuple[str, str]:
    """Two rates as whole percentages, with one decimal when whole numbers would look equal."""
    whole = (f"{a * 100:.0f}%", f"{b * 100:.0f}%")
    if whole[0] != whole[1] or a == b:
        return whole
    return f"{a * 100:.1f}%", f"{b * 100:.1f}%"


def _target_clause(line: KpiLine) -> str:
    if line.target is None or line.value is None:
        return ""
    target = f"{line.target * 100:.0f}%" if line.unit == "rate" else _format(line.target, line.unit)
    met = line.value >= line.target if line.better == "higher" else line.value <= line.target
    return f", meeting the {target} target" if met else f", below the {target} target"


def kpi_sentence(line: KpiLine, *, say_no_previous: bool = True) -> str | None:
    """One KPI against the previous quarter; None when there is nothing to say. The summary
    says once that there is no quarter before (`say_no_previous=False`), not on every line."""
    if line.value is None:
        return None
    if line.previous is None:
        now = _format(line.value, line.unit)
        note = " (no figures for the quarter before)" if say_no_previous else ""
        return f"{line.label} was {now}{note}{_target_clause(line)}."
    if line.unit == "rate":
        before, now = percent_pair(line.previous, line.value)
    else:
        before, now = _format(line.previous, line.unit), _format(line.value, line.unit)
    if before == now:
        return f"{line.label} held at {now}{_target_clause(line)}."
    up = line.value > line.previous
    if line.unit == "minutes":
        verb = "worsened" if up else "improved"  # a longer time is worse
    else:
        verb = "rose" if up else "fell"
    return f"{line.label} {verb} from {before} to {now}{_target_clause(line)}."


def _format(value: float | int, unit: str) -> str:
    if unit == "rate":
        return f"{value * 100:.0f}%"
    if unit == "minutes":
        return duration(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def breach_share_clause(breaches_by_priority: Mapping[str, int]) -> str:
    """'; P2 tickets caused 70% of the breaches' — the priority with the most breaches, when one
    priority holds at least half of them (otherwise naming one would mislead)."""
    total = sum(breaches_by_priority.values())
    if total == 0:
        return ""
    priority, count = max(sorted(breaches_by_priority.items()), key=lambda kv: kv[1])
    if count * 2 < total:
        return ""
    share = round(count * 100 / total)
    return f"; {priority} tickets caused {share}% of the breaches"


# The measures the summary speaks of (besides any that has a target): the SLA, what the MSP
# finds itself, time to resolve, the quality of fixes, volumes.
SUMMARY_KEYS = (
    "resolution.compliance",
    "response.compliance",
    "proactive_ratio",
    "resolution.median_minutes",
    "first_time_fix_rate",
    "repeat_incident_rate",
    "tickets.created",
)
# A change smaller than this share of the previous value is "held", not news.
NOTABLE_CHANGE = 0.02


def _missed(line: KpiLine) -> bool:
    if line.target is None or line.value is None:
        return False
    return line.value < line.target if line.better == "higher" else line.value > line.target


def _shortfall(line: KpiLine) -> float:
    """How far a missed target was missed, as a share of the target."""
    if line.target is None or line.value is None:
        return 0.0
    return abs(line.value - line.target) / abs(line.target or 1)


def _change(line: KpiLine) -> float:
    """The relative size of the change since the quarter before (0 when nothing to compare)."""
    if line.value is None or line.previous is None:
        return 0.0
    if line.previous == 0:
        return 1.0 if line.value else 0.0
    return abs(line.value - line.previous) / abs(line.previous)


def _worse(line: KpiLine) -> bool | None:
    """True when the figure moved the wrong way, False the right way, None when neither."""
    if line.better == "neither" or line.value is None or line.previous is None:
        return None
    if line.value == line.previous:
        return None
    return (line.value > line.previous) != (line.better == "higher")


def summary(
    lines: Sequence[KpiLine],
    *,
    breaches_by_priority: Mapping[str, int],
    top_cluster: tuple[str, int] | None = None,
    commitments_kept: tuple[int, int] | None = None,
    overdue_commitments: Sequence[str] = (),
    missed_uptime: Sequence[str] = (),
    credit_total: str | None = None,
    gap_count: int = 0,
) -> list[str]:
    """The executive summary's sentences ranked by importance: promises missed first (targets,
    uptime, overdue commitments, the credits they cost), then what got worse, largest change
    first, then what got better, then what held or has nothing to compare with."""
    missed: list[tuple[float, str]] = []
    worse: list[tuple[float, str]] = []
    better: list[tuple[float, str]] = []
    rest: list[str] = []
    # A first quarter says so once instead of on every line.
    valued = [line for line in lines if line.value is not None]
    first = bool(valued) and all(line.previous is None for line in valued)
    for line in lines:
        if line.key not in SUMMARY_KEYS and line.target is None:
            continue
        sentence = kpi_sentence(line, say_no_previous=not first)
        if sentence is None:
            continue
        if line.key == "resolution.compliance":
            sentence = sentence[:-1] + breach_share_clause(breaches_by_priority) + "."
        if _missed(line):
            missed.append((-_shortfall(line), sentence))
        elif _worse(line) is None or _change(line) < NOTABLE_CHANGE:
            rest.append(sentence)
        elif _worse(line):
            worse.append((-_change(line), sentence))
        else:
            better.append((-_change(line), sentence))
    out = [sentence for _, sentence in sorted(missed, key=lambda m: m[0])]
    out += [f"{name} missed its uptime target." for name in missed_uptime]
    if overdue_commitments:
        out.append("Overdue commitments: " + ", ".join(overdue_commitments) + ".")
    if credit_total:
        out.append(f"Service credits due for the quarter: {credit_total} in total.")
    out += [sentence for _, sentence in sorted(worse, key=lambda w: w[0])]
    if top_cluster is not None:
        name, count = top_cluster
        out.append(f"The largest recurring risk is {name}: {count} incidents in the quarter.")
    out += [sentence for _, sentence in sorted(better, key=lambda b: b[0])]
    if first and rest:
        rest.insert(0, "There are no figures for the quarter before to compare with.")
    out += rest
    if commitments_kept is not None and commitments_kept[1]:
        kept, due = commitments_kept
        out.append(f"Recurring commitments kept: {kept} of {due} due.")
    if gap_count:
        out.append(
            f"The responsibility matrix has {gap_count} gap{'s' if gap_count != 1 else ''}: "
            "until they are closed, nobody can be held to those areas."
        )
    return out
