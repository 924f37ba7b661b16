"""Undo an import: the tickets it created are removed, those it updated get back the values they
had before it, those it deleted (replacing another source's) come back; the months touched are
recomputed. What an undo needs is kept as the import writes (ImportUndoRow): the stored row of
every ticket it updated or deleted, as it was, in one JSON document per ticket.

Everything happens in one transaction under the clients' import locks, so a process killed
mid-undo leaves the import as it was, and no import of those clients runs alongside."""

from __future__ import annotations

import datetime

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contracts.models import Contract
from contracts.services.audit import audit_record
from kpis.imports.jobs import _clients_of
from kpis.imports.overlap import spans_frame
from kpis.models import ImportJob, ImportUndoRow, RecomputeRequest, Ticket
from msp_portal.jobs import Locks

# Tables whose rows belong to one ticket (`client_id` and `ticket_id` columns, read by their
# index in that order) and are written by the import with it: each is kept in the
# before-document under its table name and restored with the ticket. kpis_ticketevent: an
# event log's updates (history_store.py). kpis_ticketclock is not one: the recompute after an
# undo rebuilds the clocks.
TICKET_COMPANIONS: tuple[str, ...] = ("kpis_ticketevent",)


class UndoRefused(Exception):
    """This import cannot be undone now; the message says why and what to do."""


def ticket_document(alias: str) -> str:
    """SQL for the before-document of the ticket row `alias`: the row itself and its
    companions' rows."""
    parts = [f"'ticket', to_jsonb({alias})"]
    for table in TICKET_COMPANIONS:
        parts.append(
            f"'{table}', (SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]'::jsonb) FROM {table} c "
            f"WHERE c.client_id = {alias}.client_id AND c.ticket_id = {alias}.id)"
        )
    return f"jsonb_build_object({', '.join(parts)})"


def undo_log_updates(cursor, *, job_id: int | None, source_system: str) -> None:
    """The store's hook, run just before it updates the changed tickets (staged in
    ticket_staging): keep each one's stored row as it is now."""
    if job_id is None:
        return
    cursor.execute(
        "INSERT INTO kpis_importundorow (job_id, ticket_id, action, before, before_job_id) "
        f"SELECT %s, t.id, 'updated', {ticket_document('t')}, t.import_job_id "
        "FROM kpis_ticket t JOIN ticket_staging s USING (client_id, external_id) "
        "WHERE t.source_system = %s",
        [job_id, source_system],
    )


def undo_deadline(job: ImportJob) -> datetime.datetime | None:
    """Until when the import can be undone."""
    ended = job.finished_at or job.created_at
    return ended + datetime.timedelta(days=settings.IMPORT_UNDO_DAYS) if ended else None


def undo_refusal(job: ImportJob) -> str | None:
    """Why this import cannot be undone now, in words; None when it can."""
    if job.status == ImportJob.Status.UNDONE:
        return f"Import {job.pk} was undone already."
    if job.status != ImportJob.Status.DONE:
        return f"Import {job.pk} is {job.get_status_display().lower()}: it stored nothing to undo."
    deadline = undo_deadline(job)
    if deadline and deadline < timezone.now():
        return (
            f"Import {job.pk} finished more than {settings.IMPORT_UNDO_DAYS} days ago: "
            "it can no longer be undone."
        )
    later = _later_imports(job)
    if later:
        named = ", ".join(f"import {pk}" for pk in later)
        return f"Later imports changed or replaced tickets of import {job.pk}: undo {named} first."
    return None


