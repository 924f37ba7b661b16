"""Tool reports import in the background (issue 23; evidence/jobs.py): each kind's upload page
and the API queue the upload, a real Celery worker imports it, the page follows its progress
and ends with what it did, and the commitment it measures is judged. A file that cannot be used
ends its import rejected, in words; an import queued with no task out (the broker was down) is
handed over by a look at its page or by the sweep once the broker is back; one contract's
imports are never another's to see."""

from __future__ import annotations

import time
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from evidence.jobs import TOOL_REPORT_JOBS, tool_report_jobs_sweep
from evidence.kinds import KINDS
from evidence.models import ToolReport, ToolReportJob
from evidence.tasks import tool_report_import_task, tool_report_imports_sweep_task
from msp_portal.jobs import forget_enqueued, is_enqueued

from .test_api_tool_reports import JOBS, token_client
from .test_tool_reports_scope import DATA, SAMPLES, SECRET, _commitment, _rival_contract, _web


def _finished(job_id: int, timeout: float = 60) -> ToolReportJob:
    """The job once the worker has ended it."""
    deadline = time.monotonic() + timeout
    while True:
        job = ToolReportJob.objects.get(pk=job_id)
        if job.finished:
            return job
        assert time.monotonic() < deadline, f"still {job.status} ({job.phase})"
        time.sleep(0.2)


