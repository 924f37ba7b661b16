"""Celery tasks of disputes: thin interfaces to the services, safe to run twice."""

from celery import shared_task

from msp_portal.jobs import DATABASE_ERRORS


@shared_task(
    ignore_result=True,
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def disputes_settle_overdue_task() -> int:
    """Daily: open disputes past their window follow their contract's rule (a dispute settled
    by a page read meanwhile is not settled twice)."""
    from .services import disputes_settle_overdue

    return disputes_settle_overdue()
