"""In real Chromium, with a real Celery worker: the advisor writes commentary, publishes, waits
for the PDF and downloads it; a share link opens the review logged out and stops working once it
has expired. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone

from msp_portal.celery import app
from reviews import services
from reviews.models import Review, ShareLink

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page
from .test_recompute import import_sample

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def test_the_advisor_publishes_downloads_the_pdf_and_shares_a_link_that_expires(
    world, browser, live_server, tmp_path
):
    import_sample(world, "connectwise_service_tickets.csv")
    review, _ = services.review_draft_ensure(contract=world.acme_contract, quarter="2025-Q3")
    url = f"{live_server.url}{reverse('review_detail', args=[world.acme.slug, review.pk])}"
    page, errors = logged_in_page(browser, live_server, world.advisor)
    app.control.purge()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        page.goto(url)
        page.wait_for_selector("#chart-priority .main-svg", timeout=15_000)
        assert page.locator(".modebar").count() == 0  # no Plotly toolbar, no cloud link
        page.fill("#id_advisor_commentary", "Backups failed twice: the MSP replaces the NAS.")
        page.fill("#id_attendees", "Ada Clark\nOlivia Owens")
        page.click("#save-review")
        page.wait_for_selector("text=Saved.")
        page.click("#publish")
        page.wait_for_selector("#empty-sections")  # asked first, with what is still empty
        assert "The MSP's commentary" in page.inner_text("#empty-sections")
        page.screenshot(path=str(SCREENSHOTS / "review-publish-confirm.png"), full_page=True)
        page.click("#publish-confirm")
        page.wait_for_selector("text=Published: its figures and text are frozen")
        page.wait_for_selector("#pdf-download", timeout=120_000)  # the page follows the worker
        with page.expect_download() as download_info:
            page.click("#pdf-download")
        pdf = download_info.value.path().read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    review.refresh_from_db()
    assert review.published and review.pdf_pages >= 8
    assert "the MSP replaces the NAS" in review.frozen["advisor_commentary"]
    page.screenshot(path=str(SCREENSHOTS / "review-published.png"), full_page=True)

    page.fill("#share-days", "3")
    page.click("#share-create")
    share_url = page.get_attribute("#share-url", "href")
    stranger = browser.new_context().new_page()  # no session: logged out
    response = stranger.goto(share_url)
    assert response.status == 200
    assert stranger.locator("h1").inner_text().startswith(world.acme.name)
    assert "the MSP replaces the NAS" in stranger.content()
    stranger.wait_for_selector("#chart-volume .main-svg", timeout=15_000)
    stranger.screenshot(path=str(SCREENSHOTS / "review-shared.png"), full_page=True)

    ShareLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = stranger.goto(share_url)
    assert response.status == 410
    assert "expired" in stranger.content()
    assert Review.objects.get(pk=review.pk).published
    assert errors == []


def test_a_review_fits_a_phone(world, browser, live_server):
    import_sample(world, "connectwise_service_tickets.csv")
    review, _ = services.review_draft_ensure(contract=world.acme_contract, quarter="2025-Q3")
    page, errors = logged_in_page(browser, live_server, world.owner, width=390)
    page.goto(f"{live_server.url}{reverse('review_detail', args=[world.acme.slug, review.pk])}")
    page.wait_for_selector("#chart-times .main-svg", timeout=15_000)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.screenshot(path=str(SCREENSHOTS / "review-390.png"), full_page=True)
    assert overflow <= 0
    assert errors == []
