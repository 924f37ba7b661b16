"""Workers killed mid-import, and the database connection dropped under one: the import is
done exactly once, never half (RELIABILITY.md)."""

from __future__ import annotations

import os
import re
import signal
import time

from django.db import connection

from kpis.models import ImportJob, Ticket

from .jobs import (
    api_job,
    assert_imported_exactly_once,
    finished,
    lease_holder,
    queue_import,
    uploaded_and_past_reading,
    wait_past_reading,
)
from .support import FAULTS, ROWS

pytestmark = FAULTS


def test_a_pool_process_killed_mid_import_is_resumed_and_imports_exactly_once(
    world, stack, big_export
):
    api, job_id = uploaded_and_past_reading(world, stack, big_export)
    assert Ticket.objects.filter(client=world.acme).count() == 0  # nothing half-written shows
    os.kill(stack.pool_child(), signal.SIGKILL)
    # The worker gives the message back (acks_late + reject_on_worker_lost), its new child
    # takes over the job the dead one left running.
    job = finished(job_id)
    assert_imported_exactly_once(world, job, ROWS)
    assert "WorkerLostError" in stack.log("worker")
    assert api_job(api, job_id)["progress"]["status"] == "done"


def test_a_whole_worker_killed_mid_import_is_resumed_by_the_next_worker_exactly_once(
    world, stack, big_export
):
    stack.worker()
    job = queue_import(world, big_export)
    stack.app.send_task("kpis.tasks.import_run_task", args=[job.pk])
    wait_past_reading(stack, job.pk)
    stack.kill("worker")  # main process and child: the message stays unacknowledged
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING  # left behind by the dead worker
    assert Ticket.objects.filter(client=world.acme).count() == 0
    stack.worker("worker-2")  # sweeps at start: nobody holds the lease, so it is re-queued
    job = finished(job.pk)
    assert_imported_exactly_once(world, job, ROWS)


def test_beat_resumes_an_import_left_running_when_no_worker_restarts(world, stack, big_export):
    # Two workers; the import is pinned to the first, the second only runs what beat sends.
    stack.worker("worker-2")
    stack.worker(queues="celery,pinned")
    job = queue_import(world, big_export)
    stack.app.send_task("kpis.tasks.import_run_task", args=[job.pk], queue="pinned")
    wait_past_reading(stack, job.pk)
    stack.kill("worker")
    time.sleep(1)
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.RUNNING
    stack.beat()  # its sweep finds the lease free and re-queues; worker-2 imports
    job = finished(job.pk)
    assert_imported_exactly_once(world, job, ROWS)
    assert "'resumed': 1" in stack.log("worker-2")


def test_a_dropped_database_connection_mid_import_retries_and_shows_no_half_import(
    world, stack, big_export
):
    stack.worker()
    job = queue_import(world, big_export)
    stack.app.send_task("kpis.tasks.import_run_task", args=[job.pk])
    wait_past_reading(stack, job.pk)
    pid = lease_holder(job.pk)
    assert pid, "the import ended before the fault"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0]
    # Nothing of the interrupted run is visible: the store is one transaction.
    assert Ticket.objects.filter(client=world.acme).count() == 0
    job = finished(job.pk)
    assert_imported_exactly_once(world, job, ROWS)
    log = stack.log("worker")
    assert re.search(r"Retry in \d+s: .*(OperationalError|InterfaceError)", log), log[-2000:]
