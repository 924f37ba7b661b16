"""The portfolio: every client a user may see, side by side, for one quarter. What MSP staff and
advisors open first. A fixed number of queries whatever the number of clients."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max, Prefetch
from django.utils import timezone

from contracts.models import CommitmentOccurrence, Contract, ResponsibilityMatrixVersion
from contracts.services.commitments import contract_today
from contracts.services.matrix import matrix_version_gaps
from kpis.metrics.period import Period
from kpis.models import ImportJob, KpiSnapshot

COLUMNS = [
    "resolution.compliance",
    "response.compliance",
    "response.median_minutes",
    "resolution.median_minutes",
    "proactive_ratio",
    "repeat_incident_rate",
]


@dataclass
class ClientLine:
    client: object
    contract: Contract | None
    values: dict = field(default_factory=dict)
    credits: float = 0.0
    currency: str = ""
    last_import: object = None
    overdue: int = 0
    gaps: int = 0
    review: object = None  # the newest review (any status)
    next_review_on: date | None = None  # as agreed in the newest published review
    next_review_passed: bool = False  # that date is behind us: flagged, never "upcoming"


def upcoming_reviews(lines: list[ClientLine], today: date | None = None) -> list[ClientLine]:
    """Clients with a review to prepare (a draft) or a next review date, soonest first; a next
    review date already past is marked so (the page flags it rather than calling it upcoming)."""
    today = today or timezone.localdate()
    due = [line for line in lines if line.review is not None or line.next_review_on]
    for line in due:
        line.next_review_passed = bool(line.next_review_on and line.next_review_on < today)
    return sorted(
        due,
        key=lambda line: (
            not (line.review is not None and not line.review.published),
            line.next_review_on or date.max,
            line.client.name,
        ),
    )


def portfolio_period(clients) -> str | None:
    """The newest quarter any of the clients has figures for."""
    newest = (
        KpiSnapshot.objects.filter(client__in=clients, period_kind="quarter")
        .order_by("-period_start")
        .values_list("period_label", flat=True)
        .first()
    )
    return newest


def portfolio(clients, label: str | None, party=None) -> list[ClientLine]:
    """`party`: the contracts the viewer is party to (tenancy.visible_contracts). A client with
    two MSPs shows each MSP its own contract's figures of record and reviews, not the other's."""
    clients = list(clients)
    party = Contract.objects.all() if party is None else party
    contracts: dict[int, Contract] = {}
    for contract in (
        party.filter(client__in=clients)
        .order_by("client_id", "starts")
        .prefetch_related(
            Prefetch(
                "matrix_versions",
                queryset=ResponsibilityMatrixVersion.objects.order_by("-number").prefetch_related(
                    "assignments"
                ),
            )
        )
    ):
        contracts[contract.client_id] = contract  # the newest contract of each client
    lines = {c.pk: ClientLine(c, contracts.get(c.pk)) for c in clients}
    if label:
        for client_id, values in KpiSnapshot.objects.filter(
            client__in=clients, period_label=label
        ).values_list("client_id", "values"):
            lines[client_id].values = {k: values.get(k) for k in COLUMNS}
        # Credits are per month (or the contract's credit period): add up the quarter's.
        months = Period.parse(label, "UTC").months
        for client_id, values in KpiSnapshot.objects.filter(
            client__in=clients, period_label__in=[*months, label]
        ).values_list("client_id", "values"):
            credit = values.get("service_credits") or {}
            if credit.get("amount"):
                lines[client_id].credits += credit["amount"]
                lines[client_id].currency = credit.get("currency", "")
    for client_id, finished in (
        ImportJob.objects.filter(client__in=clients, status="done")
        .values("client_id")
        .annotate(last=Max("finished_at"))
        .values_list("client_id", "last")
    ):
        lines[client_id].last_import = finished
    _reviews(lines, party)
    overdue = _overdue(contracts.values())
    for client_id, contract in contracts.items():
        versions = list(contract.matrix_versions.all())
        lines[client_id].gaps = len(matrix_version_gaps(versions[0] if versions else None))
        lines[client_id].overdue = overdue.get(contract.pk, 0)
    return sorted(lines.values(), key=lambda line: line.client.name)


def _reviews(lines: dict[int, ClientLine], party) -> None:
    """Each client's newest review and agreed next review date, of the viewer's contracts (one
    query)."""
    from reviews.models import Review

    reviews = Review.objects.filter(client_id__in=list(lines), contract__in=party)
    for review in reviews.order_by("client_id", "-quarter", "-version"):
        line = lines[review.client_id]
        if line.review is None:
            line.review = review
        if review.published and line.next_review_on is None and review.next_review_on:
            line.next_review_on = review.next_review_on


def _overdue(contracts) -> dict[int, int]:
    """Occurrences past their due date and not done, per contract (each in its own zone)."""
    today = {c.pk: contract_today(c) for c in contracts}
    if not today:
        return {}
    counts: dict[int, int] = defaultdict(int)
    for contract_id, due in CommitmentOccurrence.objects.filter(
        commitment__contract_id__in=list(today),
        commitment__is_active=True,
        completed_on__isnull=True,
        due_date__lt=max(today.values(), default=date.today()),
    ).values_list("commitment__contract_id", "due_date"):
        if due < today[contract_id]:
            counts[contract_id] += 1
    return counts
