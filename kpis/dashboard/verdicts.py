"""The verdict strip: the owner's ten-second answer to "is my MSP keeping its promises, and what
got worse?" for one period, at the top of the client's landing page and of the dashboard.

Each contractual promise met or missed (response and resolution compliance per priority,
uptime per service, commitments, and every other target the contract sets), what got worse
since the period before and by how much, the credits due as one total, and the commitments
overdue today; each item links to its evidence. In a partial or too-small period the items are
shown without a verdict (periods.py says why).

`verdict_strip` is pure (snapshot values in, items out); `strip_for` reads what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from urllib.parse import urlencode

from django.urls import reverse

from kpis.dashboard.agreed import as_agreed, moved_by_disputes
from kpis.dashboard.periods import PeriodState, TicketRange, period_state, ticket_range
from kpis.dashboard.selectors import contract_target, previous_label
from kpis.metrics.period import Period
from kpis.metrics.registry import KPI, SCORECARD, Kpi
from msp_portal.units import duration

PRIORITIES = ("P1", "P2", "P3", "P4")
COMPLIANCE = (("response.compliance", "response"), ("resolution.compliance", "resolution"))
WORSE_SHOWN = 5


def figure_text(value, unit: str) -> str:
    """A value as people read it: 0.8734 → 87.3%, 95 minutes → 1 h 35 min."""
    if value is None:
        return "—"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "minutes":
        return duration(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def money_text(amount: Decimal | float, currency: str) -> str:
    """Two decimals and the currency: USD 841.00."""
    return f"{currency} {Decimal(str(amount)).quantize(Decimal('0.01')):,}"


def target_text(kpi: Kpi, target: float) -> str:
    bound = "at least" if kpi.better == "higher" else "at most"
    return f"{bound} {figure_text(target, kpi.unit)}"


def meets(kpi: Kpi, value, target) -> bool | None:
    if target is None or not isinstance(value, int | float):
        return None
    return value >= target if kpi.better == "higher" else value <= target


def targets_in_words(contract) -> list[tuple[str, str]]:
    """The contract's own targets as people read them: ("First-time fix", "at least 70.0%")."""
    return [
        (KPI[key].label, target_text(KPI[key], target))
        for key, target in (contract.kpi_targets or {}).items()
        if key in KPI
    ]


@dataclass
class Item:
    """One line of the strip: what it says, its verdict (met, missed, or "" for none) and the
    page that holds its evidence."""

    text: str
    status: str = ""
    url: str = ""


@dataclass
class Strip:
    label: str
    state: PeriodState
    reach: TicketRange | None
    promises: list[Item] = field(default_factory=list)
    worse: list[Item] = field(default_factory=list)
    credits: Item | None = None
    overdue: Item | None = None
    agreed: Item | None = None  # what accepted disputes moved, "as measured" beside
    before: str = ""  # the period compared with, "" when it has no figures

    @property
    def missed(self) -> list[Item]:
        return [i for i in self.promises if i.status == "missed"]

    @property
    def headline(self) -> str:
        """The verdict in one sentence."""
        judged = [i for i in self.promises if i.status]
        if not self.state.judged:
            return f"{self.label}: no verdict, {self.state.note[0].lower()}{self.state.note[1:]}"
        if not judged:
            return f"{self.label}: the contract sets no target these figures can be held to."
        if not self.missed:
            return f"{self.label}: every promise kept ({len(judged)} of {len(judged)} met)."
        return f"{self.label}: {len(self.missed)} of {len(judged)} promises missed."


@dataclass
class StripInput:
    """What the strip is built from: the period's stored values, figures and breakdowns, the
    period before's values, the credits of the period and the commitments overdue today."""

    label: str
    values: dict
    figures: dict
    breakdowns: dict
    previous_values: dict | None
    credit_total: Decimal | None
    currency: str
    overdue: int
    state: PeriodState
    reach: TicketRange | None
    # The SLA's time per priority, "response"/"resolution" → P1… → business minutes.
    sla_minutes: dict = field(default_factory=dict)
    # The measured values where accepted disputes moved the period's figures (the strip judges
    # the agreed ones, `values`); None where they are the same.
    measured_values: dict | None = None


