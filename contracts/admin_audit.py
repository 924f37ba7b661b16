"""Admin edits in the audit trail, with their real before → after: the main form's and every
inline row's. The form has already set its new values on the object when the admin saves it, so
"before" is read from the database, not from the object."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from .models import Contract, Organisation
from .services.audit import audit_record, diff, snapshot

CONTRACT_PATHS = (
    "contract",
    "policy.contract",
    "version.contract",
    "commitment.contract",
    "occurrence.commitment.contract",
)


def contract_of(obj):
    """The contract an object belongs to (a contract: itself), through the first of
    CONTRACT_PATHS that leads to one."""
    if isinstance(obj, Contract):
        return obj
    for path in CONTRACT_PATHS:
        target = obj
        for part in path.split("."):
            target = getattr(target, part, None)
        if target is not None:
            return target
    return None


def client_of(obj):
    """The client organisation of an object outside any contract (an organisation, a membership)."""
    for candidate in (obj, getattr(obj, "organisation", None), getattr(obj, "client", None)):
        if isinstance(candidate, Organisation) and candidate.kind == Organisation.Kind.CLIENT:
            return candidate
    return None


def _fields(obj: models.Model, names) -> list[str]:
    """The names that are plain columns of the object (many-to-many fields are left out)."""
    columns = {f.name for f in obj._meta.concrete_fields}
    return [name for name in names if name in columns]


def _stored(obj: models.Model, names: list[str]) -> dict:
    """The named fields as the database holds them, before this save."""
    stored = type(obj)._default_manager.filter(pk=obj.pk).first()
    return snapshot(stored, names) if stored is not None else {}


def _record(request, obj, action: str, changes: dict) -> None:
    contract = contract_of(obj)
    audit_record(
        actor=request.user,
        source="admin",
        contract=contract,
        action=action,
        obj=obj,
        changes=changes,
        client=None if contract else client_of(obj),
    )


def _created(obj, names) -> dict:
    return {name: [None, value] for name, value in snapshot(obj, names).items() if value}


def _deleted(obj) -> dict:
    names = _fields(obj, [f.name for f in obj._meta.concrete_fields if not f.primary_key])
    return {name: [value, None] for name, value in snapshot(obj, names).items() if value}


class AuditedAdmin(admin.ModelAdmin):
    """Records each admin save and delete in the audit trail, inline rows included."""

    def save_model(self, request, obj, form, change):
        names = _fields(obj, form.changed_data if change else form.fields)
        before = _stored(obj, names) if change else {}
        super().save_model(request, obj, form, change)
        changes = diff(before, snapshot(obj, names)) if change else _created(obj, names)
        if changes or not change:  # a save that changed only inline rows is logged by them
            _record(request, obj, "update" if change else "create", changes)

    def save_formset(self, request, form, formset, change):
        # Deleted rows are recorded while they still have their id; the admin's transaction
        # takes these events back with the rows if the save fails.
        for deleted in formset.deleted_forms:
            if deleted.instance.pk is not None:
                _record(request, deleted.instance, "delete", _deleted(deleted.instance))
        before = {
            id(f.instance): _stored(f.instance, _fields(f.instance, f.changed_data))
            for f in formset.initial_forms
            if f.has_changed() and f not in formset.deleted_forms
        }
        super().save_formset(request, form, formset, change)
        for obj, changed in formset.changed_objects:
            changes = diff(before.get(id(obj), {}), snapshot(obj, _fields(obj, changed)))
            if changes:
                _record(request, obj, "update", changes)
        for obj in formset.new_objects:
            _record(request, obj, "create", _created(obj, _fields(obj, formset.form.base_fields)))

    def delete_model(self, request, obj):
        _record(request, obj, "delete", _deleted(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The list's "delete selected" action: each row in the trail, as a single delete is.
        for obj in queryset:
            _record(request, obj, "delete", _deleted(obj))
        super().delete_queryset(request, queryset)
