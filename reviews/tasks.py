"""Celery tasks of the review domain: thin interfaces to services, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=3,
)
def review_pdf_task(review_id: int) -> str:
    """Render one queued review's PDF (the worker keeps its Chromium between tasks)."""
    from .generation import review_pdf_generate

    return review_pdf_generate(review_id)


@shared_task
def reviews_create_drafts() -> int:
    """After each quarter ends, a draft review for every active contract, and an email to the
    people who write it. Runs daily; a quarter that already has a review is left alone."""
    from .drafts import reviews_draft_due

    return reviews_draft_due()
