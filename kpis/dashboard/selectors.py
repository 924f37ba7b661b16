"""What the client dashboard shows, read from stored snapshots (never recomputed on a page load):
the scorecard against targets and earlier periods, and the data behind each chart.

Chart data are plain lists and dicts: the page hands them to plotly.js with `json_script`, and
the same structures fill each chart's table alternative for screen readers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from contracts.models import Contract
from kpis.dashboard import charts
from kpis.metrics.period import Period, period_key, period_label
from kpis.metrics.registry import SCORECARD, Kpi
from kpis.models import KpiSnapshot

# Figures whose tickets can be listed (the others are not about tickets).
TICKET_FIGURES = {kpi.key for kpi in SCORECARD if kpi.lists_tickets}


def previous_label(label: str) -> str:
    """The period just before: 2026-01 → 2025-12, 2026-Q1 → 2025-Q4, 2026 → 2025."""
    if len(label) == 4:
        return str(int(label) - 1)
    year = int(label[:4])
    if label[5] == "Q":
        quarter = int(label[6])
        return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    month = int(label[5:])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def year_before_label(label: str) -> str:
    return f"{int(label[:4]) - 1}{label[4:]}"


def credit_target(contract: Contract | None, key: str) -> float | None:
    """The contract's promise for a measure: the lowest credit threshold of the measure the
    service credits are tied to (below it, the MSP owes a credit)."""
    if contract is None or contract.credit_measure != key or not contract.credit_tiers:
        return None
    return max(float(t["below"]) for t in contract.credit_tiers)


def contract_target(contract: Contract | None, key: str) -> float | None:
    """The contract's target for a measure: the one its file sets (`contract.targets`), else,
    for the measure the service credits are tied to, the lowest credit threshold."""
    if contract is None:
        return None
    target = (contract.kpi_targets or {}).get(key)
    return float(target) if target is not None else credit_target(contract, key)


@dataclass
class Row:
    measure: Kpi
    value: object
    numerator: object
    denominator: object
    previous: object
    year_before: object
    target: float | None

    @property
    def change(self) -> str:
        """better | worse | same | "" (nothing to compare)."""
        if not isinstance(self.value, int | float) or not isinstance(self.previous, int | float):
            return ""
        if self.value == self.previous or self.measure.better == "neither":
            return "same" if self.value == self.previous else ""
        higher = self.value > self.previous
        return "better" if higher == (self.measure.better == "higher") else "worse"

    @property
    def direction(self) -> str:
        if not isinstance(self.value, int | float) or not isinstance(self.previous, int | float):
            return ""
        return "up" if self.value > self.previous else "down" if self.value < self.previous else ""

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or not isinstance(self.value, int | float):
            return None
        return (
            self.value >= self.target
            if self.measure.better == "higher"
            else (self.value <= self.target)
        )


def scorecard(snapshot: KpiSnapshot, previous, year_before, contract) -> list[Row]:
    def value(s, key):
        return s.values.get(key) if s is not None else None

    rows = []
    for measure in SCORECARD:
        figure = snapshot.figures.get(measure.key, {})
        rows.append(
            Row(
                measure,
                snapshot.values.get(measure.key),
                figure.get("numerator"),
                figure.get("denominator"),
                value(previous, measure.key),
                value(year_before, measure.key),
                contract_target(contract, measure.key),
            )
        )
    return rows


def months_up_to(snapshot: KpiSnapshot, count: int = 12) -> list[str]:
    """The labels of the `count` months ending with the snapshot's period."""
    last = period_key(Period.parse(snapshot.period_label, "UTC").months[-1])
    return [period_label(key) for key in range(last - count + 1, last + 1)]


def trend(client, labels: list[str]) -> dict:
    """Monthly created, resolved, backlog and proactive ratio, for the trend charts."""
    stored = {
        s.period_label: s.values
        for s in KpiSnapshot.objects.filter(client=client, period_label__in=labels).only(
            "period_label", "values"
        )
    }

    def series(key):
        return [stored.get(label, {}).get(key) for label in labels]

    return {
        "months": labels,
        "created": series("tickets.created"),
        "resolved": series("tickets.resolved"),
        "backlog": series("tickets.open_at_end"),
        "proactive": series("proactive_ratio"),
        "resolution_compliance": series("resolution.compliance"),
        "response_compliance": series("response.compliance"),
    }


