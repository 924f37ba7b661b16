"""Apply a validated contract file: create or update everything it names, in one transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from contracts.contract_file import ContractFile, ContractFileError
from contracts.models import (
    Calendar,
    Commitment,
    Contract,
    Organisation,
    ResponsibilityAssignment,
    ResponsibilityMatrixVersion,
    SlaPolicyVersion,
    SlaTarget,
    UptimeTarget,
)
from msp_portal.jobs import recompute_after_commit

from .agreement import (
    agree_at_once,
    check_forward,
    judged_tickets_exist,
    pending_replace,
    results_changed,
    results_words,
)
from .audit import audit_record, matrix_content, sla_version_changes, update_audited
from .commitments import commitment_occurrences_ensure

CENT = Decimal("0.01")
CONTRACT_FIELDS = [
    "starts",
    "ends",
    "timezone",
    "pricing_model",
    "unit_price",
    "flat_monthly_fee",
    "currency",
    "seats_users",
    "seats_devices",
    "in_scope",
    "exclusions",
    "credit_measure",
    "credit_period",
    "credit_tiers",
    "credit_cap_percent",
    "kpi_targets",
    "dispute_window_days",
    "dispute_unanswered",
    "advisor",
]


@dataclass
class ApplyResult:
    """What applying a file changed, one human-readable line per change."""

    contract: Contract | None = None
    changes: list[str] = field(default_factory=list)


def _hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _organisation_upsert(ref, kind: str, path: str, result: ApplyResult, actor, source):
    org = Organisation.objects.filter(slug=ref.slug).first()
    if org is None:
        org = Organisation.objects.create(slug=ref.slug, name=ref.name, kind=kind)
        result.changes.append(f"created {kind} organisation {org.slug}")
        audit_record(
            actor=actor,
            source=source,
            contract=None,
            action="create",
            obj=org,
            client=org if kind == Organisation.Kind.CLIENT else None,
        )
        return org
    if org.kind != kind:
        raise ContractFileError(
            [f"{path}.slug: '{org.slug}' is already a {org.get_kind_display()}, not a {kind}"]
        )
    if org.name != ref.name:
        changes = {"name": [org.name, ref.name]}
        org.name = ref.name
        org.save(update_fields=["name"])
        result.changes.append(f"renamed organisation {org.slug}")
        audit_record(
            actor=actor,
            source=source,
            contract=None,
            action="update",
            obj=org,
            changes=changes,
            client=org if kind == Organisation.Kind.CLIENT else None,
        )
    return org


def _money(value) -> Decimal | None:
    """Two decimal places, as the columns store them, so an unchanged file compares equal."""
    return None if value is None else Decimal(str(value)).quantize(CENT)


def _contract_values(data: ContractFile, advisor) -> dict:
    block, credits = data.contract, data.contract.service_credits
    return {
        "starts": block.starts,
        "ends": block.ends,
        "timezone": block.timezone,
        "pricing_model": block.pricing.model,
        "unit_price": _money(block.pricing.unit_price),
        "flat_monthly_fee": _money(block.pricing.monthly_fee),
        "currency": block.pricing.currency,
        "seats_users": data.client.seats.users,
        "seats_devices": data.client.seats.devices,
        "in_scope": list(block.in_scope),
        "exclusions": list(block.exclusions),
        "credit_measure": credits.measure if credits else "",
        "credit_period": credits.period if credits else "month",
        "credit_tiers": [t.model_dump() for t in credits.tiers] if credits else [],
        "credit_cap_percent": _money(credits.cap_percent) if credits else None,
        "kpi_targets": dict(block.targets),
        "dispute_window_days": block.disputes.response_window_business_days,
        "dispute_unanswered": block.disputes.unanswered,
        "advisor": advisor,
    }


def _contract_upsert(data, client, msp, advisor, result, actor, source) -> Contract:
    values = _contract_values(data, advisor)
    contract = Contract.objects.filter(client=client, msp=msp, name=data.contract.name).first()
    if contract is None:
        contract = Contract.objects.create(
            client=client, msp=msp, name=data.contract.name, **values
        )
        result.changes.append(f"created contract '{contract.name}'")
        audit_record(actor=actor, source=source, contract=contract, action="create", obj=contract)
        return contract
    changes = update_audited(
        contract,
        values,
        fields=CONTRACT_FIELDS,
        actor=actor,
        source=source,
        contract=contract,
        validate=True,
    )
    if changes:
        result.changes.append(f"updated contract '{contract.name}': {', '.join(changes)}")
    return contract


def _sla_payload(data: ContractFile) -> dict:
    """The canonical content of an SLA version: calendars, targets, pauses, window, uptime."""
    return {
        "calendars": {
            key: {
                "always": cal.always,
                "timezone": cal.timezone,
                "weekly_hours": cal.weekly_hours,
                "holidays": cal.holidays.model_dump(mode="json"),
            }
            for key, cal in sorted(data.calendars.items())
        },
        "sla": data.sla.model_dump(mode="json", exclude={"effective_from"}),
    }


def _sla_create(
    data: ContractFile, contract: Contract, content_hash: str, options
) -> SlaPolicyVersion:
    policy = SlaPolicyVersion.objects.create(
        contract=contract,
        effective_from=data.sla.effective_from,
        pause_states=list(data.sla.pause_states),
        repeat_window_days=data.sla.repeat_window_days,
        content_hash=content_hash,
        created_by=options.user,
        is_correction=bool(options.correction),
        reason=options.correction or options.reason,
    )
    calendars = {}
    for key, block in data.calendars.items():
        calendars[key] = Calendar.objects.create(
            policy=policy,
            key=key,
            is_24x7=block.always,
            timezone=block.timezone or contract.timezone,
            weekly_hours=block.weekly_hours,
            holiday_country=block.holidays.country or "",
            holiday_subdivision=block.holidays.subdivision or "",
            extra_holidays=[d.isoformat() for d in block.holidays.extra],
        )
    SlaTarget.objects.bulk_create(
        SlaTarget(
            policy=policy,
            priority=priority,
            response_minutes=t.response_minutes,
            resolution_minutes=t.resolution_minutes,
            calendar=calendars[t.calendar],
        )
        for priority, t in sorted(data.sla.targets.items())
    )
    UptimeTarget.objects.bulk_create(
        UptimeTarget(policy=policy, service=u.service, target=Decimal(str(u.target)))
        for u in data.sla.uptime
    )
    return policy


def _sla_apply(data: ContractFile, contract: Contract, result, options) -> None:
    """A changed SLA becomes a new version: agreed at once from the operator's command (the
    signed contract), a proposal both sides approve from pages and the API (agreement.py)."""
    content_hash = _hash(_sla_payload(data))
    effective = data.sla.effective_from
    live = SlaPolicyVersion.objects.filter(
        contract=contract, withdrawn_at__isnull=True, superseded_at__isnull=True
    )
    if live.filter(effective_from=effective, content_hash=content_hash).exists():
        return  # proposed or agreed already
    same_day = live.filter(SlaPolicyVersion.in_force_q(), effective_from=effective).first()
    if same_day is not None and not options.correction:
        raise ContractFileError(
            [
                f"sla.effective_from: a policy version effective {effective} is already agreed "
                "with other terms; versions are never rewritten (KPI results refer to them), "
                "so give the changed SLA a later effective_from, or propose it as a correction "
                "with its reason"
            ]
        )
    before = contract.current_policy(on=effective) or live.order_by("-effective_from").first()
    if (
        before is not None
        and before.content_hash == content_hash
        and before.effective_from <= effective
        and not options.correction
    ):
        return  # same terms under a later date: nothing new to record
    pending_replace(
        model=SlaPolicyVersion, contract=contract, actor=options.actor, source=options.source
    )
    policy = _sla_create(data, contract, content_hash, options)
    changed = results_changed(policy)
    try:
        check_forward(policy, changed)
    except ValidationError as exc:
        raise ContractFileError([f"sla.effective_from: {m}" for m in exc.messages]) from None
    if policy.is_correction:
        policy.changes_results = changed
        policy.save(update_fields=["changes_results"])
    audit_record(
        actor=options.actor,
        source=options.source,
        contract=contract,
        action="propose correction" if policy.is_correction else "propose",
        obj=policy,
        changes=sla_version_changes(before, policy)
        | ({"results changed": [None, results_words(changed)]} if changed["tickets"] else {}),
    )
    if options.agreed:
        agree_at_once(version=policy, actor=options.actor, source=options.source)
        result.changes.append(f"created SLA policy version effective {effective}")
    else:
        result.changes.append(
            f"proposed SLA policy version effective {effective}: it applies once the client "
            "and the MSP both approve it"
        )


def _matrix_effective(contract: Contract, options) -> date:
    """A matrix version takes effect from the date given; else from the contract's start while
    no ticket of the client has been judged, else from today: forward in time."""
    if options.matrix_effective_from is not None:
        return options.matrix_effective_from
    if not judged_tickets_exist(contract):
        return contract.starts
    return contract.today()


def _matrix_apply(data: ContractFile, contract: Contract, result, options) -> None:
    """A changed matrix is a new proposal; both sides approve it in the app (agreement.py)."""
    if not data.responsibilities:
        return
    rows = [
        # categories only when given, so matrices applied before the key existed keep their hash
        {"area": r.area, "owner": r.owner, "split": r.split or ""}
        | ({"categories": r.categories} if r.categories else {})
        for r in data.responsibilities
    ]
    content_hash = _hash(rows)
    current = contract.current_matrix()
    if current is not None and current.content_hash == content_hash:
        return
    pending_replace(
        model=ResponsibilityMatrixVersion,
        contract=contract,
        actor=options.actor,
        source=options.source,
    )
    newest = contract.matrix_versions.order_by("-number").first()
    version = ResponsibilityMatrixVersion.objects.create(
        contract=contract,
        number=(newest.number + 1) if newest else 1,
        effective_from=_matrix_effective(contract, options),
        content_hash=content_hash,
        created_by=options.user,
        is_correction=bool(options.matrix_correction),
        reason=options.matrix_correction or options.reason,
    )
    ResponsibilityAssignment.objects.bulk_create(
        ResponsibilityAssignment(version=version, position=i, **row) for i, row in enumerate(rows)
    )
    changed = results_changed(version)
    try:
        check_forward(version, changed)
    except ValidationError as exc:
        raise ContractFileError([f"responsibilities: {m}" for m in exc.messages]) from None
    if version.is_correction:
        version.changes_results = changed
        version.save(update_fields=["changes_results"])
    result.changes.append(
        f"proposed responsibility matrix version {version.number}: it applies once the client "
        "and the MSP both approve it"
    )
    audit_record(
        actor=options.actor,
        source=options.source,
        contract=contract,
        action="propose correction" if version.is_correction else "propose",
        obj=version,
        changes={
            "assignments": [matrix_content(current) if current else None, matrix_content(version)]
        },
    )


COMMITMENT_FIELDS = [
    "cadence",
    "owner",
    "evidence_required",
    "is_active",
    "measured_by",
    "within_days",
    "severities",
    "target_percent",
    "limit_percent",
    "credit_percent",
]


def _percent(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _measured_values(block) -> dict:
    """The commitment's measure as the file states it; none: recorded by hand."""
    measured = block.measured
    if measured is None:
        return {
            "measured_by": "",
            "within_days": None,
            "severities": "critical",
            "target_percent": None,
            "limit_percent": None,
        }
    return {
        "measured_by": measured.by,
        "within_days": measured.within_days,
        "severities": ", ".join(measured.severities),
        "target_percent": _percent(measured.target_percent),
        "limit_percent": _percent(measured.limit_percent),
    }


