"""Redis restarted mid-import and mid-recompute, empty or with its data, and an acknowledgement
lost: every job is done exactly once and nothing is left to redeliver (RELIABILITY.md)."""

from __future__ import annotations

import time

import pytest

from kpis.models import ImportJob, KpiSnapshot, RecomputeRequest

from .jobs import (
    PAST_READING,
    api_job,
    assert_imported_exactly_once,
    broker_messages,
    finished,
    queue_import,
    recompute_lock,
    settle,
    task_outcomes,
    uploaded_and_past_reading,
)
from .support import FAULTS, IMPORT_TASK, RECOMPUTE_TASK, ROWS, wait_until

pytestmark = FAULTS


def test_redis_restarted_mid_import_the_import_finishes_and_the_status_stays_true(
    world, stack, big_export
):
    api, job_id = uploaded_and_past_reading(world, stack, big_export, beat=True)
    stack.redis.stop()
    # Redis down: the API still answers from the job row, the true status.
    body = api_job(api, job_id)
    assert body["status"] in ("running", "done"), body
    time.sleep(2)
    stack.redis.start()  # empty: messages, progress and markers are gone
    job = finished(job_id)
    assert_imported_exactly_once(world, job, ROWS)
    assert api_job(api, job_id)["progress"]["status"] == "done"
    # The recompute the import asked for is done too, even if its message was lost.
    wait_until(
        lambda: not RecomputeRequest.objects.filter(client=world.acme).exists(),
        120,
        "the recompute after the import",
    )
    assert KpiSnapshot.objects.filter(client=world.acme).exists()


@pytest.mark.parametrize(
    "keeps_data",
    [
        pytest.param(False, id="empty"),
        pytest.param(True, id="with_its_data", marks=pytest.mark.redis_keeps_data),
    ],
)
def test_redis_restarted_mid_recompute_the_recompute_completes(
    world, stack, big_export, keeps_data
):
    from kpis.imports.services import import_file_sync

    job = import_file_sync(
        msp=world.northwind,
        client=world.acme,
        user=None,
        via=ImportJob.Via.COMMAND,
        name=big_export.name,
        content=big_export.read_bytes(),
        preset="connectwise",
    )
    assert job.status == ImportJob.Status.DONE
    assert RecomputeRequest.objects.filter(client=world.acme).exists()
    stack.worker()
    stack.beat()
    stack.app.send_task(RECOMPUTE_TASK, args=[world.acme.pk])

    wait_until(
        lambda: recompute_lock(world.acme.pk, granted=True),
        120,
        "the recompute to start",
        every=0.05,
    )
    assert broker_messages(stack, RECOMPUTE_TASK)["unacked"] == [[world.acme.pk]]
    stack.redis.mark("before-the-kill")
    stack.redis.stop()
    assert recompute_lock(world.acme.pk, granted=True)  # the fault hit a running recompute
    time.sleep(2)
    stack.redis.start()
    assert stack.redis.holds("before-the-kill") is keeps_data
    wait_until(
        lambda: not RecomputeRequest.objects.filter(client=world.acme).exists(),
        180,
        "the recompute to finish",
    )
    assert KpiSnapshot.objects.filter(client=world.acme, period_label__contains="Q").exists()
    if keeps_data:  # the message came back with Redis: acknowledged there, or run again
        settle(stack, RECOMPUTE_TASK)
    # The worker is back on the restarted broker: a new job runs.
    RecomputeRequest.objects.create(client=world.acme, month="2025-07-01")
    stack.app.send_task(RECOMPUTE_TASK, args=[world.acme.pk])
    wait_until(
        lambda: not RecomputeRequest.objects.filter(client=world.acme).exists(),
        120,
        "a recompute after the restart",
    )


@pytest.mark.redis_keeps_data
def test_redis_restarted_with_its_data_mid_import_the_import_finishes_once_and_nothing_is_left(
    world, stack, big_export
):
    """A Redis that persists its data (an append-only file) is killed mid-import and comes back
    with everything it had: the delivered, unacknowledged message, the progress key with the
    phase it held, the markers. The import ends during the outage or after it (the timing
    decides); either way it is done exactly once, and the copy of its message that Redis kept
    is acknowledged or, run again, does nothing (`settle`)."""
    api, job_id = uploaded_and_past_reading(world, stack, big_export, beat=True)
    assert broker_messages(stack, IMPORT_TASK) == {"queued": [], "unacked": [[job_id]]}
    stack.redis.mark("before-the-kill")
    stack.redis.stop()  # SIGKILL: no shutdown save, only what the append-only file holds
    time.sleep(2)
    stack.redis.start()
    assert stack.redis.holds("before-the-kill")  # the data came back
    assert api_job(api, job_id)["status"] in ("running", "done")
    job = finished(job_id)
    assert_imported_exactly_once(world, job, ROWS)
    # The progress comes from the job row once it is done, not from the key Redis kept.
    progress = api_job(api, job_id)["progress"]
    assert (progress["status"], progress["phase"]) == ("done", job.phase)
    assert job.phase not in PAST_READING
    how = settle(stack, IMPORT_TASK)
    outcomes = task_outcomes(stack, IMPORT_TASK)
    assert outcomes.count("'done'") == 1, (how, outcomes)
    assert set(outcomes) <= {"'done'", "'already handled'"}, (how, outcomes)
    if how == "redelivered":
        assert "'already handled'" in outcomes, outcomes
    # The recompute the import asked for ran too: sent after the restart, or, when the import
    # ended during the outage and could not send it, by beat's sweep.
    wait_until(
        lambda: not RecomputeRequest.objects.filter(client=world.acme).exists(),
        120,
        "the recompute after the import",
    )
    assert KpiSnapshot.objects.filter(client=world.acme).exists()
    # Another copy of the message, sent now, finds the job done and changes nothing.
    finished_at = job.finished_at
    again = stack.app.send_task(IMPORT_TASK, args=[job_id])
    outcome = wait_until(lambda: task_outcomes(stack, IMPORT_TASK, again.id), 60, "another copy")
    assert outcome == ["'already handled'"]
    job.refresh_from_db()
    assert job.finished_at == finished_at
    assert_imported_exactly_once(world, job, ROWS)


@pytest.mark.redis_keeps_data
def test_a_message_whose_ack_was_lost_comes_back_and_changes_nothing(world, stack, big_export):
    """An ack lost with its connection leaves a done import's message unacknowledged in Redis
    (here: taken by a consumer that then dies without a word). Given back to the queue, as the
    visibility timeout does, the next worker runs it and it does nothing."""
    stack.worker()
    job = queue_import(world, big_export)
    stack.app.send_task(IMPORT_TASK, args=[job.pk])
    job = finished(job.pk)
    assert settle(stack, IMPORT_TASK) == "acknowledged"
    finished_at = job.finished_at
    stack.kill("worker")
    stack.app.send_task(IMPORT_TASK, args=[job.pk])
    with stack.app.connection_for_write() as taker:  # delivered, never acknowledged
        assert taker.default_channel.basic_get(queue="celery", no_ack=False) is not None
        assert broker_messages(stack, IMPORT_TASK) == {"queued": [], "unacked": [[job.pk]]}
        stack.worker("worker-2")
        assert settle(stack, IMPORT_TASK) == "redelivered"
    assert task_outcomes(stack, IMPORT_TASK, worker="worker-2") == ["'already handled'"]
    job.refresh_from_db()
    assert job.finished_at == finished_at
    assert_imported_exactly_once(world, job, ROWS)
