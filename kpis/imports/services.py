"""Imports of ticket exports: create, preview, confirm, run. Views, the API, the command and the
Celery task all come through here."""

from __future__ import annotations

import hashlib
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import polars as pl
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from contracts.models import Contract, Organisation
from kpis.imports.company_routing import clients_assign
from kpis.imports.file_values import file_value_counts
from kpis.imports.ingest.event_log_guess import EventLogEvidence
from kpis.imports.ingest.mapping import Mapping, MappingError, mapping_for_preset, mapping_from_json
from kpis.imports.ingest.parts import lean_read, tickets_normalise_in_parts
from kpis.imports.ingest.presets import PRESETS, preset_guess, value_key
from kpis.imports.ingest.read import ROW, Table, UnusableFile, table_read, table_read_head
from kpis.imports.ingest.timestamps import AmbiguousDates
from kpis.imports.jobs import IMPORT_JOBS, import_enqueue, progress_set, recomputes_after_import
from kpis.imports.mapping_setup import (
    client_zone,
    guessed_mapping,
    mapping_for_header,
    pause_states,
)
from kpis.imports.outcome import import_outcome_record
from kpis.imports.overlap import OverlapFound, overlap_ask, overlap_find, overlap_settle
from kpis.imports.saved_mappings import saved_mapping_for, saved_mapping_save
from kpis.imports.store import _months, tickets_store
from kpis.imports.trail import import_audit
from kpis.models import ImportJob, ImportProblem, RecomputeRequest, Ticket
from msp_portal.jobs import DATABASE_ERRORS, Locks

log = logging.getLogger(__name__)

PREVIEW_ROWS = 200


FAILED_WORDS = (
    "The import stopped on an error of ours, not of the file: nothing was stored. Re-run it "
    "from its page; if it fails again, tell us (the error is in the worker's log)."
)


class ImportRejected(Exception):
    """The file as a whole cannot be imported; nothing was written."""


def import_create(
    *, msp: Organisation, client: Organisation | None, user, via: str, name: str, content
) -> ImportJob:
    """Keep the uploaded file (so an import can be re-run) and open a job awaiting its mapping.
    `content` is bytes or a file (an upload streamed to disk): a file is copied in chunks,
    never read into memory whole."""
    upload = ContentFile(content) if isinstance(content, bytes) else content
    digest, size = hashlib.sha256(), 0
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    job = ImportJob(
        msp=msp,
        client=client,
        uploaded_by=user if user and user.is_authenticated else None,
        via=via,
        original_name=name[:255],
        size=size,
        sha256=digest.hexdigest(),
    )
    job.file.save("upload", upload, save=False)
    job.save()
    import_audit(job, action="upload", changes={"file": [None, job.original_name]})
    return job


@dataclass
class Preview:
    """What the mapping step shows: the first rows, the guessed preset and mapping."""

    table: Table
    mapping: Mapping
    guessed_preset: str
    value_counts: dict[str, list[tuple[str, int, str | None]]]  # field → (raw, count, guess)
    companies: list[tuple[str, int]]
    left_off: dict[str, int] = field(default_factory=dict)  # field → rows of values not listed
    # Why the file is read as an event log though its preset reads one-row exports.
    event_log: EventLogEvidence | None = None


def preview_table(job: ImportJob) -> Table:
    """Only the first rows of the import's file: bounded work in a web request."""
    with job.file.open("rb") as handle:
        return table_read_head(handle, job.original_name, max_rows=PREVIEW_ROWS)


def import_preview(
    job: ImportJob,
    *,
    mapping_json: dict | None = None,
    table: Table | None = None,
    check: bool = True,
) -> Preview:
    """The preview of the first rows and the mapping guessed (or given) for them, with every
    value of the mapped value columns in the whole file."""
    table = table or preview_table(job)
    guessed = preset_guess(table.columns)
    event_log = None
    zone = client_zone(job.msp, job.client) if job.client else "UTC"
    if mapping_json and set(mapping_json) <= {"preset", "timezone", "date_order", "event_log"}:
        # A preset chosen by hand: start from its column guesses.
        chosen = PRESETS.get(mapping_json.get("preset"), guessed)
        mapping = mapping_for_preset(
            chosen, table.columns, timezone=zone, event_log=mapping_json.get("event_log")
        )
        mapping.timezone = mapping_json.get("timezone") or mapping.timezone
        mapping.date_order = mapping_json.get("date_order") or "auto"
    elif mapping_json or job.mapping:
        mapping = mapping_from_json(mapping_json or job.mapping, table.columns, check=check)
    else:
        saved = saved_mapping_for(job, guessed.name)
        if saved:
            mapping = _saved_or_default(saved.mapping, table.columns, guessed, zone)
        else:
            mapping, event_log = guessed_mapping(guessed, table.columns, table.frame, zone)
    if not mapping.pause_states and job.client:
        mapping.pause_states = [value_key(s) for s in pause_states(job.msp, job.client)]
    # Every value of the whole file, not only of the rows shown (kpis/imports/file_values.py).
    whole = file_value_counts(job, mapping.columns)
    counts = {
        field_name: [(raw, count, mapping.value_for(field_name, raw)) for raw, count in listed]
        for field_name, (listed, _) in whole.items()
        if field_name != "company"
    }
    companies = whole["company"][0] if "company" in whole else []
    left_off = {field_name: rows for field_name, (_, rows) in whole.items() if rows}
    return Preview(table, mapping, guessed.name, counts, companies, left_off, event_log)


