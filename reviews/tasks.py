"""Celery tasks of the review domain: thin interfaces to services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from msp_portal.jobs import DATABASE_ERRORS, JobTask


class ReviewPdfTask(JobTask):
    job = "reviews.generation.REVIEW_PDFS"
    failure_message = "The PDF could not be made ({error})."


@shared_task(
    base=ReviewPdfTask,
    ignore_result=True,  # the review row is the result; publishing never waits on Redis
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=3,
)
def review_pdf_task(review_id: int) -> str:
    """Render one queued review's PDF (the worker keeps its Chromium between tasks)."""
    from .generation import review_pdf_generate

    return review_pdf_generate(review_id)


@shared_task(ignore_result=True)
def review_pdfs_sweep_task() -> int:
    """Beat, every minute, and each worker at start: re-queue PDFs a dead worker left running
    or a broker outage left queued with no task."""
    from .generation import review_pdfs_sweep

    return review_pdfs_sweep()


@shared_task
def reviews_create_drafts() -> int:
    """After each quarter ends, a draft review for every active contract, and an email to the
    people who write it. Runs daily; a quarter that already has a review is left alone."""
    from .drafts import reviews_draft_due

    return reviews_draft_due()