def _later_imports(job: ImportJob) -> list[int]:
    """Imports, not undone, that wrote over this one's tickets (their before-rows name it), or
    that stored again tickets this one deleted (restoring those would clash)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT job_id FROM kpis_importundorow WHERE before_job_id = %s "
            "AND job_id <> %s",
            [job.pk, job.pk],
        )
        later = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT DISTINCT t.import_job_id FROM kpis_importundorow u JOIN kpis_ticket t "
            "ON t.client_id = (u.before->'ticket'->>'client_id')::bigint "
            "AND t.source_system = u.before->'ticket'->>'source_system' "
            "AND t.external_id = u.before->'ticket'->>'external_id' "
            "WHERE u.job_id = %s AND u.action = 'deleted'",
            [job.pk],
        )
        later |= {row[0] for row in cursor.fetchall() if row[0] is not None}
    return sorted(later)


def import_undo(*, job: ImportJob, user, source: str) -> set[tuple[int, str]]:
    """Undo the import in one transaction; returns the (client, month) pairs to recompute
    (requested in the same transaction). Raises UndoRefused, naming why."""
    with transaction.atomic():
        client_ids = sorted(_clients_of(job))
        with connection.cursor() as cursor:
            for client_id in client_ids:  # in id order, as the import takes them
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", [Locks.IMPORT_CLIENT, client_id]
                )
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        refusal = undo_refusal(job)
        if refusal:
            raise UndoRefused(refusal)
        spans = _undo_rows(job)
        months = _months_of(spans, job, client_ids)
        RecomputeRequest.objects.bulk_create(
            [RecomputeRequest(client_id=c, month=m) for c, m in sorted(months)],
            update_conflicts=True,
            unique_fields=["client", "month"],
            update_fields=["requested_at"],
        )
        ImportUndoRow.objects.filter(job=job).delete()  # done with: an undo is not redone
        before = {"status": job.status}
        job.status, job.phase = ImportJob.Status.UNDONE, "undone"
        job.undone_at = timezone.now()
        job.undone_by = user if user is not None and user.is_authenticated else None
        job.save(update_fields=["status", "phase", "undone_at", "undone_by"])
        contract = (
            Contract.objects.filter(client=job.client, msp=job.msp).order_by("-starts").first()
            if job.client_id
            else None
        )
        audit_record(
            actor=user,
            source=source,
            contract=contract,
            client=job.client,
            action="undo import",
            obj=job,
            changes={
                "status": [before["status"], job.status],
                "tickets removed": [job.created, 0],
                "tickets restored": [job.updated, 0],
                "months recomputed": [len(months), 0],
            },
        )
    return months


def _undo_rows(job: ImportJob) -> pl.DataFrame:
    """Remove, restore, re-insert; the spans (client, created, resolved) of every ticket
    touched, as it was and as it is, for the months to recompute."""
    columns = [f.column for f in Ticket._meta.concrete_fields if not f.primary_key]
    spans: list[tuple] = []
    with connection.cursor() as cursor:
        # Created by this import: written by it and not among the ones it updated. The clock and
        # the companions' rows of a removed ticket go with it.
        # A set difference, not NOT EXISTS: the undo rows were just written and have no
        # statistics, and a nested anti-join over 150,000 of them took minutes.
        cursor.execute(
            "DELETE FROM kpis_ticket t USING (SELECT id FROM kpis_ticket WHERE import_job_id = %s "
            "EXCEPT SELECT ticket_id FROM kpis_importundorow WHERE job_id = %s "
            "AND action = 'updated') created WHERE t.id = created.id "
            "RETURNING t.id, t.client_id, t.created_at, t.resolved_at",
            [job.pk, job.pk],
        )
        removed = cursor.fetchall()
        spans += [row[1:] for row in removed]
        gone = [row[0] for row in removed]
        for table in ("kpis_ticketclock", *TICKET_COMPANIONS):
            cursor.execute(f"DELETE FROM {table} WHERE ticket_id = ANY(%s)", [gone])
        # Updated by it: the values as they are now (their months), then as they were.
        cursor.execute(
            "SELECT t.client_id, t.created_at, t.resolved_at FROM kpis_ticket t JOIN "
            "kpis_importundorow u ON u.ticket_id = t.id WHERE u.job_id = %s "
            "AND u.action = 'updated'",
            [job.pk],
        )
        spans += cursor.fetchall()
        assignments = ", ".join(f"{c} = r.{c}" for c in columns)
        cursor.execute(
            f"UPDATE kpis_ticket t SET {assignments} FROM kpis_importundorow u CROSS JOIN LATERAL "
            "jsonb_populate_record(NULL::kpis_ticket, u.before->'ticket') r "
            "WHERE u.job_id = %s AND u.action = 'updated' AND t.id = u.ticket_id "
            "RETURNING t.client_id, t.created_at, t.resolved_at",
            [job.pk],
        )
        spans += cursor.fetchall()
        # Deleted by it (another source's, replaced): back with their own ids.
        cursor.execute(
            "INSERT INTO kpis_ticket SELECT (jsonb_populate_record(NULL::kpis_ticket, "
            "u.before->'ticket')).* FROM kpis_importundorow u WHERE u.job_id = %s "
            "AND u.action = 'deleted' RETURNING client_id, created_at, resolved_at",
            [job.pk],
        )
        spans += cursor.fetchall()
        for table in TICKET_COMPANIONS:
            cursor.execute(
                f"DELETE FROM {table} WHERE ticket_id IN (SELECT ticket_id FROM "
                "kpis_importundorow WHERE job_id = %s AND action = 'updated')",
                [job.pk],
            )
            cursor.execute(
                f"INSERT INTO {table} SELECT (jsonb_populate_recordset(NULL::{table}, "
                f"u.before->'{table}')).* FROM kpis_importundorow u WHERE u.job_id = %s",
                [job.pk],
            )
    return spans_frame(spans)


def _months_of(spans: pl.DataFrame, job: ImportJob, client_ids: list[int]) -> set:
    from kpis.imports.store import _months  # the store's rule, so undo and import agree

    contracts = Contract.objects.filter(client_id__in=client_ids, msp=job.msp).order_by("starts")
    zones = {c.client_id: c.timezone for c in contracts}  # the latest contract's, as imports
    return _months(spans, zones)


def undo_rows_purge() -> int:
    """Drop what imports past the undo window kept for an undo: they can no longer be undone."""
    cutoff = timezone.now() - datetime.timedelta(days=settings.IMPORT_UNDO_DAYS)
    deleted, _ = ImportUndoRow.objects.filter(job__finished_at__lt=cutoff).delete()
    return deleted
