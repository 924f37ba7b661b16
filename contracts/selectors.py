"""Reads of the contract domain, shaped for pages and the API; callers pass objects already
obtained through msp_portal.tenancy, so nothing here widens what a user can see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Prefetch, Q, QuerySet

from contracts.models import (
    AuditEvent,
    Commitment,
    CommitmentOccurrence,
    Contract,
    Evidence,
    Organisation,
    SlaPolicyVersion,
)
from contracts.services.commitments import contract_today
from contracts.services.matrix import matrix_version_gaps
from msp_portal import sql


def current_contract(*, client: Organisation) -> Contract | None:
    """The client's newest contract: the one its figures are computed and shown under. Read on
    every client page, so written as SQL (msp_portal/sql.py says why)."""
    rows = sql.fetch(_CURRENT_CONTRACT_SQL, [client.pk])
    return sql.load(Contract, rows[0]) if rows else None


_CURRENT_CONTRACT_SQL = f"""
    SELECT {sql.columns(Contract, "c")} FROM contracts_contract c
    WHERE c.client_id = %s ORDER BY c.starts DESC, c.id DESC LIMIT 1
"""  # noqa: S608 - names from _meta; values are parameters


def client_contracts(*, user, client: Organisation) -> QuerySet[Contract]:
    from msp_portal.tenancy import visible_contracts

    return (
        visible_contracts(user)
        .filter(client=client)
        .select_related("client", "msp", "advisor")
        .order_by("-starts")
    )


def policy_with_targets(*, contract: Contract, on: date | None = None) -> SlaPolicyVersion | None:
    """The SLA version in force (today, in the contract's zone) with targets and calendars."""
    policy = contract.current_policy(on=on)
    if policy is None:
        return None
    return (
        SlaPolicyVersion.objects.filter(pk=policy.pk)
        .prefetch_related("targets__calendar", "calendars", "uptime_targets")
        .get()
    )


def policy_history(*, contract: Contract) -> QuerySet[SlaPolicyVersion]:
    """The agreed SLA versions in force, newest first (proposals are on the rule-changes page)."""
    return contract.sla_versions.filter(SlaPolicyVersion.in_force_q()).order_by("-effective_from")


def matrix_with_gaps(*, contract: Contract):
    """(current version with its assignments, [Gap]) — version is None when none exists."""
    version = contract.current_matrix()
    if version is not None:
        version = (
            type(version)
            .objects.filter(pk=version.pk)
            .select_related("client_approved_by", "msp_approved_by")
            .prefetch_related("assignments")
            .get()
        )
    return version, matrix_version_gaps(version)


@dataclass(frozen=True)
class OccurrenceRow:
    occurrence: CommitmentOccurrence
    status: str
    status_label: str
    evidence: list[Evidence]


def commitment_rows(
    *, contract: Contract, recent: int | None = 4
) -> list[tuple[Commitment, list[OccurrenceRow]]]:
    """Each active commitment with its latest `recent` occurrences (None: every one of the
    contract's term), newest first, and their status today."""
    today = contract_today(contract)
    labels = dict(CommitmentOccurrence.Status.choices)
    result = []
    commitments = contract.commitments.filter(is_active=True).prefetch_related(
        Prefetch(
            "occurrences",
            queryset=CommitmentOccurrence.objects.order_by("-period_start").prefetch_related(
                "evidence"
            ),
        )
    )
    for commitment in commitments:
        rows = []
        for occ in list(commitment.occurrences.all())[:recent]:
            occ.commitment = commitment  # already loaded: avoid a query per row in status_on
            evidence = list(occ.evidence.all())
            status = occ.status_on(today, len(evidence))
            rows.append(OccurrenceRow(occ, status, labels[status], evidence))
        result.append((commitment, rows))
    return result


def commitment_summary(*, contract: Contract) -> dict[str, int]:
    """Counts of occurrences by status up to today (for the client home)."""
    today = contract_today(contract)
    counts = {status: 0 for status in CommitmentOccurrence.Status.values}
    occurrences = (
        CommitmentOccurrence.objects.filter(
            commitment__contract=contract, commitment__is_active=True, period_start__lte=today
        )
        .select_related("commitment")
        .annotate(evidence_count=Count("evidence"))
    )
    for occ in occurrences:
        counts[occ.status_on(today, occ.evidence_count)] += 1
    return counts


def audit_trail(
    *,
    contract: Contract,
    kind: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """Every recorded change to the contract and what hangs off it, and to its client outside
    any contract (a rename, its people), newest first; of one kind and within dates (UTC days,
    both included) when given."""
    events = AuditEvent.objects.filter(
        Q(contract=contract) | Q(contract__isnull=True, client_id=contract.client_id)
    )
    if kind:
        events = events.filter(kind=kind)
    if since:
        events = events.filter(at__date__gte=since)
    if until:
        events = events.filter(at__date__lte=until)
    return events.select_related("actor").order_by("-at", "-id")


@dataclass(frozen=True)
class SetupStep:
    title: str
    done: bool
    status: str  # what is set, or what is missing, in words
    links: tuple[tuple[str, str], ...]  # (words, view name) of the pages where it is done


def setup_steps(*, contract: Contract) -> list[SetupStep]:
    """The guided first run of a contract: contract → calendars & SLA → matrix → commitments →
    first import, each done or not yet."""
    from kpis.models import ImportJob

    policy = (
        contract.sla_versions.filter(withdrawn_at__isnull=True, superseded_at__isnull=True)
        .order_by("-effective_from", "-id")
        .first()
    )
    version, gaps = matrix_with_gaps(contract=contract)
    unsettled = [g for g in gaps if g.kind != "not_approved"]
    active = contract.commitments.filter(is_active=True).count()
    # Rules decide verdicts once the client and the MSP both approved them (agreement.py):
    # invite the client's people (People page) so their side can approve.
    agreed_sla = contract.current_policy(on=date.max)
    agreed_matrix = contract.matrix_in_force(on=date.max)
    imported = ImportJob.objects.filter(
        client_id=contract.client_id, msp_id=contract.msp_id, status=ImportJob.Status.DONE
    ).exists()
    return [
        SetupStep(
            "Contract",
            True,
            f"{contract.name}, from {contract.starts:%-d %b %Y}",
            (("Change the terms", "contract_setup_terms"),),
        ),
        SetupStep(
            "Calendars and SLA targets",
            policy is not None and policy.targets.count() == 4,
            f"{policy.get_state_display().lower()}, from {policy.effective_from:%-d %b %Y}"
            if policy
            else "no SLA yet",
            (
                ("Change the calendars", "contract_setup_calendars"),
                ("Change the SLA targets", "contract_setup_sla"),
            ),
        ),
        SetupStep(
            "Responsibility matrix",
            version is not None and not unsettled,
            (
                "no areas assigned yet"
                if version is None
                else f"{len(unsettled)} areas to settle"
                if unsettled
                else "every area has an owner"
            ),
            (("Set the matrix", "contract_setup_matrix"),),
        ),
        SetupStep(
            "Commitments",
            active > 0,
            f"{active} commitment{'s' if active != 1 else ''}" if active else "none yet",
            (("Set the commitments", "contract_setup_commitments"),),
        ),
        SetupStep(
            "Agreed by both sides",
            agreed_sla is not None and agreed_matrix is not None,
            _agreement_status(agreed_sla, agreed_matrix),
            (
                ("Invite the client's people", "people"),
                ("See what waits for approval", "contract_rules"),
            ),
        ),
        SetupStep(
            "First ticket import",
            imported,
            "tickets imported" if imported else "no tickets imported yet",
            (("Upload a ticket export", "import_upload"),),
        ),
    ]


def _agreement_status(agreed_sla, agreed_matrix) -> str:
    if agreed_sla is not None and agreed_matrix is not None:
        return "the SLA and the matrix are agreed by the client and the MSP"
    waiting = [
        name
        for name, agreed in (("the SLA", agreed_sla), ("the matrix", agreed_matrix))
        if agreed is None
    ]
    return (
        f"{' and '.join(waiting)} still {'wait' if len(waiting) > 1 else 'waits'} for both "
        "sides' approval: invite the client's people, then each side approves; until then "
        "tickets get no SLA verdict"
    )
