"""In real Chromium: MSP staff upload a HaloPSA export of tickets already imported from
ConnectWise, get the overlap question instead of 4,155 tickets, choose to replace, and undo the
replacement from the import's page. A real Celery worker runs the import."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect

from kpis.models import ImportJob, Ticket
from msp_portal.celery import app

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page
from .test_import import SAMPLES, run_import

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def _sources(client) -> dict[str, int]:
    tickets = Ticket.objects.filter(client=client)
    return {s: tickets.filter(source_system=s).count() for s in ("connectwise", "halopsa")}


def test_staff_get_the_overlap_question_replace_and_undo_the_replacement(
    world, live_server, browser
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    run_import(SAMPLES / "connectwise_service_tickets.csv", world.acme.slug, "--no-recompute")
    first = ImportJob.objects.get()
    page, errors = logged_in_page(browser, live_server, world.msp_staff)
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        page.goto(f"{live_server.url}/imports/new/")
        page.select_option("#target", label=f"{world.acme.name} (from {world.northwind.name})")
        page.set_input_files("#file", str(SAMPLES / "halopsa_tickets.csv"))
        page.click("text=Upload and map columns")
        page.wait_for_url("**/mapping/")
        page.click("button[value=confirm]")
        page.wait_for_url("**/imports/*/")
        # The worker stops before storing; the page reloads to show the question.
        question = page.locator("#overlap")
        question.wait_for(timeout=60_000)
        text = question.inner_text()
        assert "These tickets look like ones already imported" in text
        assert "ConnectWise" in text and f"import {first.pk}" in text
        assert "connectwise_service_tickets.csv" in text
        assert "2025-07-" in text and "2026-06-" in text
        assert page.locator("[data-field=status_label]").inner_text().startswith("Waiting")
        assert _sources(world.acme) == {"connectwise": 2077, "halopsa": 0}
        page.screenshot(path=str(SCREENSHOTS / "import-overlap-question.png"), full_page=True)

        page.click("button[value=replace]")
        # The done page (after the progress script reloads): the counts with their separators.
        expect(page.locator("#done [data-field=created]")).to_have_text("2,078", timeout=60_000)
        assert _sources(world.acme) == {"connectwise": 0, "halopsa": 2078}
        page.screenshot(path=str(SCREENSHOTS / "import-replaced.png"), full_page=True)

        page.click("text=Undo…")
        page.wait_for_url("**/undo/")
        assert "The 2,078 tickets this import created are removed." in page.inner_text("main")
        assert "The other source’s tickets it replaced come back." in page.inner_text("main")
        page.screenshot(path=str(SCREENSHOTS / "import-undo-confirm.png"), full_page=True)
        page.click("button:has-text('Undo the import')")
        page.wait_for_url("**/imports/*/")
        assert "Undone on" in page.inner_text("main")
        assert page.locator("[data-field=status_label]").inner_text() == "Undone"
        page.screenshot(path=str(SCREENSHOTS / "import-undone.png"), full_page=True)
    assert _sources(world.acme) == {"connectwise": 2077, "halopsa": 0}
    assert errors == []