def _commitments_apply(data: ContractFile, contract: Contract, result, options) -> None:
    actor, source = options.actor, options.source
    named = set()
    for block in data.commitments:
        named.add(block.name)
        values = {
            "cadence": block.cadence,
            "owner": block.owner,
            "evidence_required": block.evidence == "required",
            "is_active": True,
            "credit_percent": _percent(block.credit_percent),
            **_measured_values(block),
        }
        commitment = Commitment.objects.filter(contract=contract, name=block.name).first()
        if commitment is None:
            commitment = Commitment.objects.create(contract=contract, name=block.name, **values)
            result.changes.append(f"created commitment '{commitment.name}'")
            audit_record(
                actor=actor, source=source, contract=contract, action="create", obj=commitment
            )
        else:
            changes = update_audited(
                commitment,
                values,
                fields=COMMITMENT_FIELDS,
                actor=actor,
                source=source,
                contract=contract,
            )
            if changes:
                result.changes.append(f"updated commitment '{commitment.name}'")
        commitment_occurrences_ensure(commitment=commitment)
    if any(block.measured for block in data.commitments):
        # A commitment newly measured is judged by the reports already imported.
        from evidence.measures import measures_refresh  # evidence builds on contracts

        measures_refresh(client_id=contract.client_id)
    # A commitment left out of the file is retired, never deleted: its history and evidence stay.
    for commitment in contract.commitments.filter(is_active=True).exclude(name__in=named):
        commitment.is_active = False
        commitment.save(update_fields=["is_active"])
        result.changes.append(f"retired commitment '{commitment.name}' (not in the file)")
        audit_record(
            actor=actor,
            source=source,
            contract=contract,
            action="retire",
            obj=commitment,
            changes={"is_active": [True, False]},
        )


