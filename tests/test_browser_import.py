"""In real Chromium: MSP staff upload a sample, adjust the mapping, confirm, watch the progress
bar reach done, and download the problem report. A real Celery worker runs the import."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from kpis.models import ImportJob, SavedMapping, Ticket
from msp_portal.celery import app

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page

SAMPLES = Path(__file__).parent / "data" / "samples"
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def test_staff_upload_map_confirm_watch_progress_and_download_problems(
    world, live_server, browser, tmp_path
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = logged_in_page(browser, live_server, world.msp_staff, bypass_csp=True)
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        page.goto(f"{live_server.url}/imports/new/")
        page.select_option("#target", label=f"{world.acme.name} (from {world.northwind.name})")
        page.set_input_files("#file", str(SAMPLES / "connectwise_service_tickets.csv"))
        page.click("text=Upload and map columns")
        page.wait_for_url("**/mapping/")
        assert page.locator("#preset").input_value() == "connectwise"
        assert page.locator("#col__created_at").input_value() == "Date Entered"
        page.screenshot(path=str(SCREENSHOTS / "import-mapping.png"), full_page=True)

        # Adjust: portal tickets count as proactive here, dates are month-first, name the mapping.
        row = page.locator("tr", has=page.locator("label", has_text="Portal"))
        row.locator("select").select_option("proactive")
        page.select_option("#date_order", "mdy")
        page.fill("#save_as", "Northwind ConnectWise")
        page.click("button[value=confirm]")
        page.wait_for_url("**/imports/*/")

        page.wait_for_function(
            "document.querySelector('[data-field=status_label]').textContent.trim() === 'Done'",
            timeout=60_000,
        )
        # The done page (reloaded when the import ends): no progress bar any more, counts with
        # separators, the dates covered, the next places to look; the timings folded away.
        page.wait_for_selector("#done")
        assert page.locator("#progress-bar").count() == 0
        assert page.locator("[data-field=created]").inner_text() == "2,077"
        assert page.locator("[data-field=rejected]").inner_text() == "1"
        assert "1 Jul 2025 to 30 Jun 2026" in page.locator("[data-fact=dates]").inner_text()
        dashboard = page.locator("#done a.button", has_text="dashboard for June 2026")
        assert dashboard.get_attribute("href").endswith("/dashboard/?period=2026-06")
        assert page.locator("#done details").get_attribute("open") is None
        assert not page.locator("#done details li").first.is_visible()
        page.screenshot(path=str(SCREENSHOTS / "import-done.png"), full_page=True)
        page.locator("#done a", has_text="problems").click()
        assert page.url.endswith("#problems")

        with page.expect_download() as download_info:
            page.click("text=Download all problems as CSV")
        report = Path(download_info.value.path()).read_text()

    lines = list(csv.reader(io.StringIO(report)))  # every text cell is quoted
    assert lines[0] == ["row", "column", "value", "severity", "reason"]
    assert any(line[0] == "27" and "not a date and time" in line[4] for line in lines)
    assert any(line[0] == "12" and "appears again at row 2080" in line[4] for line in lines)
    job = ImportJob.objects.get()
    assert job.status == "done" and job.mapping["values"]["origin"]["portal"] == "proactive"
    assert SavedMapping.objects.get(msp=world.northwind).name == "Northwind ConnectWise"
    assert Ticket.objects.filter(client=world.acme, origin="proactive").count() == 570 + 483
    assert errors == []


def test_the_import_pages_fit_a_phone_screen(world, live_server, browser):
    from kpis.imports.services import import_file_sync

    import_file_sync(
        msp=world.northwind,
        client=world.acme,
        user=world.msp_staff,
        via="web",
        name="connectwise.csv",
        content=(SAMPLES / "connectwise_service_tickets.csv").read_bytes(),
    )
    page, errors = logged_in_page(browser, live_server, world.msp_staff, width=390)
    for path in ("/imports/", f"/imports/{ImportJob.objects.get().pk}/", "/imports/new/"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    assert errors == []
