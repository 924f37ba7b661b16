"""The disputes of a quarter for its review (QBR): how many were opened, how they were settled
(accepted, rejected, by the contract's rule) and how many are outstanding, each in words, and
the service credits they moved (credits as measured against credits as agreed). JSON-ready:
a published review freezes it."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.db.models import Count, Q

from kpis.dashboard.verdicts import money_text

from .effect import credits_moved
from .models import Dispute
from .subjects import contest_words

Status = Dispute.Status
ROWS_SHOWN = 20


def _quarter(start, end) -> tuple[Q, Q, Q]:
    """Opened: in the quarter. Settled: answered, withdrawn or settled by the rule within it
    (an escalation is not settled: it is outstanding until people decide). Outstanding: opened
    by the quarter's end and not settled by then."""
    opened = Q(opened_at__gte=start, opened_at__lt=end)
    settled = Q(answered_at__gte=start, answered_at__lt=end) & ~Q(status=Status.ESCALATED)
    outstanding = Q(opened_at__lt=end) & (
        Q(status__in=[Status.OPEN, Status.ESCALATED]) | Q(answered_at__gte=end)
    )
    return opened, settled, outstanding


def _counts(disputes, opened: Q, settled: Q, outstanding: Q) -> dict[str, int]:
    """The quarter's counts, in one query."""
    return disputes.aggregate(
        opened=Count("pk", filter=opened),
        accepted=Count("pk", filter=settled & Q(status=Status.ACCEPTED, settled_by_rule=False)),
        rejected=Count("pk", filter=settled & Q(status=Status.REJECTED)),
        by_rule=Count("pk", filter=settled & Q(settled_by_rule=True)),
        withdrawn=Count("pk", filter=settled & Q(status=Status.WITHDRAWN)),
        outstanding=Count("pk", filter=outstanding),
    )


def review_disputes(contract, quarter: str, first_day, next_first_day) -> dict:
    """The quarter's disputes under this contract and the credits they moved."""
    zone = ZoneInfo(contract.timezone)
    start = datetime.combine(first_day, time.min, tzinfo=zone)
    end = datetime.combine(next_first_day, time.min, tzinfo=zone)
    disputes = Dispute.objects.filter(contract=contract).select_related("contract")
    opened, settled, outstanding = _quarter(start, end)
    counts = _counts(disputes, opened, settled, outstanding)
    measured, agreed = credits_moved(contract, quarter)
    moved = None
    if measured is not None and agreed is not None:
        moved = {
            "measured": money_text(measured, contract.currency),
            "agreed": money_text(agreed, contract.currency),
            "difference": money_text(measured - agreed, contract.currency),
            "changed": measured != agreed,
        }
    if not any(counts.values()) and not (moved and moved["changed"]):
        return {}  # no dispute touched the quarter: the review leaves the section out
    shown = disputes.filter(opened | outstanding).order_by("opened_at", "id")[:ROWS_SHOWN]
    rows = []
    for dispute in shown:
        words = contest_words(dispute, zone)
        rows.append(
            {
                "about": dispute.ticket_label or str(dispute.occurrence or ""),
                "contest": f"{words['what']}: {words['measured']} → {words['requested']}",
                "opened": f"{dispute.opened_at.astimezone(zone):%Y-%m-%d}",
                "status": dispute.get_status_display()
                + (" by the contract's rule" if dispute.settled_by_rule else ""),
            }
        )
    return {**counts, "credits": moved, "rows": rows}
