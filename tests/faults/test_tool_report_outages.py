"""A tool report uploaded while the broker is down: the page answers, the file is kept, the
import waits saying so, and runs once the broker is back (RELIABILITY.md)."""

from __future__ import annotations

from pathlib import Path

from django.urls import reverse

from evidence.models import PatchRow, ToolReport, ToolReportJob

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


def _live_phase(stack, job_id: int) -> str | None:
    """The import's phase as its worker reports it to Redis (the page's source)."""
    import pickle

    import redis
    from django.conf import settings

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    raw = redis.Redis.from_url(stack.redis.url).get(f"{prefix}:1:tool-report-progress:{job_id}")
    return pickle.loads(raw)["phase"] if raw else None  # noqa: S301 - our own cache entry


def test_a_worker_killed_mid_tool_report_import_is_resumed_by_the_next_exactly_once(
    world, stack, tmp_path
):
    """150,000 patch rows: the whole worker SIGKILLed while it stores them; nothing of the
    report shows, the job is left running, and the next worker's start-up sweep imports it
    again: one report, 150,000 rows."""
    from django.core.files.base import ContentFile

    rows = 150_000
    lines = ["device,patch,severity,released,installed"]
    lines += [f"PC{i},KB{i},critical,2025-08-01,2025-08-02" for i in range(rows)]
    stack.worker()
    job = ToolReportJob.objects.create(
        client=world.acme,
        contract=world.acme_contract,
        kind="patches",
        preset="generic",
        report_date="2025-10-03",
        original_name="patches-150k.csv",
        uploaded_by=world.msp_staff,
        via=ToolReportJob.Via.API,
        phase="queued",
        file=ContentFile(("\n".join(lines) + "\n").encode(), name="x"),
    )
    # Sent through the stack's own broker (the suite's app publishes to the suite's Redis).
    stack.app.send_task("evidence.tasks.tool_report_import_task", args=[job.pk])
    wait_until(lambda: _live_phase(stack, job.pk) == "storing the rows", 120, "storing", every=0.02)
    stack.kill("worker")  # main process and child: the message stays unacknowledged
    job.refresh_from_db()
    assert job.status == ToolReportJob.Status.RUNNING  # left behind by the dead worker
    assert not PatchRow.objects.exists() and not ToolReport.objects.exists()
    stack.worker("worker-2")  # sweeps at start: nobody holds the lease, so it is re-queued
    wait_until(lambda: ToolReportJob.objects.get(pk=job.pk).finished, 180, "the import")
    job.refresh_from_db()
    assert job.status == ToolReportJob.Status.DONE, job.message
    assert ToolReport.objects.get().rows_imported == rows == job.report.rows_read
    assert PatchRow.objects.filter(contract=world.acme_contract).count() == rows
