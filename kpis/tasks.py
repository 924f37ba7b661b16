"""Celery tasks of the KPI domain: thin interfaces to services, safe to run twice."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from kpis.services.imports import import_run


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=5,
)
def import_run_task(job_id: int) -> str:
    """Run one queued import; a redelivered or repeated task finds it claimed and does nothing."""
    job = import_run(job_id)
    return job.status if job else "already handled"
