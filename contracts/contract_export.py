"""A contract's stored state as a contract file, and a file rebuilt from changed sections.

Every change the setup pages make is a contract file: the export of what is stored, with the
form's section replaced, validated by `contract_file_parse` and applied by `contract_apply`. So
the pages, the command, the API and the YAML download share one path and one set of checks, and
exporting then applying an unchanged contract changes nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal

import yaml

from contracts.contract_file import ContractFile, contract_file_parse
from contracts.models import Contract


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _contract_block(contract: Contract) -> dict:
    pricing: dict = {"model": contract.pricing_model, "currency": contract.currency}
    if contract.unit_price is not None:
        pricing["unit_price"] = _number(contract.unit_price)
    if contract.flat_monthly_fee is not None:
        pricing["monthly_fee"] = _number(contract.flat_monthly_fee)
    block = {
        "name": contract.name,
        "starts": contract.starts,
        "ends": contract.ends,
        "timezone": contract.timezone,
        "pricing": pricing,
        "in_scope": list(contract.in_scope),
        "exclusions": list(contract.exclusions),
        "targets": dict(contract.kpi_targets),
        "disputes": {
            "response_window_business_days": contract.dispute_window_days,
            "unanswered": contract.dispute_unanswered,
        },
    }
    if contract.credit_measure:
        block["service_credits"] = {
            "measure": contract.credit_measure,
            "period": contract.credit_period,
            "tiers": list(contract.credit_tiers),
            "cap_percent": _number(contract.credit_cap_percent),
        }
    return block


def _calendar_block(calendar) -> dict:
    holidays = {
        "country": calendar.holiday_country or None,
        "subdivision": calendar.holiday_subdivision or None,
        "extra": list(calendar.extra_holidays),
    }
    if calendar.is_24x7:
        # The file's "24x7" shorthand stores the contract's zone; the file itself names none.
        return {"always": True, "holidays": holidays}
    return {
        "timezone": calendar.timezone,
        "hours": {
            day: [f"{start}-{end}" for start, end in windows]
            for day, windows in calendar.weekly_hours.items()
        },
        "holidays": holidays,
    }


def _sla_sections(contract: Contract) -> tuple[dict, dict | None]:
    """(calendars, sla) of the newest SLA version agreed or waiting for approval (withdrawn
    proposals and replaced versions are history): the one a change must come after."""
    policy = (
        contract.sla_versions.filter(withdrawn_at__isnull=True, superseded_at__isnull=True)
        .order_by("-effective_from", "-id")
        .prefetch_related("calendars", "targets__calendar", "uptime_targets")
        .first()
    )
    if policy is None:
        return {}, None
    calendars = {cal.key: _calendar_block(cal) for cal in policy.calendars.all()}
    sla = {
        "effective_from": policy.effective_from,
        "pause_states": list(policy.pause_states),
        "repeat_window_days": policy.repeat_window_days,
        "targets": {
            t.priority: {
                "response_minutes": t.response_minutes,
                "resolution_minutes": t.resolution_minutes,
                "calendar": t.calendar.key,
            }
            for t in policy.targets.all()
        },
        # In the order they were written: the version's content hash depends on it.
        "uptime": [
            {"service": u.service, "target": float(u.target)}
            for u in sorted(policy.uptime_targets.all(), key=lambda u: u.pk)
        ],
    }
    return calendars, sla


def _responsibilities(contract: Contract) -> list[dict]:
    matrix = contract.current_matrix()
    if matrix is None:
        return []
    # An area nobody owns cannot be written in a file: it stays a gap of the matrix.
    return [
        {"area": a.area, "owner": a.owner, "split": a.split or None, "categories": a.categories}
        for a in matrix.assignments.all()
        if a.owner != a.Owner.UNASSIGNED
    ]


def contract_document(*, contract: Contract) -> dict:
    """The contract's current state as the plain mapping a contract file holds."""
    calendars, sla = _sla_sections(contract)
    document = {
        "client": {
            "slug": contract.client.slug,
            "name": contract.client.name,
            "seats": {"users": contract.seats_users, "devices": contract.seats_devices},
        },
        "msp": {"slug": contract.msp.slug, "name": contract.msp.name},
        "contract": _contract_block(contract),
        "calendars": calendars,
        "sla": sla,
        "responsibilities": _responsibilities(contract),
        "commitments": [
            _commitment_block(c) for c in contract.commitments.filter(is_active=True).order_by("pk")
        ],
    }
    if contract.advisor_id:
        document["advisor"] = {"slug": contract.advisor.slug, "name": contract.advisor.name}
    return document


def contract_file_from(document: dict) -> ContractFile:
    """Validate a mapping as a contract file, with the same checks and key-path messages as an
    uploaded one (raises ContractFileError)."""
    return contract_file_parse(json.dumps(document, default=str), filename="contract.json")


def contract_file_export(*, contract: Contract) -> ContractFile:
    """The contract's current state as a validated contract file."""
    return contract_file_from(contract_document(contract=contract))


def contract_file_yaml(data: ContractFile) -> str:
    """A contract file as YAML, keys in the documented order, empty optional keys left out."""
    plain = _yaml_safe(data.model_dump(exclude_none=True))
    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, width=100)


def _yaml_safe(value):
    """Prices as plain numbers (YAML has no decimal type); dates stay dates."""
    if isinstance(value, dict):
        return {key: _yaml_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_yaml_safe(item) for item in value]
    return float(value) if isinstance(value, Decimal) else value


def _commitment_block(commitment) -> dict:
    block = {
        "name": commitment.name,
        "cadence": commitment.cadence,
        "owner": commitment.owner,
        "evidence": "required" if commitment.evidence_required else "optional",
    }
    if commitment.credit_percent is not None:
        block["credit_percent"] = float(commitment.credit_percent)
    if commitment.measured_by:
        measured: dict = {"by": commitment.measured_by}
        if commitment.within_days is not None:
            measured["within_days"] = commitment.within_days
        if commitment.measured_by == "patches":
            measured["severities"] = [
                s.strip() for s in commitment.severities.split(",") if s.strip()
            ]
        for bound in ("target_percent", "limit_percent"):
            if getattr(commitment, bound) is not None:
                measured[bound] = float(getattr(commitment, bound))
        block["measured"] = measured
    return block