def sla_minutes(contract, label: str) -> dict[str, dict[str, int]]:
    """The response and resolution time of each priority under the policy in force at the
    period's end."""
    from contracts.models import SlaTarget

    period = Period.parse(label, "UTC")
    policy = contract.current_policy(on=date.fromordinal(period.next_first_day.toordinal() - 1))
    out: dict[str, dict[str, int]] = {"response": {}, "resolution": {}}
    if policy is not None:
        for priority, response, resolution in SlaTarget.objects.filter(policy=policy).values_list(
            "priority", "response_minutes", "resolution_minutes"
        ):
            out["response"][priority], out["resolution"][priority] = response, resolution
    return out


def sla_times_text(minutes: dict[str, int]) -> str:
    """P1 30 min · P2 1 h · …: the SLA's times in words."""
    return " · ".join(f"{p} {duration(m)}" for p, m in sorted(minutes.items()))


class Links:
    """The evidence pages of one client's strip."""

    def __init__(self, client, contract, label: str):
        self.tickets = reverse("client_tickets", args=[client.slug])
        self.label = label
        self.outages = reverse("contract_outages", args=[client.slug, contract.pk])
        self.commitments = reverse("contract_commitments", args=[client.slug, contract.pk])
        self._slug = client.slug

    @property
    def disputes(self) -> str:
        """The client's disputes: read only where accepted disputes moved a figure."""
        return reverse("dispute_list", args=[self._slug])

    def figure(self, key: str, **filters: str) -> str:
        return f"{self.tickets}?{urlencode({'period': self.label, 'figure': key, **filters})}"


def verdict_strip(data: StripInput, contract, links: Links) -> Strip:
    judged = data.state.judged

    def verdict(ok: bool | None) -> str:
        if ok is None or not judged:
            return ""
        return "met" if ok else "missed"

    strip = Strip(data.label, data.state, data.reach)
    by_priority = data.breakdowns.get("priority", {})
    for key, word in COMPLIANCE:
        kpi, target = KPI[key], contract_target(contract, key)
        for priority in PRIORITIES:
            value = by_priority.get(priority, {}).get(key)
            if value is None:
                continue  # no ticket of this priority was judged in the period
            ok = meets(kpi, value, target)
            against = (
                target_text(kpi, target)
                if target is not None
                else "the contract sets no compliance level"
            )
            minutes = data.sla_minutes.get(word, {}).get(priority)
            within = duration(minutes) if minutes else "target"
            filters = {"priority": priority}
            if ok is False:
                filters["verdict"] = "breached"
            strip.promises.append(
                Item(
                    f"{priority} {word} within {within}: {figure_text(value, 'rate')} ({against})",
                    verdict(ok),
                    links.figure(key, **filters),
                )
            )
    for service, uptime in sorted((data.values.get("uptime") or {}).items()):
        if uptime.get("target") is None:
            continue
        strip.promises.append(
            Item(
                f"{service} uptime: {uptime['value'] * 100:.2f}% "
                f"(at least {uptime['target'] * 100:.2f}%)",
                verdict(bool(uptime.get("met"))),
                links.outages,
            )
        )
    _commitments(strip, data, contract, links, verdict)
    for key, target in (contract.kpi_targets or {}).items():
        if key in dict(COMPLIANCE) or key == "commitments.kept_rate" or key not in KPI:
            continue
        kpi, value = KPI[key], data.values.get(key)
        strip.promises.append(
            Item(
                f"{kpi.label}: {figure_text(value, kpi.unit)} ({target_text(kpi, target)})",
                verdict(meets(kpi, value, target)),
                links.figure(key),
            )
        )
    strip.worse = _worse(data, links)
    if data.previous_values:
        strip.before = previous_label(data.label)
    if data.credit_total is not None:
        strip.credits = Item(
            f"Service credits due for {data.label}: {money_text(data.credit_total, data.currency)}",
            "missed" if data.credit_total > 0 and judged else "",
            links.figure("service_credits"),
        )
    strip.overdue = Item(
        f"{data.overdue} commitment{'' if data.overdue == 1 else 's'} overdue today",
        "missed" if data.overdue else "met",
        links.commitments,
    )
    if data.measured_values is not None:
        strip.agreed = Item(_agreed_text(data), "", links.disputes)
    return strip