@dataclass(frozen=True)
class ApplyOptions:
    """Who applies a file and how its rules enter: `agreed` (the operator's command) records a
    new SLA version as agreed by both sides; otherwise it is a proposal. A correction (its
    reason) may change verdicts already given; `matrix_effective_from` dates a new matrix."""

    actor: object = None
    source: str = "command"
    agreed: bool = False
    reason: str = ""
    correction: str = ""
    matrix_correction: str = ""
    matrix_effective_from: date | None = None

    @property
    def user(self):
        actor = self.actor
        return actor if actor is not None and actor.is_authenticated else None


def contract_apply(
    *,
    data: ContractFile,
    actor=None,
    source: str = "command",
    recompute: bool = True,
    agreed: bool | None = None,
    reason: str = "",
    correction: str = "",
    matrix_correction: str = "",
    matrix_effective_from: date | None = None,
) -> ApplyResult:
    """Create or update the organisations, contract, SLA version, matrix and commitments.

    Idempotent: applying the same file twice reports no changes the second time. Any problem
    raises ContractFileError and rolls the whole file back. A change queues a full KPI
    recompute of the client (`recompute=False`: the caller recomputes itself). New SLA and
    matrix versions are proposals both sides approve (services/agreement.py); from the
    operator's command (`agreed`, its default) the SLA version is agreed as written.
    """
    options = ApplyOptions(
        actor=actor,
        source=source,
        agreed=(source == "command") if agreed is None else agreed,
        reason=reason,
        correction=correction,
        matrix_correction=matrix_correction,
        matrix_effective_from=matrix_effective_from,
    )
    result = ApplyResult()
    with transaction.atomic():
        client = _organisation_upsert(
            data.client, Organisation.Kind.CLIENT, "client", result, actor, source
        )
        msp = _organisation_upsert(data.msp, Organisation.Kind.MSP, "msp", result, actor, source)
        advisor = (
            _organisation_upsert(
                data.advisor, Organisation.Kind.ADVISOR, "advisor", result, actor, source
            )
            if data.advisor
            else None
        )
        contract = _contract_upsert(data, client, msp, advisor, result, actor, source)
        _sla_apply(data, contract, result, options)
        _matrix_apply(data, contract, result, options)
        _commitments_apply(data, contract, result, options)
        result.contract = contract
        if result.changes and recompute:
            # Contract terms, or versions agreed at once, may change figures: every period of
            # the client is recomputed once this commits.
            recompute_after_commit(client.pk)
    return result
