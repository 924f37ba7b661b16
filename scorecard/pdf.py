"""The comparison as a PDF: the same context the page renders, laid out by WeasyPrint as the
QBR is (reviews/pdf.py: tagged PDF, fetching nothing but the portal's own static files)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from reviews.pdf import PDF_OPTIONS, pdf_document

from .comparison import Comparison
from .measured import quarters_span, recent_quarters


def comparison_context(comparison: Comparison | None) -> dict:
    """What the page and the PDF show: the comparison, and the quarters it measured."""
    if comparison is None:
        return {"cmp": None}
    labels = [s.period_label for s in recent_quarters(comparison.assessment.contract)]
    return {
        "cmp": comparison,
        "columns": list(zip(comparison.candidates, comparison.totals, strict=True)),
        "measured_over": quarters_span(labels) if labels else "",
    }


def pdf_filename(client) -> str:
    return f"provider-scorecard-{client.slug}.pdf"


def comparison_pdf_render(comparison: Comparison) -> bytes:
    """The comparison as PDF bytes."""
    html = render_to_string(
        "scorecard/pdf.html",
        {
            "client": comparison.assessment.client,
            "made_on": timezone.localdate(),
            "pdf": True,
            **comparison_context(comparison),
        },
    )
    return pdf_document(html).write_pdf(**PDF_OPTIONS)
