"""Generating a review's PDF: queued from the page, run by a Celery worker with its progress on
the review row (the page polls it), or run in place by `generate_qbr`."""

from __future__ import annotations

import base64
import contextlib
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from contracts.models import Calendar
from contracts.models.organisations import logo_kind
from msp_portal.jobs import DATABASE_ERRORS, JobKind, Locks

from . import board
from .context import NoFigures, review_content
from .models import Review, ReviewBranding
from .pdf import ChartExportError, review_pdf_render


def client_country(client, contract=None) -> str:
    """The client's country: as recorded on the organisation, else the country whose holidays
    its contract's calendars keep (when the contract file names one), else unknown."""
    if client.country:
        return client.country
    calendars = Calendar.objects.filter(policy__contract__client=client).exclude(holiday_country="")
    if contract is not None:
        calendars = calendars.filter(policy__contract=contract)
    return (
        calendars.order_by("-policy__effective_from", "pk")
        .values_list("holiday_country", flat=True)
        .first()
        or ""
    )


def _data_uri(field) -> str | None:
    """A stored logo as a data: URI (WeasyPrint fetches nothing else); None when there is none
    or its bytes are no PNG or JPEG."""
    if not field:
        return None
    try:
        with field.open("rb") as handle:
            data = handle.read()
    except OSError:
        return None  # a file gone from the disk: the cover sets the name in type instead
    kind = logo_kind(data[:8])
    return f"data:{kind};base64," + base64.b64encode(data).decode() if kind else None


def branding_of(client, contract=None) -> tuple[str, dict]:
    """(paper size, {"client": logo URI or None, "msp": ...}) for PDFs of the contract's
    reviews. Paper: the contract's layout, else the client's default, else (or when either says
    "from the client's country") Letter in the US and Canada and A4 elsewhere. The client's logo
    is the one uploaded with the layout, else the organisation's own."""
    branding = (contract and ReviewBranding.objects.filter(contract=contract).first()) or (
        ReviewBranding.objects.filter(client=client, contract__isnull=True).first()
    )
    paper = branding.paper if branding else ReviewBranding.Paper.AUTO
    if paper == ReviewBranding.Paper.AUTO:
        paper = board.paper_for(client_country(client, contract))
    logos = {
        "client": _data_uri(branding.logo if branding else None) or _data_uri(client.logo),
        "msp": _data_uri(contract.msp.logo) if contract is not None else None,
    }
    return paper, logos


def content_pdf(content: dict, client, progress=None, contract=None) -> tuple[bytes, int]:
    paper, logos = branding_of(client, contract)
    return review_pdf_render(content, paper=paper, logos=logos, progress=progress)


# A PDF takes a worker and a Chromium for seconds: one that is current (nothing changed since,
# which sets its status back) is not made again within this time, however often it is asked.
REGENERATE_AFTER = timedelta(minutes=5)


def review_pdf_request(*, review: Review) -> bool:
    """Queue the PDF unless it is already queued or being made, or was made moments ago and
    is still current; True when queued now. The last PDF stays downloadable meanwhile."""
    claimed = (
        Review.objects.filter(pk=review.pk)
        .exclude(pdf_status__in=[Review.PdfStatus.QUEUED, Review.PdfStatus.RUNNING])
        .exclude(
            pdf_status=Review.PdfStatus.DONE,
            pdf_generated_at__gt=timezone.now() - REGENERATE_AFTER,
        )
        .update(
            pdf_status=Review.PdfStatus.QUEUED,
            pdf_phase="waiting for a worker",
            pdf_progress=0,
            pdf_message="",
        )
    )
    if claimed:
        transaction.on_commit(lambda: review_pdf_enqueue(review.pk))
    return bool(claimed)


REVIEW_PDFS = JobKind(
    name="review-pdf",
    lock=Locks.REVIEW_PDF,
    model=Review,
    task="reviews.tasks.review_pdf_task",
    status="pdf_status",
    phase="pdf_phase",
    message="pdf_message",
    queued=Review.PdfStatus.QUEUED,
    running=Review.PdfStatus.RUNNING,
    failed=Review.PdfStatus.FAILED,
    queued_phase="waiting for a worker",
    failed_phase="",
)


def review_pdf_enqueue(review_id: int) -> bool:
    """Hand a queued PDF to a worker (see msp_portal.jobs.JobKind.enqueue)."""
    return REVIEW_PDFS.enqueue(review_id)


def review_pdfs_sweep() -> int:
    """PDFs left 'running' by a dead worker (nobody holds their lease) or 'queued' with no task
    out: handed to a worker again. Returns how many were handed over."""
    return REVIEW_PDFS.sweep()[1]


def review_pdf_generate(review_id: int) -> str:
    """Make the PDF of a queued review. The worker holds the review's PDF lease while it works,
    so a task redelivered after its worker died takes over the PDF left running, and a duplicate
    of a live task does nothing."""
    with REVIEW_PDFS.leased(review_id) as held:
        if not held:
            return "being made elsewhere"
        return _generate(review_id)


def _generate(review_id: int) -> str:
    if not REVIEW_PDFS.claim(review_id, pdf_phase="reading the review", pdf_progress=1):
        return "not queued"
    review = Review.objects.select_related("client", "contract__msp", "contract__advisor").get(
        pk=review_id
    )

    running = Review.objects.filter(pk=review_id, pdf_status=Review.PdfStatus.RUNNING)

    def progress(phase: str, percent: int) -> None:
        running.update(pdf_phase=phase, pdf_progress=percent)

    try:
        pdf, pages = content_pdf(review_content(review), review.client, progress, review.contract)
    except (ChartExportError, NoFigures) as error:
        running.update(pdf_status=Review.PdfStatus.FAILED, pdf_phase="", pdf_message=str(error))
        return "failed"
    except DATABASE_ERRORS:
        REVIEW_PDFS.retry_later(review_id)
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
    superseded = review.pdf.name  # served until this line's file is recorded, then removed
    review.pdf.save(name, ContentFile(pdf), save=False)
    Review.objects.filter(pk=review_id).update(
        pdf=review.pdf.name,
        pdf_status=Review.PdfStatus.DONE,
        pdf_phase="",
        pdf_progress=100,
        pdf_generated_at=timezone.now(),
        pdf_pages=pages,
    )
    if superseded and superseded != review.pdf.name:
        with contextlib.suppress(OSError):
            review.pdf.storage.delete(superseded)
    return "done"
