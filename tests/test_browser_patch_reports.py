"""In real Chromium: MSP staff follow the measured patch commitment to its patch reports page,
upload the Datto RMM report of 10 August and the NinjaOne report of 3 October 2025 (one row of
which has an unreadable release date: named, the rest imported), and the commitments page then
says August was missed, "2 of 5 patches on time, median 20 days, p90 42 days"; its drill-down
lists the five patches, late ones first (hand-computed in tests/test_patch_reports.py). No
console error. A screenshot goes to artifacts/screenshots/."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.models import ToolReport, ToolReportJob
from evidence.services import patch_report_import
from msp_portal.celery import app

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page, tool_report_upload
from .test_accessibility import serious_violations

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]

REPORTS = Path(__file__).parent / "data" / "patch_reports"
PATCHES = "Critical patches installed within 30 days"


def _upload(page, name: str, preset: str, day: str) -> str:
    return tool_report_upload(page, REPORTS / name, preset, day)


def test_staff_upload_patch_reports_and_the_commitment_is_measured(
    world, browser, live_server, worker
):
    commitment = world.acme_contract.commitments.get(name=PATCHES)
    commitment.measured_by, commitment.within_days, commitment.severities = (
        "patches",
        30,
        "critical",
    )
    commitment.save()
    page, errors = logged_in_page(browser, live_server, world.msp_staff)
    commitments = reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{commitment.pk} >> xpath=.. >> text=patch reports")
    page.wait_for_selector('h1:has-text("Patch reports")')

    _upload(page, "datto_rmm_2025-08-10.csv", "datto_rmm", "2025-08-10")
    said = _upload(page, "ninjaone_2025-10-03.csv", "ninjaone", "2025-10-03")
    assert "ninjaone_2025-10-03.csv: 6 of 7 rows imported; 1 problem listed below." in said
    problem = page.locator("table:has(caption:has-text('ninjaone_2025-10-03.csv')) tbody tr")
    assert problem.count() == 1
    assert "next week" in problem.inner_text() and "Release Date" in problem.inner_text()
    assert ToolReport.objects.count() == 2
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "patch_reports.png"), full_page=True)
    # The trend, period by period: July nothing due (kept), August 40 %, September 100 %.
    trend = page.locator(f"section:has(#trend-{commitment.pk}) tbody tr")
    assert [trend.nth(i).inner_text().split("\t")[:2] for i in range(3)] == [
        ["Jul 2025", "—"],
        ["Aug 2025", "40%"],
        ["Sep 2025", "100%"],
    ]

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{commitment.pk}-2025 summary")  # the newest year alone opens
    main = page.inner_text(f"#commitment-{commitment.pk}-2025")
    assert "2 of 5 patches on time, median 20 days, p90 42 days" in main
    assert "1 of 1 patch on time, median 7 days, p90 7 days" in main
    page.get_by_role("link", name=f"The patches behind it: {PATCHES}, August 2025").click()
    page.wait_for_selector("h2:has-text('Missed (measured)')")
    rows = page.locator("table").first.locator("tbody tr")
    assert rows.count() == 5
    # ACME-OLD left the reports after 10 Aug (absent from the 3 Oct one): named as retired.
    left_out = page.locator("section:has(#left-out-heading)")
    assert "ACME-OLD" in left_out.inner_text() and "10 Aug 2025" in left_out.inner_text()
    assert "not installed" in rows.nth(0).inner_text()
    assert "ACME-PC02" in rows.nth(2).inner_text() and "42" in rows.nth(2).inner_text()
    page.screenshot(path=str(SCREENSHOTS / "patch_drilldown.png"), full_page=True)
    assert errors == []

    # axe-core, injected as an inline script: in a page whose CSP lets it in.
    checked, _ = logged_in_page(browser, live_server, world.msp_staff, bypass_csp=True)
    reports = reverse("patch_reports", args=[world.acme.slug, world.acme_contract.pk])
    job = reverse(
        "tool_report_job",
        args=[world.acme.slug, world.acme_contract.pk, ToolReportJob.objects.latest("pk").pk],
    )
    for url in (reports, job, page.url.removeprefix(live_server.url)):
        checked.goto(f"{live_server.url}{url}")
        assert serious_violations(checked) == [], url


def test_the_trend_is_drawn_beside_its_table(world, browser, live_server):
    """The patch reports page draws each measured period's on-time share as a Plotly chart
    (July nothing due: no point; August 40 %, missed; September 100 %) against the 100 %
    target, with the table still beside it; a click on a point opens the rows behind it."""
    commitment = world.acme_contract.commitments.get(name=PATCHES)
    commitment.measured_by, commitment.within_days, commitment.severities = (
        "patches",
        30,
        "critical",
    )
    commitment.save()
    for name, preset, day in (
        ("datto_rmm_2025-08-10.csv", "datto_rmm", "2025-08-10"),
        ("ninjaone_2025-10-03.csv", "ninjaone", "2025-10-03"),
    ):
        patch_report_import(
            contract=world.acme_contract,
            upload=SimpleUploadedFile(name, (REPORTS / name).read_bytes()),
            preset=preset,
            report_date=date.fromisoformat(day),
            actor=world.msp_staff,
            source="web",
        )
    page, errors = logged_in_page(browser, live_server, world.owner)
    reports = reverse("patch_reports", args=[world.acme.slug, world.acme_contract.pk])
    page.goto(f"{live_server.url}{reports}")
    chart = f"#chart-trend-{commitment.pk}"
    page.wait_for_selector(f"{chart} svg.main-svg")
    assert page.locator(f"{chart} .xtick text").all_text_contents() == [
        "Jul 2025",
        "Aug 2025",
        "Sep 2025",
    ]
    assert page.locator(f"{chart} .annotation-text").all_text_contents() == ["target 100%"]
    # Two points drawn (July counted nothing), the table keeps all three periods.
    assert page.locator(f"{chart} .scatterlayer .point").count() == 2
    assert page.locator(f"section:has(#trend-{commitment.pk}) tbody tr").count() == 3
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "patch_trend.png"), full_page=True)
    page.locator(f"{chart} .scatterlayer .point").nth(0).click(force=True)
    page.wait_for_selector("h2:has-text('Missed (measured)')")
    assert "/patches/" in page.url
    assert errors == []


def test_the_import_page_follows_the_worker_from_queued_to_what_it_did(world, browser, live_server):
    """No worker at first: the upload lands on its import's page, which says it is queued and
    polls; the kind's page lists it. A worker starts: the page, without being reloaded by the
    test, ends on what the import did, the row left out named."""
    page, errors = logged_in_page(browser, live_server, world.msp_staff)
    reports = reverse("patch_reports", args=[world.acme.slug, world.acme_contract.pk])
    page.goto(f"{live_server.url}{reports}")
    page.set_input_files("#report-file", str(REPORTS / "ninjaone_2025-10-03.csv"))
    page.select_option("#report-preset", "ninjaone")
    page.fill("#report-date", "2025-10-03")
    page.click("button:has-text('Import the report')")
    page.wait_for_url("**/tool-report-imports/*/")
    assert page.locator("#progress").count() == 1
    assert page.inner_text("[data-field=status_label]") == "Queued"
    listing = page.context.new_page()
    listing.goto(f"{live_server.url}{reports}")
    assert "ninjaone_2025-10-03.csv: queued" in listing.inner_text("section:has(#jobs-heading)")
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        page.wait_for_selector("#done", timeout=60_000)
    said = page.inner_text("main")
    assert "ninjaone_2025-10-03.csv: 6 of 7 rows imported; 1 problem listed below." in said
    assert page.locator("#progress").count() == 0
    left_out = page.locator("section:has(#problems) tbody tr")
    assert left_out.count() == 1
    assert "next week" in left_out.inner_text() and "Release Date" in left_out.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "tool_report_import_done.png"), full_page=True)
    page.get_by_role("link", name="Patch reports: the commitments they measure").click()
    page.wait_for_selector('h1:has-text("Patch reports")')
    assert "Imports in the background" not in page.inner_text("main")
    assert errors == []
