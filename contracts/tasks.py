"""Celery tasks of the contract domain: thin interfaces to services, safe to run twice."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from contracts.services.commitments import commitments_refresh_all


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def commitments_refresh() -> int:
    """Open each commitment's new period when it starts (idempotent: existing ones are kept)."""
    return commitments_refresh_all()
