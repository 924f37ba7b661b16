"""The one job lifecycle (msp_portal/jobs.py) as imports and review PDFs use it: a task whose
retries are spent fails its job with a sentence, the sweep resumes a job left running by a dead
process, and no two kinds of work share an advisory-lock namespace."""

from __future__ import annotations

from django.db import connection

from kpis.imports.services import import_create
from kpis.models import ImportJob
from kpis.tasks import import_run_task
from msp_portal.jobs import Locks, forget_enqueued
from reviews.models import Review
from reviews.tasks import review_pdf_task


def queued_import(world) -> ImportJob:
    job = import_create(
        msp=world.northwind,
        client=world.acme,
        user=world.msp_staff,
        via=ImportJob.Via.API,
        name="x.csv",
        content=b"a,b\n1,2\n",
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, phase="queued")
    return job


def test_an_import_task_that_gives_up_fails_its_job_with_a_sentence(world):
    job = queued_import(world)
    import_run_task.on_failure(TimeoutError("x"), "task-id", (job.pk,), {}, None)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert (
        job.message
        == "The import failed (a service it needs did not answer); re-run it from its page."
    )
    assert job.finished_at is not None
    # Never an exception's name on the page: any other error in words too.
    other = queued_import(world)
    import_run_task.on_failure(KeyError("mapping"), "task-id", (other.pk,), {}, None)
    other.refresh_from_db()
    assert other.message == (
        "The import failed (an error of ours, in the worker's log); re-run it from its page."
    )


def test_a_pdf_task_that_gives_up_fails_the_pdf_and_leaves_the_review(world):
    review = Review.objects.create(
        client=world.acme,
        contract=world.acme_contract,
        quarter="2025-Q3",
        pdf_status=Review.PdfStatus.RUNNING,
    )
    review_pdf_task.on_failure(OSError("x"), "task-id", (), {"review_id": review.pk}, None)
    review.refresh_from_db()
    assert review.pdf_status == Review.PdfStatus.FAILED
    assert review.pdf_message == "The PDF could not be made (a service it needs did not answer)."
    assert review.status == Review.Status.DRAFT


def test_the_sweep_queues_again_a_job_whose_process_died_and_leaves_a_live_one(world):
    """Nobody holds the lease of the first job (its worker died); another connection holds the
    second's, as a live worker does."""
    from kpis.imports.jobs import IMPORT_JOBS

    dead, live = queued_import(world), queued_import(world)
    ImportJob.objects.filter(pk__in=[dead.pk, live.pk]).update(status=ImportJob.Status.RUNNING)
    import psycopg2

    settings = connection.settings_dict
    other = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [Locks.IMPORT_JOB, live.pk])
        forget_enqueued("import", dead.pk)
        resumed, _handed = IMPORT_JOBS.sweep()
    finally:
        other.close()
    assert resumed == 1
    dead.refresh_from_db()
    live.refresh_from_db()
    assert dead.phase in ("resuming (worker stopped)", "queued", "waiting for the task queue")
    assert dead.status == ImportJob.Status.QUEUED
    assert live.status == ImportJob.Status.RUNNING


def test_every_kind_of_work_has_its_own_lock_namespace():
    namespaces = {k: v for k, v in vars(Locks).items() if k.isupper()}
    assert len(set(namespaces.values())) == len(namespaces) == 7


def test_a_transaction_queues_one_full_recompute_per_client(db, django_capture_on_commit_callbacks):
    """Twenty occurrences recorded in one transaction recompute their client once; a callback
    a rolled-back savepoint dropped does not stop the next request from queuing one. (Client
    ids no test world has: its evidence queued recomputes of its own clients already.)"""
    from django.db import transaction

    from msp_portal.jobs import recompute_after_commit

    first, second, third = 10**9 + 1, 10**9 + 2, 10**9 + 3
    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(3):
            recompute_after_commit(first)
        recompute_after_commit(second)
        try:
            with transaction.atomic():
                recompute_after_commit(third)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        recompute_after_commit(third)
    assert [c.recompute_client for c in callbacks] == [first, second, third]
