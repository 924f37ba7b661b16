"""In real Chromium: MSP staff reach the reconciliation from the dashboard, enter the figures of
the MSP's July report as it writes them ("98%", "4h 30m") with the report attached, mistype one
and get it back with the error; the page then reads "MSP reported 98%, measured 80%", counts
the causes in words and links each differing ticket to its page. The owner sees the line beside
the figure on the dashboard and follows it to the differing tickets. No console error; a phone
needs no sideways scrolling. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reconciliation.models import MspReport

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page
from .test_reconciliation import one_per_cause  # noqa: F401 - the hand-built July tickets

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def test_staff_enter_the_msps_figures_and_read_the_reconciliation(
    one_per_cause,  # noqa: F811
    browser,
    live_server,
    tmp_path,
):
    world = one_per_cause
    page, errors = logged_in_page(browser, live_server, world.msp_staff)
    dashboard = reverse("client_dashboard", args=[world.acme.slug])
    page.goto(f"{live_server.url}{dashboard}?period=2025-07")
    page.click("text=The MSP's own report beside these figures")
    page.wait_for_selector('h1:has-text("beside what happened")')
    assert "No figures from the MSP's report are entered for 2025-07" in page.content()
    page.click("text=Enter the MSP's figures for 2025-07")

    # A mistyped figure: nothing stored, the message names it, what was typed is still there.
    page.get_by_label("Resolution SLA compliance").fill("ninety-eight")
    page.get_by_label("Tickets raised").fill("10")
    page.click("button:has-text('Store the figures')")
    page.wait_for_selector("text=Resolution SLA compliance: write a percentage, like 94.5%")
    assert page.get_by_label("Tickets raised").input_value() == "10"
    assert MspReport.objects.count() == 0

    report = tmp_path / "July service report.pdf"
    report.write_bytes(b"%PDF-1.4 Northwind July report")
    page.get_by_label("Resolution SLA compliance").fill("98%")
    page.get_by_label("Mean time to resolve").fill("4h 30m")
    page.set_input_files("#file", str(report))
    page.click("button:has-text('Store the figures')")
    page.wait_for_selector('h1:has-text("beside what happened")')
    text = page.inner_text("main")
    # 10 July tickets; T-WAITING and T-PRIORITY missed their resolution target, 8 met: 80%.
    assert "Resolution SLA compliance: MSP reported 98%, measured 80%" in text
    assert "Tickets raised: MSP reported 10, measured 10" in text
    assert "Mean time to resolve: MSP reported 4 h 30 min" in text
    assert "1 of 9 differences: waiting time the contract does not pause" in text
    assert "1 of 1 difference: the clock stopped at the first touch" in text
    assert page.locator("#differing-tickets tbody tr").count() == 10
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reconciliation.png"), full_page=True)

    with page.expect_download() as download:
        page.click("text=July service report.pdf")
    assert download.value.suggested_filename == "July service report.pdf"

    page.click("#differing-tickets >> text=T-PRIORITY")
    page.wait_for_selector("text=Hand-built T-PRIORITY")
    assert errors == []


def test_the_owner_follows_the_dashboards_line_to_the_differing_tickets(
    one_per_cause,  # noqa: F811
    browser,
    live_server,
):
    from reconciliation.reports import msp_report_save

    world = one_per_cause
    msp_report_save(
        contract=world.acme_contract,
        period_label="2025-07",
        figures={"resolution.compliance": 0.98},
        actor=world.msp_staff,
        source="web",
    )
    page, errors = logged_in_page(browser, live_server, world.owner, width=390)
    dashboard = reverse("client_dashboard", args=[world.acme.slug])
    page.goto(f"{live_server.url}{dashboard}?period=2025-07")
    line = page.locator(".reported-line")
    assert line.inner_text().startswith("MSP reported 98%, measured 80%")
    line.locator("text=the tickets that differ").click()
    page.wait_for_selector("#differing-tickets")
    # The owner reads it all, but enters nothing: the MSP's figures are the MSP's to state.
    assert page.locator("text=Enter the MSP's figures").count() == 0
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.screenshot(path=str(SCREENSHOTS / "reconciliation-390.png"), full_page=True)
    assert overflow <= 0
    assert errors == []


def test_the_reconciliation_pages_have_no_serious_accessibility_violations(
    one_per_cause,  # noqa: F811
    browser,
    live_server,
):
    from reconciliation.reports import msp_report_save

    from .test_accessibility import serious_violations

    world = one_per_cause
    msp_report_save(
        contract=world.acme_contract,
        period_label="2025-07",
        figures={"resolution.compliance": 0.98},
        actor=world.msp_staff,
        source="web",
    )
    slug = world.acme.slug
    pages = {
        "reconciliation": reverse("client_reconciliation", args=[slug]) + "?period=2025-07",
        "entry form": reverse("reported_figures", args=[slug]) + "?period=2025-07",
    }
    page, errors = logged_in_page(browser, live_server, world.msp_staff, bypass_csp=True)
    found = {}
    for name, url in pages.items():
        page.goto(live_server.url + url)
        found[name] = serious_violations(page)
    assert found == {name: [] for name in pages}
    assert errors == []
