"""An import as a background job: handed to a worker, its live progress, the failure its task
gives up with, the recompute it asks for, and the sweep that leaves nothing queued or running
for ever (the lifecycle itself is msp_portal.jobs)."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import connection
from django.utils import timezone

from contracts.models import Contract
from kpis.models import ImportJob, RecomputeRequest
from msp_portal.jobs import JobKind, LiveProgress, Locks, is_enqueued, recompute_enqueue

WAITING_FOR_BROKER = (
    "The task queue is unreachable: the file is kept and the import starts as soon as it is back."
)


log = logging.getLogger(__name__)


def import_enqueue(job_id: int) -> bool:
    """Hand a queued import to a worker (see msp_portal.jobs.JobKind.enqueue)."""
    return IMPORT_JOBS.enqueue(job_id)


def import_requeue_if_lost(job: ImportJob) -> ImportJob:
    """On a look at a queued import: if no task is out for it (the broker was down when it was
    queued, or restarted empty), hand it over now."""
    if IMPORT_JOBS.requeue_if_lost(job.pk):
        job.refresh_from_db()
    return job


IMPORT_PROGRESS = LiveProgress("import-progress")


def progress_set(job_id: int, phase: str, done: int, total: int | None) -> None:
    IMPORT_PROGRESS.set(job_id, phase, done, total)


IMPORT_JOBS = JobKind(
    name="import",
    lock=Locks.IMPORT_JOB,
    model=ImportJob,
    task="kpis.tasks.import_run_task",
    queued=ImportJob.Status.QUEUED,
    running=ImportJob.Status.RUNNING,
    failed=ImportJob.Status.FAILED,
    waiting_message=WAITING_FOR_BROKER,
    ended_at="finished_at",
    progress=IMPORT_PROGRESS,
)


def progress_get(job: ImportJob) -> dict:
    live = IMPORT_PROGRESS.get(job.pk) if job.status == ImportJob.Status.RUNNING else None
    base = {"phase": job.phase, "done": job.rows_done, "total": job.rows_total}
    data = {**base, **(live or {})}
    data |= {
        "status": job.status,
        "status_label": job.get_status_display(),
        "finished": job.finished,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "rejected": job.rejected,
        "warnings": job.warnings,
        "message": job.message,
    }
    return data


def recomputes_after_import(job: ImportJob) -> None:
    """Browser and API imports hand the KPIs to a worker; the command and the demo seed
    recompute in the foreground themselves. With the broker down, the recompute requests the
    import committed stay, and the sweep hands them over later."""
    if job.status != ImportJob.Status.DONE or job.via not in (ImportJob.Via.WEB, ImportJob.Via.API):
        return
    client_ids = RecomputeRequest.objects.filter(client_id__in=_clients_of(job)).values_list(
        "client_id", flat=True
    )
    for client_id in sorted(set(client_ids)):
        recompute_enqueue(client_id)


def _clients_of(job: ImportJob) -> list[int]:
    if job.client_id:
        return [job.client_id]
    return list(Contract.objects.filter(msp=job.msp).values_list("client_id", flat=True).distinct())


def imports_sweep() -> dict[str, int]:
    """Hand every orphaned job to a worker again: imports left 'running' by a dead worker
    (nobody holds their lease), imports 'queued' with no task out (the broker was down or
    restarted empty), and recomputes an import asked for that were lost the same way. Beat runs
    it every minute and each worker once at start; running it twice is harmless."""
    resumed, queued = IMPORT_JOBS.sweep()
    return {"resumed": resumed, "queued": queued, "recomputes": recomputes_sweep()}


def recomputes_sweep() -> int:
    """Queue the recompute of every client whose import-made requests have waited too long
    with no recompute running or queued for it."""
    before = timezone.now() - datetime.timedelta(seconds=settings.RECOMPUTE_SWEEP_GRACE_SECONDS)
    client_ids = sorted(
        set(
            RecomputeRequest.objects.filter(requested_at__lt=before).values_list(
                "client_id", flat=True
            )
        )
    )
    queued = 0
    for client_id in client_ids:
        if is_enqueued("recompute", client_id):
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
                "AND objid = %s AND objsubid = 2 AND granted",
                [Locks.RECOMPUTE, client_id],
            )
            if cursor.fetchone():
                continue  # running now
        queued += recompute_enqueue(client_id)
    return queued