def _saved_or_default(saved: dict, header, preset, zone) -> Mapping:
    try:
        return mapping_from_json(saved, header)
    except MappingError:
        return mapping_for_preset(preset, header, timezone=zone)


def import_confirm(job: ImportJob, *, mapping: Mapping, user, save_as: str = "") -> ImportJob:
    """Queue the import with this mapping; remember the mapping under a name for the MSP."""
    job.mapping = mapping.to_json()
    job.preset = mapping.preset
    job.mapping_name = save_as
    job.status = ImportJob.Status.QUEUED
    job.phase = "queued"
    job.save()
    if save_as:
        saved_mapping_save(job, name=save_as, mapping=mapping, user=user)
    transaction.on_commit(lambda: import_enqueue(job.pk))
    if not connection.in_atomic_block:
        job.refresh_from_db()  # enqueued already: show whether the broker took it
    return job


# --- Running --------------------------------------------------------------------------------


def import_run(job_id: int) -> ImportJob | None:
    """Run a queued import to the end, exactly once; a second call for the same job is a no-op.

    The runner holds the job's lease (see msp_portal.jobs) from its claim to its end, so a
    task redelivered after its worker died takes the job over, and a duplicate of a task still
    running elsewhere does nothing. Everything the import writes (tickets, problems, counts,
    recompute marks) commits together, so a crash leaves no half import behind and a retry
    starts clean.
    """
    with IMPORT_JOBS.leased(job_id) as held:
        if not held:
            return None  # running in a live process; if that one dies, the sweep re-queues
        if not IMPORT_JOBS.claim(job_id, phase="reading", message="", started_at=timezone.now()):
            return None
        job = ImportJob.objects.select_related("msp", "client").get(pk=job_id)
        try:
            with transaction.atomic():
                ImportProblem.objects.filter(job=job).delete()
                _run(job)
        except ImportRejected as rejected:
            _finish(job, ImportJob.Status.REJECTED, str(rejected))
            return job
        except OverlapFound as found:  # nothing stored: the question waits on the job's page
            overlap_ask(job, found.facts)
            return job
        except DATABASE_ERRORS:
            IMPORT_JOBS.retry_later(job_id)
            raise  # the task retries with backoff
        except Exception:
            # Words for the page; the error itself goes to the worker's log with the traceback.
            log.exception("import %s failed", job_id)
            _finish(job, ImportJob.Status.FAILED, FAILED_WORDS)
            raise
    job.refresh_from_db()
    recomputes_after_import(job)
    return job


# --- The sweep: nothing stays queued or running forever ---------------------------------------


def _finish(job: ImportJob, status: str, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, phase=status, message=message, finished_at=timezone.now()
    )
    progress_set(job.pk, status, 0, None)
    job.refresh_from_db()


