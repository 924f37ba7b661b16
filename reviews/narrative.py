"""The executive summary: plain sentences that say what changed since the last quarter and
whether the MSP kept its promises. Pure: KPI rows and a few counts in, sentences out.

A sentence names the figure, the direction ("rose", "fell"; "improved", "worsened" for times),
both values and the target when there is one, so a board member can read it without the table.
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
    target = f"{line.target * 100:.0f}%" if line.unit == "rate" else str(line.target)
    met = line.value >= line.target if line.better == "higher" else line.value <= line.target
    return f", meeting the {target} target" if met else f", below the {target} target"


def kpi_sentence(line: KpiLine) -> str | None:
    """One KPI against the previous quarter; None when there is nothing to say."""
    if line.value is None:
        return None
    if line.previous is None:
        now = _format(line.value, line.unit)
        return f"{line.label} was {now} (no figures for the quarter before){_target_clause(line)}."
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


def summary(
    lines: Sequence[KpiLine],
    *,
    breaches_by_priority: Mapping[str, int],
    top_cluster: tuple[str, int] | None = None,
    commitments_kept: tuple[int, int] | None = None,
    overdue_commitments: Sequence[str] = (),
    credits_due: Sequence[str] = (),
    gap_count: int = 0,
) -> list[str]:
    """The executive summary's sentences, most important first: the SLA, what the MSP finds
    itself, the quality of fixes, volumes, then promises outside the ticket queue."""
    by_key = {line.key: line for line in lines}
    out: list[str] = []
    resolution = by_key.get("resolution.compliance")
    if resolution is not None and (sentence := kpi_sentence(resolution)):
        out.append(sentence[:-1] + breach_share_clause(breaches_by_priority) + ".")
    for key in (
        "response.compliance",
        "proactive_ratio",
        "resolution.median_minutes",
        "first_time_fix_rate",
        "repeat_incident_rate",
        "tickets.created",
    ):
        line = by_key.get(key)
        if line is not None and (sentence := kpi_sentence(line)):
            out.append(sentence)
    if top_cluster is not None:
        name, count = top_cluster
        out.append(f"The largest recurring risk is {name}: {count} incidents in the quarter.")
    if commitments_kept is not None and commitments_kept[1]:
        kept, due = commitments_kept
        sentence = f"Recurring commitments kept: {kept} of {due} due"
        if overdue_commitments:
            sentence += "; overdue: " + ", ".join(overdue_commitments)
        out.append(sentence + ".")
    for credit in credits_due:
        out.append(f"A service credit is due: {credit}.")
    if gap_count:
        out.append(
            f"The responsibility matrix has {gap_count} gap{'s' if gap_count != 1 else ''}: "
            "until they are closed, nobody can be held to those areas."
        )
    return out
