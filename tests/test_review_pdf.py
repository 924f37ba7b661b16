"""The board PDF of a review: rendered by WeasyPrint with kaleido's charts, read back with
poppler; its layout (paper, logo), and a worker making it with progress."""

from __future__ import annotations

import io
import json
import subprocess
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.urls import reverse

from contracts.models import AuditEvent
from contracts.templatetags.portal import figure_value
from kpis.metrics.registry import SCORECARD
from kpis.models import Ticket
from msp_portal.celery import app
from reviews.context import review_data_build
from reviews.models import ActionItem, Review
from reviews.pdf import ChartExportError, chart_svg

from .reviews_support import PNG_1PX, draft, needs_pdf_tools
from .test_recompute import import_sample


def test_without_a_browser_the_pdf_fails_with_what_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no chromium on it
    with pytest.raises(ChartExportError, match="apt-get install chromium"):
        chart_svg({"data": [], "layout": {}})


def test_the_pdf_layout_takes_a_paper_size_and_only_a_real_image_as_logo(acme, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reviews.models import ReviewBranding

    url = reverse("review_list", args=[acme.acme.slug])
    advisor = client_for(acme.advisor)
    fake = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = advisor.post(url, {"paper": "Letter", "logo": fake})
    assert response.status_code == 200 and "must be a PNG or JPEG" in response.content.decode()
    assert not ReviewBranding.objects.exists()
    logo = SimpleUploadedFile("logo.png", PNG_1PX, content_type="image/png")
    assert advisor.post(url, {"paper": "Letter", "logo": logo}).status_code == 302
    branding = ReviewBranding.objects.get(client=acme.acme)
    assert (branding.paper, branding.logo_type) == ("Letter", "image/png")
    event = AuditEvent.objects.filter(object_type="review branding").latest("pk")
    assert event.actor == acme.advisor and event.action == "create"
    assert event.changes == {"paper": [None, "Letter"], "logo": [None, "logo.png"]}
    assert advisor.post(url, {"paper": "A4"}).status_code == 302
    event = AuditEvent.objects.filter(object_type="review branding").latest("pk")
    assert (event.action, event.changes) == ("update", {"paper": ["Letter", "A4"]})
    assert client_for(acme.owner).post(url, {"paper": "A4"}).status_code == 403


def test_without_a_browser_the_queued_pdf_fails_and_says_so_on_the_page(
    acme, monkeypatch, tmp_path, client_for
):
    from reviews.generation import review_pdf_generate

    review = draft(acme)
    Review.objects.filter(pk=review.pk).update(pdf_status=Review.PdfStatus.QUEUED)
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert review_pdf_generate(review.pk) == "failed"
    state = (
        client_for(acme.owner)
        .get(reverse("review_pdf_status", args=[acme.acme.slug, review.pk]))
        .json()
    )
    assert state["status"] == "failed" and "apt-get install chromium" in state["message"]
    assert review_pdf_generate(review.pk) == "not queued"  # a redelivered task does nothing


@needs_pdf_tools
def test_generate_qbr_writes_a_board_pdf_with_kpi_reports_figures(acme, tmp_path):
    from django.core.files.base import ContentFile

    from reviews.models import ReviewBranding

    branding = ReviewBranding(client=acme.acme, paper="Letter", logo_type="image/png")
    branding.logo.save("logo.png", ContentFile(PNG_1PX))
    # The worst breach gets a hostile title: the PDF must print it, not lay it out as HTML.
    worst = review_data_build(acme.acme_contract, "2025-Q3")["breaches"][0]
    Ticket.objects.filter(pk=worst["ticket_id"]).update(title="<script>x</script><b>y")
    output = tmp_path / "qbr.pdf"
    out = io.StringIO()
    call_command(
        "generate_qbr",
        "--client",
        acme.acme.slug,
        "--quarter",
        "2025-Q3",
        "--output",
        str(output),
        stdout=out,
    )
    assert "2025-Q3 v1 (draft)" in out.getvalue()
    report = io.StringIO()
    call_command(
        "kpi_report",
        "--client",
        acme.acme.slug,
        "--period",
        "2025-Q3",
        "--format",
        "json",
        stdout=report,
    )
    figures = json.loads(report.getvalue())
    text = subprocess.run(
        ["pdftotext", "-layout", str(output), "-"], capture_output=True, text=True, check=True
    ).stdout
    for measure in SCORECARD:
        shown = figure_value(figures[measure.key], measure.unit)
        assert shown in text, f"{measure.key}: {shown} not in the PDF"
    for heading in (
        "In this pack",
        "Scorecard",
        "Executive summary",
        "Key figures",
        "Worst SLA breaches",
        "Recurring risks",
        "Commitments",
        "Recommendations and roadmap",
        "Page 3 of",
    ):
        assert heading in text, heading
    info = subprocess.run(["pdfinfo", str(output)], capture_output=True, text=True).stdout
    assert "612 x 792 pts (letter)" in info  # the client's paper size
    fonts = subprocess.run(["pdffonts", str(output)], capture_output=True, text=True).stdout
    embedded = [line.split()[-5] for line in fonts.splitlines()[2:]]
    assert embedded and set(embedded) == {"yes"}, fonts  # every font embedded
    images = subprocess.run(["pdfimages", "-list", str(output)], capture_output=True, text=True)
    assert len(images.stdout.splitlines()) == 3  # header, rule, and the cover's logo
    pages = _pages_as_png(output, tmp_path)
    assert len(pages) >= 8
    # The chart pages: drawn charts colour a good part of the page; titles alone would not.
    titles = ("SLA compliance by priority", "SLA compliance by month", "Quality of service")
    chart_pages = [
        i
        for i, page_text in enumerate(_page_texts(output))
        if any(title in page_text for title in titles)
    ]
    assert chart_pages, "no page carries the charts"
    for index in chart_pages:
        assert _coloured(pages[index]) > 0.02, f"page {index + 1}: its charts look blank"


def _pages_as_png(pdf: Path, folder: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))


def _page_texts(pdf: Path) -> list[str]:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout.split("\f")


def _coloured(png: Path) -> float:
    """Share of the page's pixels in colour. Text, tables and headings are black or grey (under
    1% of a page in colour, status badges included); a page of drawn charts is 2.5–12% (line
    charts sharing the page with a table colour the least)."""
    from PIL import Image

    saturation = Image.open(png).convert("HSV").getchannel("S").histogram()
    return sum(saturation[60:]) / sum(saturation)


@needs_pdf_tools
@pytest.mark.django_db(transaction=True)
def test_a_worker_makes_the_pdf_with_progress_and_the_page_serves_it(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    review = draft(world)
    advisor = client_for(world.advisor)
    args = [world.acme.slug, review.pk]
    app.control.purge()
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        assert advisor.post(reverse("review_pdf", args=args)).status_code == 302
        seen, deadline = set(), time.monotonic() + 120
        while True:
            state = advisor.get(reverse("review_pdf_status", args=args)).json()
            seen.add(state["status"])
            if state["status"] in ("done", "failed"):
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
    assert state["status"] == "done", state
    assert state["pages"] >= 8
    response = advisor.get(state["url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert ActionItem.objects.count() == 0  # nothing else was written on the way
