"""In real Chromium: MSP staff follow the measured restore test commitment to its page, upload
the Veeam job history of 1 Sep and the Datto BCDR report of 1 Oct 2025 on the backup job
reports page and the Veeam SureBackup report on the restore test reports page (its "Stopped"
row named, the rest imported). The commitments page then says August's backups were missed and
the third quarter's restore test too; the drill-downs list the devices and runs, and the
protected systems with their tests (hand-computed in tests/test_backup_reports.py). No console
error, no serious accessibility violation. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from contracts.models import Commitment
from contracts.services.commitments import commitment_occurrences_ensure
from evidence.models import ToolReport

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page, tool_report_upload
from .test_accessibility import serious_violations
from .test_backup_reports import AUGUST_WORDS, Q3_WORDS, SEPTEMBER_WORDS

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]

REPORTS = Path(__file__).parent / "data" / "backup_reports"


def _upload(page, name: str, preset: str, day: str) -> str:
    return tool_report_upload(page, REPORTS / name, preset, day)


def test_staff_upload_backup_and_restore_reports_and_the_commitments_are_measured(
    world, browser, live_server, worker
):
    restores = world.acme_contract.commitments.get(name="Backup restore test")
    restores.measured_by = "restores"
    restores.save()
    backups = Commitment.objects.create(
        contract=world.acme_contract,
        name="Daily backups succeed",
        cadence="monthly",
        owner="msp",
        measured_by="backups",
        within_days=2,
        target_percent=95,
    )
    commitment_occurrences_ensure(commitment=backups)
    page, errors = logged_in_page(browser, live_server, world.msp_staff)
    commitments = reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{backups.pk} >> xpath=.. >> text=backup job reports")
    page.wait_for_selector('h1:has-text("Backup job reports")')
    said = _upload(page, "veeam_2025-09-01.csv", "veeam", "2025-09-01")
    assert "veeam_2025-09-01.csv: 195 of 196 rows imported; 1 problem listed below." in said
    _upload(page, "datto_2025-10-01.csv", "datto", "2025-10-01")
    trend = page.locator(f"section:has(#trend-{backups.pk}) tbody tr")
    assert [trend.nth(i).inner_text().split("\t")[:2] for i in range(3)] == [
        ["Jul 2025", "100%"],
        ["Aug 2025", "95.7%"],
        ["Sep 2025", "98.8%"],
    ]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "backup_reports.png"), full_page=True)

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{restores.pk} >> xpath=.. >> text=restore test reports")
    page.wait_for_selector('h1:has-text("Restore test reports")')
    _upload(page, "veeam_surebackup_2025-10-01.csv", "veeam", "2025-10-01")
    problem = page.locator(
        "table:has(caption:has-text('veeam_surebackup_2025-10-01.csv')) tbody tr"
    )
    assert problem.count() == 1 and "Stopped" in problem.inner_text()
    assert ToolReport.objects.count() == 3

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{backups.pk}-2025 summary")
    main = page.inner_text(f"#commitment-{backups.pk}-2025")
    assert AUGUST_WORDS in main and SEPTEMBER_WORDS in main
    page.click(f"#commitment-{restores.pk}-2025 summary")
    assert Q3_WORDS in page.inner_text(f"#commitment-{restores.pk}-2025")

    page.get_by_role(
        "link", name="The backups behind it: Daily backups succeed, August 2025"
    ).click()
    page.wait_for_selector("h2:has-text('Missed (measured)')")
    devices = page.locator("section:has(#devices-heading) tbody tr")
    assert devices.count() == 3
    assert "SRV-SQL01" in devices.nth(0).inner_text()
    assert "too long without a backup" in devices.nth(0).inner_text()
    assert page.locator("section:has(#runs-heading) tbody tr").count() == 93
    page.screenshot(path=str(SCREENSHOTS / "backup_drilldown.png"), full_page=True)
    backups_drill = page.url

    page.goto(f"{live_server.url}{commitments}")
    page.click(f"#commitment-{restores.pk}-2025 summary")
    page.get_by_role(
        "link", name="The restore tests behind it: Backup restore test, July 2025"
    ).click()
    page.wait_for_selector("h2:has-text('Missed (measured)')")
    systems = page.locator("section:has(#systems-heading) tbody tr")
    assert systems.count() == 4
    assert "SRV-SQL01" in systems.nth(0).inner_text()
    assert "no successful test this period" in systems.nth(0).inner_text()
    page.screenshot(path=str(SCREENSHOTS / "restore_drilldown.png"), full_page=True)
    assert errors == []

    checked, _ = logged_in_page(browser, live_server, world.msp_staff, bypass_csp=True)
    args = [world.acme.slug, world.acme_contract.pk]
    for url in (
        reverse("backup_reports", args=args),
        reverse("restore_reports", args=args),
        backups_drill.removeprefix(live_server.url),
        page.url.removeprefix(live_server.url),
    ):
        checked.goto(f"{live_server.url}{url}")
        assert serious_violations(checked) == [], url
