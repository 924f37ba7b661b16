"""In real Chromium: MSP staff follow Acme's phishing commitment (measured: at most 10 %
clicking) to its page and upload the KnowBe4 campaign report of 5 October 2025 (one row's
start date unreadable: named, the rest imported); follow the MFA commitment to its page and
upload the Entra ID attestation of 30 September with the MSP's statement. The commitments page
then says July kept, August missed (15 % clicked), September missed (no campaign) and Q3's MFA
missed (3 of 4); the drill-downs list the campaign and the technicians, the one without MFA
first, with the statement and the file (hand-computed in tests/test_hygiene_reports.py). No
console error, no serious axe violation. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from contracts.models import Commitment
from contracts.services.commitments import commitment_occurrences_ensure
from evidence.models import ToolReport

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page, tool_report_upload
from .test_accessibility import serious_violations

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]

DATA = Path(__file__).parent / "data"
STATEMENT = "Every technician with access to your systems signs in with MFA."


def _upload(page, path: Path, preset: str, day: str, statement: str | None = None) -> str:
    return tool_report_upload(page, path, preset, day, statement)


def test_staff_upload_phishing_results_and_an_mfa_attestation(world, browser, live_server, worker):
    phishing = world.acme_contract.commitments.get(name="Phishing simulation")
    phishing.measured_by, phishing.limit_percent = "phishing", 10
    phishing.save()
    mfa = Commitment.objects.create(
        contract=world.acme_contract,
        name="MFA for every technician",
        cadence="quarterly",
        measured_by="mfa",
    )
    commitment_occurrences_ensure(commitment=mfa)
    page, errors = logged_in_page(browser, live_server, world.msp_staff)
    commitments = reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{phishing.pk} >> xpath=.. >> text=phishing simulation results")
    page.wait_for_selector('h1:has-text("Phishing simulation results")')
    said = _upload(
        page, DATA / "phishing_reports" / "knowbe4_2025-10-05.csv", "knowbe4", "2025-10-05"
    )
    assert "knowbe4_2025-10-05.csv: 2 of 3 rows imported; 1 problem listed below." in said
    problem = page.locator("table:has(caption:has-text('knowbe4_2025-10-05.csv')) tbody tr")
    assert problem.count() == 1 and "soon" in problem.inner_text()
    # The trend: click rate per month, July 7.5 %, August 15 %, September no campaign.
    trend = page.locator(f"section:has(#trend-{phishing.pk}) tbody tr")
    assert [trend.nth(i).inner_text().split("\t")[:2] for i in range(3)] == [
        ["Jul 2025", "7.5%"],
        ["Aug 2025", "15%"],
        ["Sep 2025", "—"],
    ]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "phishing_reports.png"), full_page=True)

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{mfa.pk} >> xpath=.. >> text=technician MFA attestations")
    page.wait_for_selector('h1:has-text("Technician MFA attestations")')
    said = _upload(
        page, DATA / "mfa_reports" / "entra_2025-09-30.csv", "entra", "2025-09-30", STATEMENT
    )
    assert "entra_2025-09-30.csv: 4 of 4 rows imported." in said
    assert STATEMENT in page.inner_text("main")
    assert ToolReport.objects.count() == 2

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{phishing.pk}-2025 summary")
    main = page.inner_text(f"#commitment-{phishing.pk}-2025")
    assert "1 campaign to 40 people: 3 clicked (7.5%), 12 reported (30%)" in main
    assert "No phishing simulation was sent in this period." in main
    page.get_by_role(
        "link", name="The campaigns behind it: Phishing simulation, August 2025"
    ).click()
    page.wait_for_selector("h2:has-text('Missed (measured)')")
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and "August password reset" in rows.nth(0).inner_text()
    assert "15%" in page.inner_text("table tfoot")
    page.screenshot(path=str(SCREENSHOTS / "phishing_drilldown.png"), full_page=True)
    phishing_drill = page.url

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{mfa.pk}-2025 summary")
    assert "3 of 4 technicians sign in with MFA, attested 30 Sep 2025" in page.inner_text(
        f"#commitment-{mfa.pk}-2025"
    )
    page.get_by_role(
        "link", name="The technicians behind it: MFA for every technician, July 2025"
    ).click()
    page.wait_for_selector("h2:has-text('Missed (measured)')")
    rows = page.locator("table tbody tr")
    assert rows.count() == 4
    assert "carl.help@" in rows.nth(0).inner_text() and "no" in rows.nth(0).inner_text()
    assert STATEMENT in page.inner_text("main")
    with page.expect_download() as download:
        page.click("a:has-text('entra_2025-09-30.csv')")
    assert download.value.suggested_filename == "entra_2025-09-30.csv"
    page.screenshot(path=str(SCREENSHOTS / "mfa_drilldown.png"), full_page=True)
    assert errors == []

    checked, _ = logged_in_page(browser, live_server, world.msp_staff, bypass_csp=True)
    slug, pk = world.acme.slug, world.acme_contract.pk
    for url in (
        reverse("phishing_reports", args=[slug, pk]),
        reverse("mfa_reports", args=[slug, pk]),
        phishing_drill.removeprefix(live_server.url),
        page.url.removeprefix(live_server.url),
    ):
        checked.goto(f"{live_server.url}{url}")
        assert serious_violations(checked) == [], url
