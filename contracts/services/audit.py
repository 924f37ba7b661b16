"""The audit trail: every write service records who changed what, from what to what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models

from contracts.models import AuditEvent, Contract


def _plain(value):
    """JSON-safe form of a field value, for the before/after columns."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
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
) -> AuditEvent:
    """Write one audit event about `obj`."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        source=source,
        client=client if client is not None else (contract.client if contract else None),
        contract=contract,
        action=action,
        object_type=obj._meta.verbose_name,
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
