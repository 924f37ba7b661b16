"""The portfolio: every client a user may see, side by side, each in its own default period
(the last complete quarter with data: one client's newer data no longer blanks the others).
What MSP staff and advisors open first. A fixed number of queries whatever the number of
clients."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models import Max, Prefetch, Q
from django.utils import timezone

from contracts.models import CommitmentOccurrence, Contract, ResponsibilityMatrixVersion
from contracts.services.commitments import contract_today
from contracts.services.matrix import matrix_version_gaps
from kpis.dashboard.periods import PeriodState, TicketRange, default_periods, ticket_ranges
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
    label: str | None = None  # the period shown: the client's own default
    reach: TicketRange | None = None  # how far its imported tickets go
    state: PeriodState | None = None
    next_review_passed: bool = False  # that date is behind us: flagged, never "upcoming"

    @property
    def stale(self) -> bool:
        """The newest ticket data is older than the import cadence: an export is overdue."""
        if self.contract is None or self.reach is None:
            return False
        age = contract_today(self.contract) - self.reach.last
        return age.days > settings.IMPORT_CADENCE_DAYS


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


def portfolio(clients, party=None) -> list[ClientLine]:
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
    _figures(lines, contracts)
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


def _figures(lines: dict[int, ClientLine], contracts: dict[int, Contract]) -> None:
    """Each client's figures of its own default period, with the credits of the period as one
    total (a quarter of monthly credits adds up its months)."""
    from kpis.dashboard.periods import period_state

    labels = default_periods(contracts)
    reaches = ticket_ranges({pk: c.timezone for pk, c in contracts.items()})
    wanted = Q(pk__in=[])
    for client_id, label in labels.items():
        lines[client_id].label, lines[client_id].reach = label, reaches.get(client_id)
        if label:
            months = Period.parse(label, "UTC").months
            wanted |= Q(client_id=client_id, period_label__in=[*months, label])
    for client_id, label, values in KpiSnapshot.objects.filter(wanted).values_list(
        "client_id", "period_label", "values"
    ):
        line = lines[client_id]
        if label == line.label:
            line.values = {k: values.get(k) for k in COLUMNS}
            line.state = period_state(
                label,
                values.get("tickets.created") or 0,
                line.reach,
                contract_today(contracts[client_id]),
            )
        # Credits are per month (or the contract's credit period): add up the quarter's.
        credit = values.get("service_credits") or {}
        if credit.get("amount"):
            line.credits += credit["amount"]
            line.currency = credit.get("currency", "")


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
