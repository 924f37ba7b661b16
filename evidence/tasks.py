"""Celery tasks of the evidence domain: thin interfaces to evidence/jobs.py, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from msp_portal.jobs import DATABASE_ERRORS, JobTask


class ToolReportImportTask(JobTask):
    job = "evidence.jobs.TOOL_REPORT_JOBS"
    failure_message = "The import failed ({error}); upload the report again."


@shared_task(
    base=ToolReportImportTask,
    ignore_result=True,  # the job row is the result; publishing never waits on Redis
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=5,
)
def tool_report_import_task(job_id: int) -> str:
    """Import one queued tool report; a redelivered task takes over the job its dead worker left
    running, a duplicate of a live one does nothing."""
    from .jobs import tool_report_job_run

    job = tool_report_job_run(job_id)
    return job.status if job else "already handled"


@shared_task(ignore_result=True)
def tool_report_imports_sweep_task() -> dict[str, int]:
    """Beat, every minute, and each worker at start: re-queue tool report imports a dead worker
    or a broker outage left behind."""
    from .jobs import tool_report_jobs_sweep

    return tool_report_jobs_sweep()


@shared_task(ignore_result=True)
def tool_report_job_files_purge_task() -> int:
    """Beat, daily: the files of refused or failed tool report uploads past their days."""
    from .jobs import tool_report_job_files_purge

    return tool_report_job_files_purge()