def compliance_by_priority(snapshot: KpiSnapshot) -> dict:
    """Response and resolution compliance per priority in the period."""
    by_priority = snapshot.breakdowns.get("priority", {})
    priorities = sorted(by_priority)
    return {
        "priorities": priorities,  # in this order: the page's table reads them as rows
        "created": [by_priority[p].get("tickets.created") for p in priorities],
        "response": [by_priority[p].get("response.compliance") for p in priorities],
        "resolution": [by_priority[p].get("resolution.compliance") for p in priorities],
    }


class DashboardData:
    """Everything the dashboard draws for one client and period, loaded only when the page's
    cached block has to be rendered again. `stamp` names the content: it changes whenever any
    snapshot the page reads is recomputed, so a cached page is never stale."""

    def __init__(self, client, contract, snapshot_stub, stored):
        """`stored`: the client's snapshots without their figures (label and computed_at are
        read), as the view already has them for the period picker."""
        self.client, self.contract = client, contract
        self.label = snapshot_stub.period_label
        self.labels = [
            self.label,
            previous_label(self.label),
            year_before_label(self.label),
            *months_up_to(snapshot_stub),
        ]
        wanted = set(self.labels)
        stamps = sorted((s.period_label, s.computed_at) for s in stored if s.period_label in wanted)
        self.stamp = hashlib.md5(repr(stamps).encode(), usedforsecurity=False).hexdigest()

    @cached_property
    def _snapshots(self) -> dict[str, KpiSnapshot]:
        wanted = self.labels[:3]
        return {
            s.period_label: s
            for s in KpiSnapshot.objects.filter(client=self.client, period_label__in=wanted)
        }

    @cached_property
    def snapshot(self) -> KpiSnapshot:
        return self._snapshots[self.label]

    @cached_property
    def previous(self):
        return self._snapshots.get(self.labels[1])

    @cached_property
    def year_before(self):
        return self._snapshots.get(self.labels[2])

    @cached_property
    def rows(self) -> list[Row]:
        return scorecard(self.snapshot, self.previous, self.year_before, self.contract)

    @cached_property
    def charts(self) -> dict:
        return {
            "trend": trend(self.client, self.labels[3:]),
            "priority": compliance_by_priority(self.snapshot),
            "target": next((r.target for r in self.rows if r.target is not None), None),
        }

    @cached_property
    def figures(self) -> dict:
        """The Plotly figures the page draws: the same builders as the QBR's web page and PDF."""
        return {
            "priority": charts.priority_compliance(self.charts["priority"], self.charts["target"]),
            "volume": charts.monthly_volume(self.charts["trend"]),
        }

    @cached_property
    def priority_rows(self) -> list[tuple]:
        """The priority chart's numbers as rows, for its table alternative."""
        return list(zip(*self.charts["priority"].values(), strict=True))

    @cached_property
    def trend_rows(self) -> list[tuple]:
        t = self.charts["trend"]
        return list(
            zip(t["months"], t["created"], t["resolved"], t["backlog"], t["proactive"], strict=True)
        )

    @cached_property
    def sla_times(self) -> dict[str, str]:
        """The SLA's time per priority in words, for the compliance rows' target."""
        from kpis.dashboard.verdicts import sla_minutes, sla_times_text

        minutes = sla_minutes(self.contract, self.label)
        return {
            f"{kind}.compliance": sla_times_text(by_priority)
            for kind, by_priority in minutes.items()
            if by_priority
        }

    def value(self, key: str):
        return self.snapshot.values.get(key)

    @cached_property
    def credits(self):
        return self.value("service_credits")

    @cached_property
    def uptime(self):
        return sorted((self.value("uptime") or {}).items())

    @cached_property
    def clusters(self):
        return (self.value("repeat_clusters") or [])[:10]

    @cached_property
    def excluded(self):
        return self.value("excluded") or {}