def _gone(storage, name: str, timeout: float = 5) -> bool:
    """Whether the stored file is deleted within `timeout` (the worker deletes it just after its
    commit, which the test may see first)."""
    deadline = time.monotonic() + timeout
    while storage.exists(name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _page_upload(web, contract, kind: str, path, preset: str, day: str) -> ToolReportJob:
    """Upload through the kind's page as a person would: the answer is the import's page."""
    url = reverse(KINDS[kind].page, args=[contract.client.slug, contract.pk])
    body = {"preset": preset, "report_date": day, "statement": SECRET}
    with path.open("rb") as handle:
        response = web.post(url, {**body, "file": handle})
    job = ToolReportJob.objects.latest("pk")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "tool_report_job", args=[contract.client.slug, contract.pk, job.pk]
    )
    return job


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kinds_page_imports_through_the_worker_and_the_commitment_is_measured(
    world, worker, kind
):
    commitment = _commitment(world.acme_contract, kind)
    web = _web(world, world.msp_staff)
    for of_kind, name, preset, day in SAMPLES[kind]:
        queued = _page_upload(web, world.acme_contract, of_kind, DATA / name, preset, day)
        job = _finished(queued.pk)
        assert job.status == ToolReportJob.Status.DONE, job.message
        report = job.report
        assert (report.kind, report.contract_id, report.uploaded_by) == (
            of_kind,
            world.acme_contract.pk,
            world.msp_staff,
        )
        assert job.message.startswith(f"{report.original_name}: {report.rows_imported} of ")
        assert (job.rows_done, job.rows_total) == (report.rows_imported, report.rows_read)
        # The upload's copy is gone once imported; the report keeps its own.
        assert not job.file and _gone(queued.file.storage, queued.file.name)
        assert report.file.storage.exists(report.file.name)
        page = web.get(
            reverse("tool_report_job", args=[world.acme.slug, world.acme_contract.pk, job.pk])
        ).content.decode()
        assert escape(job.message) in page and 'id="progress"' not in page
        assert reverse(KINDS[of_kind].page, args=[world.acme.slug, world.acme_contract.pk]) in page
        for problem in report.problems:
            assert f'<td data-label="Row">{problem["row"]}</td>' in page
    assert commitment.occurrences.exclude(measure=None).exists()
    # Nothing left queued or running for the kind's page to list.
    listing = web.get(reverse(KINDS[kind].page, args=[world.acme.slug, world.acme_contract.pk]))
    assert "Imports in the background" not in listing.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_api_imports_through_the_worker(world, worker):
    commitment = _commitment(world.acme_contract, "patches")
    staff = token_client(world.msp_staff)
    with (DATA / "patch_reports" / "ninjaone_2025-10-03.csv").open("rb") as handle:
        response = staff.post(
            "/api/v1/tool-reports/",
            {
                "client": "acme-dental",
                "kind": "patches",
                "preset": "ninjaone",
                "report_date": "2025-10-03",
                "file": handle,
            },
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job = _finished(response.json()["id"])
    body = staff.get(f"{JOBS}{job.pk}/").json()
    assert (body["status"], body["rows_done"], body["rows_total"]) == ("done", 6, 7)
    assert body["report"] == ToolReport.objects.get(contract=world.acme_contract).pk
    assert commitment.occurrences.exclude(measure=None).exists()


@pytest.mark.django_db(transaction=True)
def test_a_file_that_cannot_be_used_is_rejected_by_the_worker_in_words(world, worker, tmp_path):
    """A patch report without its device column passes the upload's checks (a CSV, a date, a
    layout) and is refused once read: the import's page says so and nothing is written."""
    export = tmp_path / "no-devices.csv"
    export.write_text("patch,severity,released\nKB1,critical,2025-08-01\n")
    web = _web(world, world.msp_staff)
    queued = _page_upload(web, world.acme_contract, "patches", export, "generic", "2025-10-03")
    job = _finished(queued.pk)
    assert job.status == ToolReportJob.Status.REJECTED and job.report is None
    assert "device" in job.message.lower(), job.message
    page = web.get(
        reverse("tool_report_job", args=[world.acme.slug, world.acme_contract.pk, job.pk])
    ).content.decode()
    assert "This file was not imported" in page and escape(job.message) in page
    assert job.file.storage.exists(job.file.name)  # a refused file is kept
    kind_page = web.get(reverse("patch_reports", args=[world.acme.slug, world.acme_contract.pk]))
    assert "no-devices.csv</a>: not imported: the file cannot be used." in (
        kind_page.content.decode()
    )
    assert not ToolReport.objects.exists()


def _queued_without_a_task(world) -> ToolReportJob:
    """An import queued while the broker was down: the row says so and no task is out (what
    TOOL_REPORT_JOBS.enqueue leaves when publishing fails; the fault tests stop a real Redis)."""
    job = ToolReportJob.objects.create(
        client=world.acme,
        contract=world.acme_contract,
        kind="phishing",
        preset="generic",
        report_date="2025-12-01",
        original_name="generic.csv",
        uploaded_by=world.msp_staff,
        via=ToolReportJob.Via.WEB,
        phase="waiting for the task queue",
        message="The task queue is unreachable: the file is kept and the import starts as soon "
        "as it is back.",
        file=SimpleUploadedFile("x", (DATA / "phishing_reports" / "generic.csv").read_bytes()),
    )
    forget_enqueued(TOOL_REPORT_JOBS.name, job.pk)
    return job


@pytest.mark.django_db(transaction=True)
def test_an_import_left_queued_runs_once_its_page_is_looked_at(world, worker):
    job = _queued_without_a_task(world)
    web = _web(world, world.msp_staff)
    status = reverse(
        "tool_report_job_status", args=[world.acme.slug, world.acme_contract.pk, job.pk]
    )
    first = web.get(status).json()
    assert first["status"] in ("queued", "running", "done"), first
    assert first["phase"] != "waiting for the task queue"
    assert "unreachable" not in first["message"]
    assert _finished(job.pk).status == ToolReportJob.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_the_sweep_hands_over_an_import_left_queued(world, worker):
    job = _queued_without_a_task(world)
    assert not is_enqueued(TOOL_REPORT_JOBS.name, job.pk)
    assert tool_report_jobs_sweep() == {"resumed": 0, "queued": 1}
    done = _finished(job.pk)
    assert done.status == ToolReportJob.Status.DONE and done.report.kind == "phishing"


def test_an_import_task_that_gives_up_fails_its_job_with_a_sentence(world):
    job = _queued_without_a_task(world)
    tool_report_import_task.on_failure(TimeoutError("x"), "task-id", (job.pk,), {}, None)
    job.refresh_from_db()
    assert (job.status, job.finished_at is not None) == (ToolReportJob.Status.FAILED, True)
    assert (
        job.message
        == "The import failed (a service it needs did not answer); upload the report again."
    )


def test_beat_and_a_starting_worker_sweep_the_imports(settings):
    import inspect

    from msp_portal import celery

    entry = settings.CELERY_BEAT_SCHEDULE["tool-report-imports-sweep"]
    assert entry["task"] == tool_report_imports_sweep_task.name
    assert f'"{tool_report_imports_sweep_task.name}"' in inspect.getsource(celery._sweep_at_start)


def test_another_contracts_imports_are_not_listed_nor_found(world):
    """Acme also contracts the rival MSP: the rival's import under way is on its own contract's
    page, not Northwind's, and its page is not found under Northwind's contract."""
    rival = _rival_contract(world)
    web = _web(world, world.rival_staff)
    theirs = _page_upload(
        web, rival, "phishing", DATA / "phishing_reports" / "generic.csv", "generic", "2025-12-01"
    )
    theirs.original_name = "rival-phishing.csv"
    theirs.save(update_fields=["original_name"])
    own_page = web.get(reverse("phishing_reports", args=[world.acme.slug, rival.pk]))
    assert "rival-phishing.csv" in own_page.content.decode()
    northwind = _web(world, world.msp_staff)
    page = northwind.get(
        reverse("phishing_reports", args=[world.acme.slug, world.acme_contract.pk])
    )
    assert "rival-phishing.csv" not in page.content.decode()
    for name in ("tool_report_job", "tool_report_job_status"):
        for contract in (world.acme_contract, rival):
            url = reverse(name, args=[world.acme.slug, contract.pk, theirs.pk])
            assert northwind.get(url).status_code == 404, url


def test_an_import_says_each_phase_and_the_rows_stored_in_batches(world):
    """4,500 patch rows: read, stored 2,000 at a time (0, 2,000, 4,000, 4,500 of 4,500), then the
    commitments judged; the command and the seed, which pass no listener, hear nothing."""
    lines = ["device,patch,severity,released,installed"]
    lines += [f"PC{i},KB{i},critical,2025-08-01,2025-08-02" for i in range(4500)]
    heard: list[tuple] = []
    KINDS["patches"].import_report(
        contract=world.acme_contract,
        upload=SimpleUploadedFile("many.csv", ("\n".join(lines) + "\n").encode()),
        preset="generic",
        report_date=date(2025, 10, 3),
        actor=world.msp_staff,
        source="web",
        progress=lambda phase, done, total: heard.append((phase, done, total)),
    )
    assert heard == [
        ("reading the file", 0, None),
        ("storing the rows", 0, 4500),
        ("storing the rows", 2000, 4500),
        ("storing the rows", 4000, 4500),
        ("storing the rows", 4500, 4500),
        ("judging the commitments", 4500, 4500),
    ]


def test_a_refused_uploads_file_is_downloaded_by_its_side_then_deleted_after_its_days(
    world, tmp_path, settings
):
    """A refused upload keeps its file TOOL_REPORT_JOB_FILE_DAYS (30) after it ended: the
    uploading side downloads it from the import's page, the client's side may not; then the
    daily purge deletes it (the job and its message stay) and the page says so. An imported
    upload's file went at once; a refused one 29 days old stays."""
    from datetime import timedelta

    from django.utils import timezone

    from evidence.jobs import tool_report_job_files_purge

    from .tool_report_support import queued_imports_run

    export = tmp_path / "no-devices.csv"
    export.write_text("patch,severity,released\nKB1,critical,2025-08-01\n")
    staff, owner = _web(world, world.msp_staff), _web(world, world.owner)
    args = [world.acme.slug, world.acme_contract.pk]
    url = reverse("patch_reports", args=args)
    for _ in range(2):
        with open(export, "rb") as handle:
            staff.post(url, {"preset": "generic", "report_date": "2025-10-03", "file": handle})
    old, recent = queued_imports_run()
    assert old.status == recent.status == ToolReportJob.Status.REJECTED
    page = reverse("tool_report_job", args=[*args, old.pk])
    download = reverse("tool_report_job_file", args=[*args, old.pk])
    body = staff.get(page).content.decode()
    assert download in body and "kept 30 days after the import ended, then deleted" in body
    answer = staff.get(download)
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == export.read_bytes()
    assert (
        owner.get(download).status_code == 403 and download not in owner.get(page).content.decode()
    )
    # 31 days on for the first, 29 for the second.
    now = timezone.now()
    ToolReportJob.objects.filter(pk=old.pk).update(finished_at=now - timedelta(days=31))
    ToolReportJob.objects.filter(pk=recent.pk).update(finished_at=now - timedelta(days=29))
    stored = old.file.name
    assert tool_report_job_files_purge() == 1
    assert tool_report_job_files_purge() == 0  # twice is harmless
    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.file and not old.file.storage.exists(stored)
    assert recent.file and recent.file.storage.exists(recent.file.name)
    assert old.status == ToolReportJob.Status.REJECTED and old.message
    body = staff.get(page).content.decode()
    assert "The file as uploaded was deleted 30 days after the import ended." in body
    assert staff.get(download).status_code == 404
    # The days are a setting.
    settings.TOOL_REPORT_JOB_FILE_DAYS = 20
    assert tool_report_job_files_purge() == 1
    assert "tool-report-job-files-purge" in settings.CELERY_BEAT_SCHEDULE