def _agreed_text(data: StripInput) -> str:
    """What accepted disputes moved: "As agreed after accepted disputes: Resolution compliance
    90.0% (measured 80.0%); Service credits USD 420.50 (measured USD 841.00)"."""
    parts = []
    for kpi, measured, agreed in moved_by_disputes(data.measured_values, data.values):
        if kpi.key == "service_credits":
            parts.append(
                f"{kpi.label} {money_text(agreed or 0, data.currency)} "
                f"(measured {money_text(measured or 0, data.currency)})"
            )
        else:
            parts.append(
                f"{kpi.label} {figure_text(agreed, kpi.unit)} "
                f"(measured {figure_text(measured, kpi.unit)})"
            )
    return "As agreed after accepted disputes: " + "; ".join(parts)


def _commitments(strip: Strip, data: StripInput, contract, links: Links, verdict) -> None:
    """Commitments due in the period and kept: each one is a promise, so all of them must be
    kept unless the contract sets a lower target."""
    figure = data.figures.get("commitments.kept_rate") or {}
    due, kept = figure.get("denominator"), figure.get("numerator")
    if not due:
        return
    kpi = KPI["commitments.kept_rate"]
    target = (contract.kpi_targets or {}).get("commitments.kept_rate", 1.0)
    strip.promises.append(
        Item(
            f"Commitments kept: {kept} of {due} due in the period ({target_text(kpi, target)})",
            verdict(meets(kpi, kept / due, target)),
            links.commitments,
        )
    )


def _change_text(kpi: Kpi, before, now) -> tuple[str, float]:
    """How a figure moved, in words, and how much (relative) for ranking."""
    verb = "rose" if now > before else "fell"
    if kpi.unit == "rate":
        points = abs(now - before) * 100
        text = f"{kpi.label} {verb} {points:.1f} points, from {figure_text(before, 'rate')} to "
        return text + figure_text(now, "rate"), points / 100
    size = abs(now - before) / abs(before) if before else 1.0
    return (
        f"{kpi.label} {verb} from {figure_text(before, kpi.unit)} to {figure_text(now, kpi.unit)}",
        size,
    )


def _worse(data: StripInput, links: Links) -> list[Item]:
    """The scorecard figures that moved the wrong way since the period before, largest first."""
    if not data.previous_values:
        return []
    moved = []
    for kpi in SCORECARD:
        now, before = data.values.get(kpi.key), data.previous_values.get(kpi.key)
        if kpi.better == "neither" or not isinstance(now, int | float):
            continue
        if not isinstance(before, int | float) or now == before:
            continue
        if (now > before) == (kpi.better == "higher"):
            continue
        text, size = _change_text(kpi, before, now)
        url = links.commitments if kpi.rule is None else links.figure(kpi.key)
        moved.append((size, Item(text, "", url)))
    moved.sort(key=lambda pair: -pair[0])
    return [item for _size, item in moved[:WORSE_SHOWN]]


