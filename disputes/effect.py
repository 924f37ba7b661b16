"""What disputes moved: the figures of a period "as measured" beside "as agreed", and the
service credits on each, read from stored snapshots (KpiSnapshot.agreed, written by the
recompute; empty when the agreed figures are the measured ones). The dispute page and the QBR
read these; nothing is recomputed here."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from kpis.dashboard.agreed import as_agreed
from kpis.dashboard.verdicts import credit_labels, credits_for, figure_text, money_text
from kpis.metrics.registry import KPI
from kpis.models import KpiSnapshot

from .models import Dispute

# The figures a dispute can move that a reader weighs: compliance, the counts behind it, and
# the ticket figures an exclusion or a priority changes.
MOVED_KEYS = (
    "resolution.compliance",
    "resolution.sla_met",
    "resolution.sla_breached",
    "response.compliance",
    "response.sla_met",
    "response.sla_breached",
    "commitments.kept_rate",
)


def _values_by_label(client, labels: list[str]) -> tuple[dict, dict]:
    """(measured, agreed) values by period label for the client's snapshots of these labels."""
    measured, agreed = {}, {}
    for snap in KpiSnapshot.objects.filter(client=client, period_label__in=labels):
        measured[snap.period_label] = snap.values
        agreed[snap.period_label] = as_agreed(snap).values
    return measured, agreed


def credits_moved(contract, label: str) -> tuple[Decimal | None, Decimal | None]:
    """(credits as measured, credits as agreed) for a period, by the contract's credit terms."""
    measured, agreed = _values_by_label(contract.client, credit_labels(label))
    return credits_for(contract, label, measured), credits_for(contract, label, agreed)


def period_effect(contract, label: str) -> dict | None:
    """The period's figures that differ as agreed, in words, and its credits both ways; None
    when nothing differs (or no snapshot is stored)."""
    snap = KpiSnapshot.objects.filter(client=contract.client, period_label=label).first()
    if snap is None or not as_agreed(snap).changed:
        return None
    agreed = as_agreed(snap).values
    rows = [
        {
            "label": KPI[key].label,
            "measured": figure_text(snap.values.get(key), KPI[key].unit),
            "agreed": figure_text(agreed.get(key), KPI[key].unit),
        }
        for key in MOVED_KEYS
        if snap.values.get(key) != agreed.get(key)
    ]
    measured_credit, agreed_credit = credits_moved(contract, label)
    credit = None
    if measured_credit is not None and measured_credit != agreed_credit:
        credit = {
            "measured": money_text(measured_credit, contract.currency),
            "agreed": money_text(agreed_credit or 0, contract.currency),
        }
    if not rows and credit is None:
        return None
    return {"period": label, "rows": rows, "credit": credit}


def dispute_periods(dispute: Dispute) -> list[str]:
    """The months a dispute's fact counts in: the ticket's creation and resolution months (the
    occurrence's due month), in the contract's zone."""
    zone = ZoneInfo(dispute.contract.timezone)
    if dispute.ticket_id and dispute.ticket is not None:
        moments = [dispute.ticket.created_at, dispute.ticket.resolved_at]
        return sorted({f"{m.astimezone(zone):%Y-%m}" for m in moments if m is not None})
    if dispute.occurrence_id:
        return [f"{dispute.occurrence.due_date:%Y-%m}"]
    return []


def dispute_effect(dispute: Dispute) -> list[dict]:
    """For an accepted dispute: each of its months whose agreed figures differ from the
    measured ones (all accepted disputes of the client together, as the recompute stores them)."""
    if dispute.status != Dispute.Status.ACCEPTED:
        return []
    found = (period_effect(dispute.contract, label) for label in dispute_periods(dispute))
    return [effect for effect in found if effect is not None]
