"""The audit trail: every write service records who changed what, from what to what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models
from django.db.models.fields.files import FieldFile

from contracts.models import AuditEvent, Contract

Kind = AuditEvent.Kind
KIND_BY_MODEL = {
    "contracts.organisation": Kind.TERMS,
    "contracts.contract": Kind.TERMS,
    "contracts.membership": Kind.PEOPLE,
    "contracts.slapolicyversion": Kind.SLA,
    "contracts.calendar": Kind.SLA,
    "contracts.slatarget": Kind.SLA,
    "contracts.uptimetarget": Kind.SLA,
    "contracts.responsibilitymatrixversion": Kind.MATRIX,
    "contracts.responsibilityassignment": Kind.MATRIX,
    "contracts.commitment": Kind.COMMITMENTS,
    "contracts.commitmentoccurrence": Kind.COMMITMENTS,
    "contracts.evidence": Kind.COMMITMENTS,
    "kpis.importjob": Kind.IMPORTS,
    "kpis.ticket": Kind.IMPORTS,  # tickets come from imports; an admin edit of one is beside them
    "kpis.outage": Kind.OUTAGES,
}
KIND_BY_APP = {
    "accounts": Kind.PEOPLE,
    "reviews": Kind.REVIEWS,
    "disputes": Kind.DISPUTES,
    "reconciliation": Kind.MSP_REPORTS,
}


def audit_kind(obj: models.Model, action: str) -> str:
    """The trail filter an event belongs to: an approval wherever it approves, else by the model
    (a model added later names its kind with `audit_record(kind=...)`)."""
    if action.startswith("approve"):
        return Kind.APPROVALS
    meta = obj._meta
    return KIND_BY_MODEL.get(meta.label_lower) or KIND_BY_APP.get(meta.app_label, Kind.OTHER)


def _plain(value):
    """JSON-safe form of a field value, for the before/after columns."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or None  # the stored file's name (an admin can replace a logo)
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict:
    """The named fields of an object, JSON-safe, for diffing before and after a change."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def diff(before: dict, after: dict) -> dict[str, list]:
    """{field: [before, after]} for the fields whose value changed."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def audit_record(
    *,
    actor,
    source: str,
    contract: Contract | None,
    action: str,
    obj: models.Model,
    changes: dict | None = None,
    client=None,
    kind: str | None = None,
) -> AuditEvent:
    """Write one audit event about `obj`; `kind` (an AuditEvent.Kind) when the model alone does
    not say it."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        source=source,
        client=client if client is not None else (contract.client if contract else None),
        contract=contract,
        action=action,
        kind=kind or audit_kind(obj, action),
        object_type=obj._meta.verbose_name,
        object_model=obj._meta.label_lower,
        object_id=str(obj.pk or ""),
        object_repr=str(obj)[:300],
        changes=changes or {},
    )


def update_audited(
    obj: models.Model,
    values: dict,
    *,
    fields: list[str],
    actor,
    source: str,
    contract: Contract | None,
    action: str = "update",
    validate: bool = False,
    also: dict | None = None,
    only_changed: bool = False,
) -> dict[str, list]:
    """Set the named `fields` of `obj` that `values` holds; when any changed, save the object
    and record before → after in the audit trail. Returns the changes ({} when none).

    `validate` runs the model's checks before anything is saved; `also` sets further columns
    with a change (not recorded: consequences, such as a PDF now out of date); `only_changed`
    saves just the changed columns (a model without auto-updated ones)."""
    before = snapshot(obj, fields)
    for name in fields:
        if name in values:
            setattr(obj, name, values[name])
    if validate:
        obj.full_clean(validate_unique=False)
    changes = diff(before, snapshot(obj, fields))
    if changes:
        for name, value in (also or {}).items():
            setattr(obj, name, value)
        obj.save(update_fields=[*changes, *(also or {})] if only_changed else None)
        audit_record(
            actor=actor, source=source, contract=contract, action=action, obj=obj, changes=changes
        )
    return changes


def sla_content(policy) -> dict:
    """Everything an SLA version decides, JSON-safe, for a version's before → after."""
    return {
        "effective_from": policy.effective_from.isoformat(),
        "targets": {
            t.priority: {
                "response_minutes": t.response_minutes,
                "resolution_minutes": t.resolution_minutes,
                "calendar": t.calendar.key,
            }
            for t in policy.targets.select_related("calendar").order_by("priority")
        },
        "pause_states": list(policy.pause_states),
        "repeat_window_days": policy.repeat_window_days,
        "calendars": {cal.key: calendar_words(cal) for cal in policy.calendars.order_by("key")},
        "uptime": {
            u.service: f"{(u.target * 100).normalize():f}%"
            for u in policy.uptime_targets.order_by("service")
        },
    }


def calendar_words(cal) -> str:
    """A calendar in one line: its hours, time zone and holidays."""
    if cal.is_24x7:
        return "around the clock"
    hours = "; ".join(f"{day} {window}" for day, window in cal.describe_hours()) or "no hours"
    holidays = ", ".join(
        filter(
            None,
            [
                "-".join(filter(None, [cal.holiday_country, cal.holiday_subdivision])),
                *cal.extra_holidays,
            ],
        )
    )
    return f"{hours} ({cal.timezone or 'contract time'}); holidays: {holidays or 'none'}"


def sla_version_changes(previous, policy) -> dict[str, list]:
    """A new SLA version beside the one before it: every part, before → after (no `previous`:
    the first version, nothing before)."""
    before = sla_content(previous) if previous is not None else {}
    after = sla_content(policy)
    return {key: [before.get(key), value] for key, value in after.items()}


def matrix_content(version) -> dict[str, dict]:
    """A matrix version by area: owner, split and categories, for a per-area before → after."""
    return {
        a.area: {"owner": a.owner, "split": a.split, "categories": list(a.categories)}
        for a in version.assignments.all()
    }
