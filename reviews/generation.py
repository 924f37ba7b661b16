"""Generating a review's PDF: queued from the page, run by a Celery worker with its progress on
the review row (the page polls it), or run in place by `generate_qbr`."""

from __future__ import annotations

import base64

from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from .context import NoFigures, review_content
from .models import Review, ReviewBranding
from .pdf import ChartExportError, review_pdf_render


def branding_of(client) -> tuple[str, str | None]:
    """(paper size, logo as a data URI or None) for the client's PDFs."""
    branding = ReviewBranding.objects.filter(client=client).first()
    if branding is None:
        return ReviewBranding.Paper.A4, None
    logo = None
    if branding.logo:
        with branding.logo.open("rb") as handle:
            logo = f"data:{branding.logo_type};base64," + base64.b64encode(handle.read()).decode()
    return branding.paper, logo


def content_pdf(content: dict, client, progress=None) -> tuple[bytes, int]:
    paper, logo = branding_of(client)
    return review_pdf_render(content, paper=paper, logo_uri=logo, progress=progress)


def review_pdf_request(*, review: Review) -> bool:
    """Queue the PDF unless it is already queued or being made; True when queued now."""
    from .tasks import review_pdf_task

    claimed = (
        Review.objects.filter(pk=review.pk)
        .exclude(pdf_status__in=[Review.PdfStatus.QUEUED, Review.PdfStatus.RUNNING])
        .update(
            pdf_status=Review.PdfStatus.QUEUED,
            pdf_phase="waiting for a worker",
            pdf_progress=0,
            pdf_message="",
        )
    )
    if claimed:
        transaction.on_commit(lambda: review_pdf_task.delay(review.pk))
    return bool(claimed)


def review_pdf_generate(review_id: int) -> str:
    """Make the PDF of a queued review (a redelivered task finds it taken and does nothing)."""
    taken = Review.objects.filter(pk=review_id, pdf_status=Review.PdfStatus.QUEUED).update(
        pdf_status=Review.PdfStatus.RUNNING, pdf_phase="reading the review", pdf_progress=1
    )
    if not taken:
        return "not queued"
    review = Review.objects.select_related("client", "contract__msp", "contract__advisor").get(
        pk=review_id
    )

    running = Review.objects.filter(pk=review_id, pdf_status=Review.PdfStatus.RUNNING)

    def progress(phase: str, percent: int) -> None:
        running.update(pdf_phase=phase, pdf_progress=percent)

    try:
        pdf, pages = content_pdf(review_content(review), review.client, progress)
    except (ChartExportError, NoFigures) as error:
        running.update(pdf_status=Review.PdfStatus.FAILED, pdf_phase="", pdf_message=str(error))
        return "failed"
    except (OperationalError, InterfaceError):
        running.update(pdf_status=Review.PdfStatus.QUEUED, pdf_phase="retrying (database)")
        raise  # the task retries these with backoff
    except Exception as error:
        # Never leave the page's bar running: say it failed, and log the error with the task.
        running.update(
            pdf_status=Review.PdfStatus.FAILED,
            pdf_phase="",
            pdf_message=f"The PDF could not be made ({type(error).__name__}).",
        )
        raise
    name = f"qbr-{review.client.slug}-{review.quarter}-v{review.version}.pdf"
    review.pdf.save(name, ContentFile(pdf), save=False)
    Review.objects.filter(pk=review_id).update(
        pdf=review.pdf.name,
        pdf_status=Review.PdfStatus.DONE,
        pdf_phase="",
        pdf_progress=100,
        pdf_generated_at=timezone.now(),
        pdf_pages=pages,
    )
    return "done"
