"""Imports in the contract's audit trail: a file uploaded, an import completed (an undo records
itself, kpis/imports/undo.py), each in the trail of every client whose tickets it holds."""

from __future__ import annotations

from contracts.models import AuditEvent, Contract
from contracts.services.audit import audit_record
from kpis.models import ImportJob

SOURCES = set(AuditEvent.Source.values)


def import_audit(
    job: ImportJob, *, action: str, changes: dict, client_ids: list[int] | None = None
) -> None:
    """Record `action` on the import for each client (the job's own when none are named), under
    the client's contract with the importing MSP."""
    clients = client_ids if client_ids is not None else [job.client_id] if job.client_id else []
    source = job.via if job.via in SOURCES else AuditEvent.Source.COMMAND
    contracts = {
        c.client_id: c
        for c in Contract.objects.filter(client_id__in=clients, msp=job.msp)
        .select_related("client")
        .order_by("starts")  # the newest contract of each client wins
    }
    for client_id in clients or [None]:
        contract = contracts.get(client_id)
        audit_record(
            actor=job.uploaded_by,
            source=source,
            contract=contract,
            client=contract.client if contract else None,
            action=action,
            obj=job,
            changes=changes,
        )
