"""A tool report uploaded while the broker is down: the page answers, the file is kept, the
import waits saying so, and runs once the broker is back (RELIABILITY.md)."""

from __future__ import annotations

from pathlib import Path

from django.urls import reverse

from evidence.models import PatchRow, ToolReportJob

from .support import FAULTS, ROOT, wait_until
from .web import browser_for, form_of

pytestmark = FAULTS

REPORT = ROOT / "tests" / "data" / "patch_reports" / "ninjaone_2025-10-03.csv"


def test_a_tool_report_uploaded_while_the_broker_is_down_is_imported_once_it_is_back(world, stack):
    web = stack.web()
    browser = browser_for(world.msp_staff, web)
    args = [world.acme.slug, world.acme_contract.pk]
    page_url = f"{web}{reverse('patch_reports', args=args)}"
    stack.redis.stop()
    page = browser.get(page_url, timeout=30)
    assert page.status_code == 200
    uploaded = browser.post(
        page_url,
        data={
            "csrfmiddlewaretoken": form_of(page.text)["csrfmiddlewaretoken"][0],
            "preset": "ninjaone",
            "report_date": "2025-10-03",
        },
        files={"file": (REPORT.name, REPORT.read_bytes(), "text/csv")},
        headers={"Referer": page_url},
        timeout=60,
    )
    job = ToolReportJob.objects.get()
    assert uploaded.url.endswith(reverse("tool_report_job", args=[*args, job.pk]))
    assert "the file is kept" in uploaded.text and "Queued" in uploaded.text
    assert (job.status, job.phase) == (ToolReportJob.Status.QUEUED, "waiting for the task queue")
    assert Path(job.file.path).read_bytes() == REPORT.read_bytes()
    # The broker is back; the next look at the page hands the import to the worker.
    stack.redis.start()
    status_url = f"{web}{reverse('tool_report_job_status', args=[*args, job.pk])}"
    status = browser.get(status_url, timeout=30).json()
    assert status["status"] == "queued" and status["phase"] == "queued", status
    stack.worker()
    wait_until(lambda: ToolReportJob.objects.get(pk=job.pk).finished, 120, "the import")
    job.refresh_from_db()
    assert job.status == ToolReportJob.Status.DONE, job.message
    assert (job.report.rows_read, job.report.rows_imported) == (7, 6)
    assert PatchRow.objects.filter(contract=world.acme_contract).count() == 6
