"""A tool report imported in the background (issue 23: the same machinery as the tickets'):
what is checked in the upload's request, the job handed to a worker, its live progress, what
the worker runs and the sweep that leaves no job queued or running for ever. The lifecycle
(lease, claim, retry, failure, sweep) is msp_portal.jobs'; the import itself is the kind's own
(evidence/kinds.py), as the command runs it in the foreground."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from contracts.services.commitments import upload_checked
from msp_portal.jobs import DATABASE_ERRORS, JobKind, LiveProgress, Locks

from .kinds import KINDS, ReportKind
from .models import ToolReport, ToolReportJob
from .problems import problems_count
from .stored import report_date_checked

log = logging.getLogger(__name__)

WAITING_FOR_BROKER = (
    "The task queue is unreachable: the file is kept and the import starts as soon as it is back."
)
FAILED_WORDS = (
    "The import stopped on an error of ours, not of the file: nothing was stored. Upload the "
    "report again; if it fails again, tell us (the error is in the worker's log)."
)
STATEMENT_NEEDED = (
    "Statement: the attestation needs the MSP's statement, in its own words, e.g. "
    "“Every technician with access to your systems signs in with MFA.”"
)


TOOL_REPORT_PROGRESS = LiveProgress("tool-report-progress")


def progress_set(job_id: int, phase: str, done: int, total: int | None) -> None:
    TOOL_REPORT_PROGRESS.set(job_id, phase, done, total)


TOOL_REPORT_JOBS = JobKind(
    name="tool-report",
    lock=Locks.TOOL_REPORT_JOB,
    model=ToolReportJob,
    task="evidence.tasks.tool_report_import_task",
    queued=ToolReportJob.Status.QUEUED,
    running=ToolReportJob.Status.RUNNING,
    failed=ToolReportJob.Status.FAILED,
    waiting_message=WAITING_FOR_BROKER,
    ended_at="finished_at",
    progress=TOOL_REPORT_PROGRESS,
)


# --- In the upload's request ------------------------------------------------------------------


def tool_report_job_create(
    *,
    contract,
    kind: ReportKind,
    upload,
    preset: str,
    report_date: date,
    mapping: dict[str, str],
    statement: str,
    actor,
    via: str,
) -> ToolReportJob:
    """Check what needs no reading of the rows (the layout, the date, the statement, the file's
    type and size), keep the file and queue its import; the worker takes it once this
    transaction commits. Refusals are ValidationErrors in words; the caller checks the
    permission."""
    if kind.layout.preset(preset) is None:
        known = ", ".join(kind.layout.presets)
        raise ValidationError({"preset": f"No layout called '{preset}': choose one of {known}."})
    report_date_checked(contract, report_date)
    statement = (statement or "").strip()[:2000] if kind.statement else ""
    if kind.statement and not statement:
        raise ValidationError({"statement": STATEMENT_NEEDED})
    upload_checked(upload, text_checked=False)  # any encoding: the reader decodes them
    job = ToolReportJob(
        client=contract.client,
        contract=contract,
        kind=kind.kind,
        preset=preset,
        mapping=mapping,
        report_date=report_date,
        statement=statement,
        original_name=PurePath(upload.name).name[:255],
        uploaded_by=actor,
        via=via,
        phase="queued",
    )
    job.file.save(job.original_name, upload, save=False)
    job.save()
    transaction.on_commit(lambda: TOOL_REPORT_JOBS.enqueue(job.pk))
    return job


def tool_report_job_requeue_if_lost(job: ToolReportJob) -> ToolReportJob:
    """On a look at a queued job: if no task is out for it (the broker was down when it was
    queued, or restarted empty), hand it over now."""
    if TOOL_REPORT_JOBS.requeue_if_lost(job.pk):
        job.refresh_from_db()
    return job


def progress_get(job: ToolReportJob) -> dict:
    """What the job's page polls: the row's status, and while it runs the live phase."""
    running = job.status == ToolReportJob.Status.RUNNING
    live = TOOL_REPORT_PROGRESS.get(job.pk) if running else None
    return {
        "phase": job.phase,
        "done": job.rows_done,
        "total": job.rows_total,
        **(live or {}),
        "status": job.status,
        "status_label": job.get_status_display(),
        "finished": job.finished,
        "message": job.message,
        "report": job.report_id,
    }


# --- In the worker ----------------------------------------------------------------------------


def tool_report_job_run(job_id: int) -> ToolReportJob | None:
    """Import one queued tool report, exactly once; a second call for the same job does nothing.

    The runner holds the job's lease from its claim to its end (msp_portal.jobs), so a task
    redelivered after its worker died takes the job over and a duplicate of a live one does
    nothing. The report, its rows and the job's outcome commit together: a worker killed
    midway leaves nothing half done, and the retry imports the file from the start (the same
    file imported twice is answered with the first report)."""
    with TOOL_REPORT_JOBS.leased(job_id) as held:
        if not held:
            return None  # running in a live process; if that one dies, the sweep re-queues
        if not TOOL_REPORT_JOBS.claim(
            job_id, phase="reading the file", message="", started_at=timezone.now()
        ):
            return None
        job = ToolReportJob.objects.select_related("contract__client", "uploaded_by").get(pk=job_id)
        try:
            with transaction.atomic():
                # The import reads the file, then takes the contract's lock to store it (an
                # undo meanwhile does not wait for the reading); under that lock it answers a
                # repeat with the report it repeats, marked so (stored.report_already_imported).
                report = _imported(job)
                repeated = getattr(report, "repeated", False)
                words = outcome_words(job, report, repeated=repeated)
                _finish(job, ToolReportJob.Status.DONE, words, report)
        except ValidationError as refused:
            _finish(job, ToolReportJob.Status.REJECTED, " ".join(refused.messages))
        except DATABASE_ERRORS:
            TOOL_REPORT_JOBS.retry_later(job_id)
            raise  # the task retries with backoff
        except Exception:
            # Words for the page; the error itself goes to the worker's log with the traceback.
            log.exception("tool report import %s failed", job_id)
            _finish(job, ToolReportJob.Status.FAILED, FAILED_WORDS)
            raise
    job.refresh_from_db()
    return job


def _imported(job: ToolReportJob) -> ToolReport:
    kind = KINDS[job.kind]
    extra = {"statement": job.statement} if kind.statement else {}
    with job.file.open("rb") as handle:
        # The kind's reader knows a file's type by its name: the name as uploaded.
        upload = File(handle.file, name=job.original_name)
        return kind.import_report(
            contract=job.contract,
            upload=upload,
            preset=job.preset,
            report_date=job.report_date,
            actor=job.uploaded_by,
            source=job.via,
            mapping=job.mapping,
            progress=lambda phase, done, total: progress_set(job.pk, phase, done, total),
            **extra,
        )


def _finish(job: ToolReportJob, status: str, message: str, report: ToolReport | None = None):
    rows = (report.rows_imported, report.rows_read) if report is not None else (0, None)
    kept = {}
    if report is not None:
        # The report holds its own copy of the file (undone, it takes that copy with it): the
        # upload's copy goes once the import has committed. A refused or failed import keeps it.
        stored, storage = job.file.name, job.file.storage
        transaction.on_commit(lambda: storage.delete(stored))
        kept = {"file": ""}
    ToolReportJob.objects.filter(pk=job.pk).update(
        status=status,
        phase=ToolReportJob.Status(status).label,
        message=message,
        report=report,
        rows_done=rows[0],
        rows_total=rows[1],
        finished_at=timezone.now(),
        **kept,
    )
    progress_set(job.pk, status, 0, None)


def outcome_words(job: ToolReportJob, report: ToolReport, *, repeated: bool) -> str:
    """What the import did, in a sentence: rows imported of read and the problems, or that the
    same report was imported before (`repeated`) and nothing changed."""
    if repeated:
        return (
            f"{job.original_name}: the same report was imported on "
            f"{report.uploaded_at:%-d %B %Y}; nothing changed."
        )
    left_out = problems_count(report.problems)
    named = sum(1 for p in report.problems if "left_out" not in p)
    said = f"{report.original_name}: {report.rows_imported} of {report.rows_read} rows imported"
    if not left_out:
        return said + "."
    listed = "listed below" if named == left_out else f"the first {named} listed below"
    plural = "s" if left_out != 1 else ""
    return f"{said}; {left_out} problem{plural}{' ' if named == left_out else ', '}{listed}."


def tool_report_jobs_sweep() -> dict[str, int]:
    """Imports left 'running' by a dead worker are queued again, and queued ones with no task
    out (the broker was down) handed over. Beat runs it every minute and each worker at start;
    running it twice is harmless."""
    resumed, queued = TOOL_REPORT_JOBS.sweep()
    return {"resumed": resumed, "queued": queued}


def tool_report_job_files_purge(now=None) -> int:
    """Delete the files of uploads refused or failed more than TOOL_REPORT_JOB_FILE_DAYS ago
    (an imported upload's file went at once: its report holds its own copy). The job stays,
    with its message; its page says the file is gone. Returns how many files went. Beat runs
    it daily; running it twice is harmless."""
    from datetime import timedelta

    from django.conf import settings

    before = (now or timezone.now()) - timedelta(days=settings.TOOL_REPORT_JOB_FILE_DAYS)
    ended = ToolReportJob.objects.filter(
        status__in=(ToolReportJob.Status.REJECTED, ToolReportJob.Status.FAILED),
        finished_at__lt=before,
    ).exclude(file="")
    purged = 0
    for job in ended.only("pk", "file"):
        stored, storage = job.file.name, job.file.storage
        # The row first: a file without a row is harmless, a row naming a missing file is not.
        if ToolReportJob.objects.filter(pk=job.pk).exclude(file="").update(file=""):
            storage.delete(stored)
            purged += 1
    return purged