class _Phases:
    """Seconds spent per phase, kept on the job: where an import's time went."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)


def _run(job: ImportJob) -> None:
    phase = _Phases()
    progress_set(job.pk, "reading", 0, None)
    with phase("read"):
        with job.file.open("rb") as handle:
            content = handle.read()
        try:
            table = table_read(content, job.original_name, **lean_read(job.mapping))
            mapping = mapping_from_json(job.mapping, table.columns)
        except (UnusableFile, MappingError) as error:
            raise ImportRejected(str(error)) from None
        del content
        # Only the mapped columns go on: the others would be held through the whole import.
        frame = table.frame.select(list(dict.fromkeys([*mapping.columns.values(), ROW])))
        warnings_read = table.warnings
        del table
    total = frame.height
    progress_set(job.pk, "checking rows", 0, total)
    with phase("check"):
        try:
            normalised = tickets_normalise_in_parts(frame, mapping)
        except AmbiguousDates as error:
            raise ImportRejected(f"{job.original_name}: {error}") from None
        del frame
        tickets, extra_problems, zones = clients_assign(job, normalised.tickets, mapping)
        problems = pl.concat([normalised.problems, extra_problems]).sort("row", nulls_last=True)
        unmapped = normalised.unmapped
        del normalised  # its tickets are a second copy of `tickets`
    progress_set(job.pk, "storing tickets", total // 2, total)
    with phase("store"):
        with connection.cursor() as cursor:
            # One import at a time per client: the store compares against what is stored.
            for client_id in sorted(zones):
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", [Locks.IMPORT_CLIENT, client_id]
                )
        # Tickets another source holds already: ask, or replace them (kpis/imports/overlap.py).
        replaced = overlap_settle(
            job, tickets, source_system=mapping.source_system, zone_by_client=zones
        )
        result = tickets_store(
            tickets, source_system=mapping.source_system, job_id=job.pk, zone_by_client=zones
        )
        if replaced is not None:
            result.months |= _months(replaced, zones)
    with phase("problems"):
        import_outcome_record(job, tickets, result.months)
        _problems_save(job, problems)
        RecomputeRequest.objects.bulk_create(
            [RecomputeRequest(client_id=c, month=m) for c, m in sorted(result.months)],
            update_conflicts=True,
            unique_fields=["client", "month"],
            update_fields=["requested_at"],
        )
    errors = problems.filter(pl.col("severity") == "error")
    warnings = problems.height - errors.height
    message = "; ".join(warnings_read)
    if unmapped:
        listed = ", ".join(
            f"{name}: " + ", ".join(f"'{v}' ×{n}" for v, n in values.items())
            for name, values in unmapped.items()
        )
        message = "; ".join(filter(None, [message, f"unmapped values ({listed})"]))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE,
        phase="done",
        rows_total=total,
        rows_done=total,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        rejected=errors["row"].n_unique(),
        warnings=warnings,
        phase_seconds=phase.seconds,
        message=message,
        finished_at=timezone.now(),
    )
    import_audit(
        job,
        action="complete",
        client_ids=sorted(zones),
        changes={
            "file": [None, job.original_name],
            "tickets created": [None, result.created],
            "tickets updated": [None, result.updated],
            "rows rejected": [None, errors["row"].n_unique()],
        },
    )
    progress_set(job.pk, "done", total, total)


def _problems_save(job: ImportJob, problems: pl.DataFrame) -> None:
    batch = []
    for row, column, value, reason, severity in problems.iter_rows():
        batch.append(
            ImportProblem(
                job=job,
                row=row,
                column=(column or "")[:200],
                value=(value or "")[:500],
                reason=reason,
                severity=severity,
            )
        )
        if len(batch) >= 5000:
            ImportProblem.objects.bulk_create(batch)
            batch = []
    ImportProblem.objects.bulk_create(batch)


def mapping_prepare(
    job: ImportJob,
    *,
    preset: str | None = None,
    mapping_json: dict | None = None,
    timezone_name: str | None = None,
    date_order: str | None = None,
    companies: dict[str, str | None] | None = None,
) -> Mapping:
    """The mapping an import without a mapping step runs with: the one given, or the preset's
    (named, else guessed from the header), with the time zone, the date order and the client's
    pause states filled in. Raises UnusableFile or MappingError, naming what is wrong."""
    with job.file.open("rb") as handle:
        table = table_read_head(handle, job.original_name, max_rows=PREVIEW_ROWS)
    return mapping_for_header(
        table.columns,
        sample=table.frame,
        msp=job.msp,
        client=job.client,
        preset=preset,
        mapping_json=mapping_json,
        timezone_name=timezone_name,
        date_order=date_order,
        companies=companies,
    )


def import_reject(job: ImportJob, error: Exception) -> ImportJob:
    """The file as a whole cannot be imported: say why on the job; its file stays for a re-run."""
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.REJECTED,
        phase="rejected",
        message=str(error),
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def import_file_sync(
    *,
    msp: Organisation,
    client: Organisation | None,
    user,
    via: str,
    name: str,
    content: bytes,
    on_overlap: str = ImportJob.OnOverlap.ASK,
    **mapping_options,
) -> ImportJob:
    """Create, map and run an import in this process (the command, the demo seed).
    `mapping_options` are those of `mapping_prepare`; `on_overlap` what to do when its tickets
    overlap another source's (kpis/imports/overlap.py)."""
    job = import_create(msp=msp, client=client, user=user, via=via, name=name, content=content)
    del content  # the job's file holds it now; the run reads it from there
    try:
        mapping = mapping_prepare(job, **mapping_options)
    except (UnusableFile, MappingError) as error:
        return import_reject(job, error)
    job.mapping, job.preset, job.status = mapping.to_json(), mapping.preset, ImportJob.Status.QUEUED
    job.on_overlap = on_overlap
    job.save()
    return import_run(job.pk) or job


def import_overlap_precheck(job: ImportJob, mapping: Mapping) -> dict | None:
    """The overlap check alone, before the import is queued, so the API can answer it at once
    (kpis/imports/overlap.py); a file the run would reject is left for the run to name."""
    clients = Ticket.objects.filter(
        client_id__in=[job.client_id] if job.client_id else _msp_clients(job)
    )
    if not clients.exclude(source_system=mapping.source_system).exists():
        return None  # nothing to overlap with: the file is not read twice
    try:
        with job.file.open("rb") as handle:
            table = table_read(handle.read(), job.original_name, **lean_read(mapping.to_json()))
        frame = table.frame.select(list(dict.fromkeys([*mapping.columns.values(), ROW])))
        normalised = tickets_normalise_in_parts(frame, mapping)
    except Exception as error:  # the run names what is wrong with the file, in its words
        log.info("import %s: overlap not checked before queueing (%s)", job.pk, error)
        return None
    tickets, _problems, zones = clients_assign(job, normalised.tickets, mapping)
    return overlap_find(tickets, source_system=mapping.source_system, zone_by_client=zones)


def _msp_clients(job: ImportJob) -> list[int]:
    return list(Contract.objects.filter(msp=job.msp).values_list("client_id", flat=True))
