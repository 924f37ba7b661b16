"""What the client dashboard shows, read from stored snapshots (never recomputed on a page load):
the scorecard against targets and earlier periods, and the data behind each chart.

Chart data are plain lists and dicts: the page hands them to plotly.js with `json_script`, and
the same structures fill each chart's table alternative for screen readers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from urllib.parse import urlencode

from django.urls import reverse

from contracts.models import Contract
from contracts.selectors import policy_with_targets
from kpis.dashboard import charts
from kpis.dashboard.drilldown import figure_ticket_ids
from kpis.metrics.cost import COST_KEYS
from kpis.metrics.period import Period, period_key, period_label
from kpis.metrics.registry import KPIS, SCORECARD, Kpi
from kpis.models import KpiSnapshot, TicketClock

# Figures whose tickets can be listed (the others are not about tickets).
TICKET_FIGURES = {kpi.key for kpi in KPIS if kpi.lists_tickets}


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
    def missed_part(self) -> str:
        """Which tickets of a rate went against it: for a higher-is-better rate (compliance,
        first-time fix) those it did not count (`rest`: the breaches), for a lower-is-better
        one (repeats, reopens) those it counted; "" for a figure that is not a rate."""
        if self.measure.unit != "rate" or self.measure.rule is None:
            return ""
        return "rest" if self.measure.better == "higher" else "numerator"

    @property
    def missed_count(self) -> int | None:
        """How many tickets went against the rate (see missed_part)."""
        if not self.missed_part or self.numerator is None or self.denominator is None:
            return None
        if self.missed_part == "numerator":
            return int(self.numerator)
        return int(self.denominator) - int(self.numerator)

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or not isinstance(self.value, int | float):
            return None
        return (
            self.value >= self.target
            if self.measure.better == "higher"
            else (self.value <= self.target)
        )


# Figures of the registry shown on the dashboard outside the scorecard, each in its own section:
# the recurring problems (risks), uptime, credits, the tickets without a verdict and what the
# fee buys (kpis/dashboard/fee.py).
SHOWN_ELSEWHERE = {"repeat_clusters", "uptime", "service_credits", "excluded", *COST_KEYS}
# Every other figure of the registry, under the scorecard: p90 times, tickets per seat, the
# SLA counts, time to escalate and the tier mix.
MORE_FIGURES = [k for k in KPIS if k.scorecard is None and k.key not in SHOWN_ELSEWHERE]


def scorecard(
    snapshot: KpiSnapshot, previous, year_before, contract, measures: list[Kpi] | None = None
) -> list[Row]:
    def value(s, key):
        return s.values.get(key) if s is not None else None

    rows = []
    for measure in SCORECARD if measures is None else measures:
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
        "tiers": series("escalation.resolved_at_tier"),
    }


def clock_times(client, contract: Contract, label: str, clock: str) -> dict:
    """Each ticket's business minutes on one clock (`response` or `resolution`) per priority,
    over exactly the tickets the period's mean time was taken over, with the priorities'
    targets: the data of a time distribution."""
    ids = figure_ticket_ids(client, label, f"{clock}.mean_minutes")
    minutes: dict[str, list[float]] = {}
    rows = (
        TicketClock.objects.filter(ticket_id__in=ids, **{f"{clock}_seconds__isnull": False})
        .values_list("ticket__priority", f"{clock}_seconds")
        .order_by("ticket__priority", f"{clock}_seconds")
    )
    for priority, seconds in rows:
        minutes.setdefault(priority or "unmapped", []).append(seconds / 60)
    last_day = Period.parse(label, contract.timezone).next_first_day - timedelta(days=1)
    policy = policy_with_targets(contract=contract, on=last_day)
    field = f"{clock}_minutes"
    targets = {t.priority: getattr(t, field) for t in policy.targets.all()} if policy else {}
    priorities = sorted(minutes)
    return {
        "priorities": priorities,
        "minutes": [minutes[p] for p in priorities],
        "targets": [targets.get(p) for p in priorities],
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
    def more_rows(self) -> list[Row]:
        """The registry's figures that are not on the scorecard (MORE_FIGURES)."""
        return scorecard(
            self.snapshot, self.previous, self.year_before, self.contract, MORE_FIGURES
        )

    @cached_property
    def charts(self) -> dict:
        return {
            "trend": trend(self.client, self.labels[3:]),
            "priority": compliance_by_priority(self.snapshot),
            "target": next((r.target for r in self.rows if r.target is not None), None),
            "response_times": clock_times(self.client, self.contract, self.label, "response"),
            "resolution_times": clock_times(self.client, self.contract, self.label, "resolution"),
        }

    @cached_property
    def figures(self) -> dict:
        """The Plotly figures the page draws: the same builders as the QBR's web page and PDF."""
        c = self.charts
        return {
            "priority": charts.priority_compliance(c["priority"], c["target"]),
            "compliance": charts.monthly_compliance(c["trend"], c["target"]),
            "resolution-times": charts.resolution_times(c["resolution_times"]),
            "response-times": charts.response_times(c["response_times"]),
            "volume": charts.monthly_volume(c["trend"]),
            "proactive": charts.proactive_share(c["trend"]),
            "tiers": charts.tier_mix(c["trend"]),
        }

    @cached_property
    def links(self) -> dict:
        """Where each chart's bars and points lead: per chart, per trace, one ticket-list
        address per point (in the order of the trace's x values). The page hands them to its
        script beside the figures, so a click opens the tickets behind what was clicked."""
        return chart_links(self.client.slug, self.label, self.charts)

    @cached_property
    def time_rows(self) -> list[tuple]:
        """The time distributions as rows, for their table alternative: priority, tickets,
        median and longest response and resolution, and the targets."""
        rows = []
        for clock in ("response", "resolution"):
            t = self.charts[f"{clock}_times"]
            for priority, minutes, target in zip(
                t["priorities"], t["minutes"], t["targets"], strict=True
            ):
                rows.append((clock, priority, len(minutes), _median(minutes), max(minutes), target))
        return rows

    @cached_property
    def priority_rows(self) -> list[tuple]:
        """The priority chart's numbers as rows, for its table alternative."""
        return list(zip(*self.charts["priority"].values(), strict=True))

    @cached_property
    def trend_rows(self) -> list[tuple]:
        t = self.charts["trend"]
        return list(
            zip(
                t["months"],
                t["created"],
                t["resolved"],
                t["backlog"],
                t["proactive"],
                t["tiers"],
                t["response_compliance"],
                t["resolution_compliance"],
                strict=True,
            )
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


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def tickets_link(slug: str, period: str, figure: str, **extra: str) -> str:
    """The ticket list of one figure of one period (narrowed by `extra`)."""
    query = urlencode({"period": period, "figure": figure, **extra})
    return f"{reverse('client_tickets', args=[slug])}?{query}"


def chart_links(slug: str, label: str, data: dict) -> dict:
    """Per chart (the keys of DashboardData.figures), per trace, the ticket list each point
    opens: a priority's bars its compliance tickets of that priority, a month's points that
    month's figure, a box its priority's timed tickets."""
    months = data["trend"]["months"]
    priorities = data["priority"]["priorities"]

    def by_month(figure: str, **extra) -> list[str]:
        return [tickets_link(slug, month, figure, **extra) for month in months]

    def by_priority(figure: str, names: list[str]) -> list[str]:
        return [tickets_link(slug, label, figure, priority=p) for p in names]

    def boxes(clock: str) -> list[list[str]]:
        names = data[f"{clock}_times"]["priorities"]
        return [[tickets_link(slug, label, f"{clock}.mean_minutes", priority=p)] for p in names]

    return {
        "priority": [
            by_priority("response.compliance", priorities),
            by_priority("resolution.compliance", priorities),
        ],
        "compliance": [by_month("response.compliance"), by_month("resolution.compliance")],
        "response-times": boxes("response"),
        "resolution-times": boxes("resolution"),
        "volume": [
            by_month("tickets.created"),
            by_month("tickets.resolved"),
            by_month("tickets.open_at_end"),
        ],
        "proactive": [
            by_month("proactive_ratio", part="numerator"),
            by_month("proactive_ratio", part="rest"),
        ],
        "tiers": [by_month("escalation.resolved_at_tier")] * 3,
    }
