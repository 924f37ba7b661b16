"""Apply a validated contract file: create or update everything it names, in one transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

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


def _sla_apply(data: ContractFile, contract: Contract, result, actor, source) -> None:
    content_hash = _hash(_sla_payload(data))
    effective = data.sla.effective_from
    same_day = SlaPolicyVersion.objects.filter(contract=contract, effective_from=effective).first()
    if same_day is not None:
        if same_day.content_hash == content_hash:
            return
        raise ContractFileError(
            [
                f"sla.effective_from: a policy version effective {effective} already exists with "
                "other terms; versions are never rewritten (KPI results refer to them), "
                "so give the changed SLA a later effective_from"
            ]
        )
    latest = SlaPolicyVersion.objects.filter(contract=contract).order_by("-effective_from").first()
    if latest is not None and latest.effective_from > effective:
        raise ContractFileError(
            [
                f"sla.effective_from: {effective} is before the latest version "
                f"({latest.effective_from}); a new version must take effect after it"
            ]
        )
    if latest is not None and latest.content_hash == content_hash:
        return  # same terms under a later date: nothing new to record
    policy = SlaPolicyVersion.objects.create(
        contract=contract,
        effective_from=effective,
        pause_states=list(data.sla.pause_states),
        repeat_window_days=data.sla.repeat_window_days,
        content_hash=content_hash,
        created_by=actor if actor is not None and actor.is_authenticated else None,
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
    result.changes.append(f"created SLA policy version effective {effective}")
    audit_record(
        actor=actor,
        source=source,
        contract=contract,
        action="create",
        obj=policy,
        changes=sla_version_changes(latest, policy),
    )


def _matrix_apply(data: ContractFile, contract: Contract, result, actor, source) -> None:
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
    version = ResponsibilityMatrixVersion.objects.create(
        contract=contract,
        number=(current.number + 1) if current else 1,
        content_hash=content_hash,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    ResponsibilityAssignment.objects.bulk_create(
        ResponsibilityAssignment(version=version, position=i, **row) for i, row in enumerate(rows)
    )
    result.changes.append(f"created responsibility matrix version {version.number}")
    audit_record(
        actor=actor,
        source=source,
        contract=contract,
        action="create",
        obj=version,
        changes={
            "assignments": [matrix_content(current) if current else None, matrix_content(version)]
        },
    )


COMMITMENT_FIELDS = ["cadence", "owner", "evidence_required", "is_active"]


def _commitments_apply(data: ContractFile, contract: Contract, result, actor, source) -> None:
    named = set()
    for block in data.commitments:
        named.add(block.name)
        values = {
            "cadence": block.cadence,
            "owner": block.owner,
            "evidence_required": block.evidence == "required",
            "is_active": True,
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


def contract_apply(
    *, data: ContractFile, actor=None, source: str = "command", recompute: bool = True
) -> ApplyResult:
    """Create or update the organisations, contract, SLA version, matrix and commitments.

    Idempotent: applying the same file twice reports no changes the second time. Any problem
    raises ContractFileError and rolls the whole file back. A change queues a full KPI
    recompute of the client (`recompute=False`: the caller recomputes itself).
    """
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
        _sla_apply(data, contract, result, actor, source)
        _matrix_apply(data, contract, result, actor, source)
        _commitments_apply(data, contract, result, actor, source)
        result.contract = contract
        if result.changes and recompute:
            # Targets, calendars, credit terms or customer-owned areas may have changed: every
            # period of the client is recomputed once this commits.
            recompute_after_commit(client.pk)
    return result