def credits_for(contract, label: str, values_by_label: dict[str, dict]) -> Decimal | None:
    """The credits due for a period as one total: the period's own when credits are counted
    per period of its kind, else the sum of the credit periods inside it (a quarter of monthly
    credits adds up its months). None when the contract has no credit terms or the period is
    shorter than the credit period."""
    if not contract.credit_measure:
        return None
    period = Period.parse(label, "UTC")
    if period.kind == contract.credit_period:
        parts = [label]
    elif contract.credit_period == "month" and period.kind in ("quarter", "year"):
        parts = period.months
    elif contract.credit_period == "quarter" and period.kind == "year":
        parts = [f"{label}-Q{q}" for q in range(1, 5)]
    else:
        return None
    total = Decimal(0)
    for part in parts:
        credit = (values_by_label.get(part) or {}).get("service_credits") or {}
        total += Decimal(str(credit.get("amount") or 0))
    return total.quantize(Decimal("0.01"))


def credit_labels(label: str) -> list[str]:
    """The labels whose snapshots `credits_for` may read."""
    period = Period.parse(label, "UTC")
    labels = [label, *period.months] if period.kind != "month" else [label]
    if period.kind == "year":
        labels += [f"{label}-Q{q}" for q in range(1, 5)]
    return labels


def overdue_count(contract, today) -> int:
    """Occurrences of the contract's active commitments past their due date and not done: a
    commitment measured from tool reports is never marked done, so its occurrences count when
    their measure did not keep them (missed, or no report covers the period once the report's
    grace days are over: CommitmentOccurrence.status_on)."""
    import datetime

    from django.conf import settings
    from django.db.models import Q

    from contracts.models import CommitmentOccurrence

    grace = datetime.timedelta(days=settings.COMMITMENT_REPORT_GRACE_DAYS)
    by_hand = Q(commitment__measured_by="", completed_on__isnull=True)
    measured = ~Q(commitment__measured_by="") & (
        Q(measure__isnull=True, due_date__lt=today - grace) | Q(measure__kept=False)
    )
    return CommitmentOccurrence.objects.filter(
        by_hand | measured,
        commitment__contract=contract,
        commitment__is_active=True,
        due_date__lt=today,
    ).count()


def strip_labels(label: str) -> list[str]:
    """The periods a strip reads: its own, the one before, and those its credits add up."""
    return list(dict.fromkeys([label, previous_label(label), *credit_labels(label)]))


def strip_for(client, contract, label: str, snapshots: dict, overdue: int, today) -> Strip:
    """The strip of `label` from the stored snapshots of strip_labels(label) (a missing one
    counts as no figures)."""
    snapshot = snapshots[label]
    reach = ticket_range(client.pk, contract.timezone)
    previous = snapshots.get(previous_label(label))
    # The promises and the credits are judged on the figures as agreed (kpis/dashboard/agreed.py).
    agreed = as_agreed(snapshot)
    values = {lbl: as_agreed(s).values for lbl, s in snapshots.items()}
    data = StripInput(
        label=label,
        values=agreed.values,
        figures=agreed.figures,
        breakdowns=agreed.breakdowns,
        measured_values=snapshot.values if agreed.changed else None,
        previous_values=as_agreed(previous).values if previous is not None else None,
        credit_total=credits_for(contract, label, values),
        currency=contract.currency,
        overdue=overdue,
        state=period_state(label, snapshot.values.get("tickets.created") or 0, reach, today),
        reach=reach,
        sla_minutes=sla_minutes(contract, label),
    )
    return verdict_strip(data, contract, Links(client, contract, label))


def strip_load(client, contract, label: str, today, overdue: int | None = None) -> Strip | None:
    """The strip of one period, read from the database; None when it has no figures."""
    from kpis.models import KpiSnapshot

    snapshots = {
        s.period_label: s
        for s in KpiSnapshot.objects.filter(client=client, period_label__in=strip_labels(label))
    }
    if label not in snapshots:
        return None
    if overdue is None:
        overdue = overdue_count(contract, today)
    return strip_for(client, contract, label, snapshots, overdue, today)


class StripOnDemand:
    """A strip read only when a page's cached block is rendered again (the dashboard)."""

    def __init__(self, client, contract, label: str, today, overdue: int):
        self._args = (client, contract, label, today, overdue)

    @cached_property
    def strip(self) -> Strip | None:
        return strip_load(*self._args)
