"""Background jobs (imports, review PDFs): one lifecycle for all of them. A job row is queued,
handed to a worker (enqueue), claimed under a lease, and ends done, rejected or failed; a sweep
finds the job left 'running' by a dead worker, or 'queued' while the broker was down, and hands
it to a worker again. The advisory-lock namespaces every kind of work takes are listed here, in
one place, so no two kinds share a number.

A lease is a session-level PostgreSQL advisory lock taken by the process that runs the job. It
needs no heartbeat: PostgreSQL drops it the moment that process's connection goes (SIGKILL,
OOM, a terminated backend), so "running and nobody holds the lease" means "orphaned", with no
clock to tune and no chance of taking over a slow job that is still alive.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import kombu.exceptions
import psycopg2
import redis.exceptions
from celery import Task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class Locks:
    """PostgreSQL advisory-lock namespaces (the first key of a two-key lock; the second is the
    row's id). A lease is session-level; the others are transaction-level."""

    IMPORT_JOB = 7301  # an import's lease, by job id
    IMPORT_CLIENT = 7302  # a client's tickets while an import stores them, by client id
    RECOMPUTE = 7303  # a client's recompute, by client id
    REVIEW_PDF = 7311  # a review PDF's lease, by review id
    DISPUTE_OPEN = 7321  # opening a dispute of a contract, by contract id
    TOOL_REPORTS = 7331  # importing or undoing a contract's tool reports, by contract id
    TOOL_REPORT_JOB = 7332  # a tool report import's lease, by job id


# What publishing a task raises when Redis is down or restarting, or does not answer within
# BROKER_SOCKET_TIMEOUT_SECONDS: redis.exceptions.TimeoutError (a RedisError), which kombu
# re-raises as kombu.exceptions.OperationalError (a KombuError); socket.timeout is an OSError.
BROKER_ERRORS = (kombu.exceptions.KombuError, redis.exceptions.RedisError, OSError)
ENQUEUED_TTL = 24 * 3600
# A dropped database connection, as Django's cursor raises it and as the raw psycopg2 cursor of
# the COPY in kpis.imports.store does: transient, retried with backoff by the tasks.
DATABASE_ERRORS = (
    OperationalError,
    InterfaceError,
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
)


@dataclass(frozen=True)
class LiveProgress:
    """A kind of job's live progress (phase, rows done of total), kept in the cache, not the
    job's row: the job's own transaction is still open while it reports. Only a display: a
    Redis restart must not fail the job that reports to it, nor the page that reads it."""

    prefix: str  # "import-progress": the cache key is the prefix and the job's id
    ttl: int = 24 * 3600

    def set(self, job_id: int, phase: str, done: int, total: int | None) -> None:
        try:
            cache.set(
                f"{self.prefix}:{job_id}", {"phase": phase, "done": done, "total": total}, self.ttl
            )
        except BROKER_ERRORS as error:
            log.warning("%s %s: progress not reported (%s)", self.prefix, job_id, error)

    def get(self, job_id: int) -> dict | None:
        # Without Redis the page still shows the row's true status, only not the live rows.
        with contextlib.suppress(*BROKER_ERRORS):
            return cache.get(f"{self.prefix}:{job_id}")
        return None


def _try_lock(namespace: int, key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
        return cursor.fetchone()[0]


def _unlock(namespace: int, key: int) -> None:
    # The connection may be the one that just broke: then PostgreSQL has released the lock.
    with contextlib.suppress(Exception), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])


@contextlib.contextmanager
def lease(namespace: int, key: int, *, wait: float = 0) -> Iterator[bool]:
    """Hold the job's lease while the block runs; yields False when a live process holds it.

    `wait`: seconds to keep asking, so a task redelivered the moment its worker died finds the
    dead process's lease already gone."""
    deadline = time.monotonic() + wait
    held = _try_lock(namespace, key)
    while not held and time.monotonic() < deadline:
        time.sleep(0.5)
        held = _try_lock(namespace, key)
    try:
        yield held
    finally:
        if held:
            _unlock(namespace, key)


def enqueued_key(kind: str, key: int) -> str:
    return f"enqueued:{kind}:{key}"


def enqueue(task, *args, kind: str, key: int) -> bool:
    """Publish the task; False when the broker is unreachable (the caller's job stays queued and
    the sweep publishes it once the broker is back). A marker in Redis says a message is out, so
    the sweep leaves the job alone; a Redis restarted empty loses the marker with the message."""
    try:
        task.delay(*args)
    except BROKER_ERRORS as error:
        log.warning("broker unreachable, %s %s stays queued: %s", kind, key, error)
        return False
    mark_enqueued(kind, key)
    return True


# By name: the apps whose changes call for a recompute (contracts, outages) do not import the
# KPI app's tasks.
RECOMPUTE_TASK = "kpis.tasks.kpis_recompute_task"


def recompute_enqueue(client_id: int, *, full: bool = False) -> bool:
    """Hand a client's KPI recompute to a worker (every period with `full`); False when the
    broker is unreachable: an import's requests stay for the sweep, and a full recompute waits
    for the nightly one."""
    task = import_string(RECOMPUTE_TASK)
    args = (client_id, True) if full else (client_id,)  # an import's message: its client alone
    return enqueue(task, *args, kind="recompute", key=client_id)


def recompute_after_commit(client_id: int) -> None:
    """Every period of the client is recomputed once the current transaction commits (targets,
    calendars, credit terms, areas or outages changed). Once per transaction: twenty occurrences
    recorded in one transaction (the demo's history, a contract file) queue one recompute.

    The callbacks Django keeps for the commit are read to find one already waiting for this
    client; a rolled-back savepoint drops its callbacks from that list, so what is found there
    will run."""
    if recompute_pending(client_id):
        return

    def enqueue_full() -> None:
        recompute_enqueue(client_id, full=True)

    enqueue_full.recompute_client = client_id  # type: ignore[attr-defined]
    transaction.on_commit(enqueue_full)


def recompute_pending(client_id: int) -> bool:
    """Whether the current transaction will queue the client's full recompute when it commits
    (recompute_after_commit)."""
    connection = transaction.get_connection()
    return connection.in_atomic_block and any(
        getattr(pending[1], "recompute_client", None) == client_id
        for pending in connection.run_on_commit
    )


def mark_enqueued(kind: str, key: int, seconds: int = ENQUEUED_TTL) -> None:
    """Say a message is out for the job (a retry the task itself published)."""
    with contextlib.suppress(*BROKER_ERRORS):
        cache.set(enqueued_key(kind, key), True, seconds)


def is_enqueued(kind: str, key: int) -> bool:
    try:
        return bool(cache.get(enqueued_key(kind, key)))
    except BROKER_ERRORS:
        return False


def forget_enqueued(kind: str, key: int) -> None:
    with contextlib.suppress(*BROKER_ERRORS):
        cache.delete(enqueued_key(kind, key))


# A task redelivered the instant its worker was killed may reach PostgreSQL before the dead
# worker's backend has noticed its client is gone; it waits this long for the lease.
LEASE_WAIT_SECONDS = 10
RETRY_MARK_SECONDS = 300  # > a task's longest backoff: then the sweep assumes the retry lost


@dataclass(frozen=True)
class JobKind:
    """How one kind of job row moves through its lifecycle. The models name their columns
    differently (an import's `status`, a review's `pdf_status`): these fields say which."""

    name: str  # the kind in the "a message is out" marker
    lock: int  # its lease's namespace (Locks)
    model: type[models.Model]
    task: str  # the Celery task's dotted path, imported when first sent (tasks import services)
    queued: str
    running: str
    failed: str
    status: str = "status"
    phase: str = "phase"
    message: str = "message"
    queued_phase: str = "queued"  # what the phase says once a message is out
    failed_phase: str = "failed"
    waiting_message: str = ""  # what the message says while the broker is unreachable
    ended_at: str = ""  # a column stamped when the job fails, if the model has one
    progress: LiveProgress | None = None  # told of a retry or a failure, if the kind has one

    def _progress(self, pk: int, phase: str) -> None:
        if self.progress is not None:
            self.progress.set(pk, phase, 0, None)

    def _rows(self, pk: int, *statuses: str):
        return self.model.objects.filter(pk=pk, **{f"{self.status}__in": statuses})

    def enqueue(self, pk: int) -> bool:
        """Hand a queued job to a worker; with the broker down it stays queued, saying so, and
        the sweep (or the next look at its page) hands it over once the broker is back."""
        queued = self._rows(pk, self.queued)
        if enqueue(import_string(self.task), pk, kind=self.name, key=pk):
            queued.exclude(**{self.phase: self.queued_phase}).update(
                **{self.phase: self.queued_phase, **self._message("")}
            )
            return True
        queued.update(
            **{self.phase: "waiting for the task queue", **self._message(self.waiting_message)}
        )
        return False

    def _message(self, text: str) -> dict:
        # A kind without a waiting message leaves its message column alone.
        return {self.message: text} if self.waiting_message else {}

    def requeue_if_lost(self, pk: int) -> bool:
        """On a look at a queued job: if no message is out for it (the broker was down when it
        was queued, or restarted empty), hand it over now. True when it was handed over."""
        if self._rows(pk, self.queued).exists() and not is_enqueued(self.name, pk):
            return self.enqueue(pk)
        return False

    @contextlib.contextmanager
    def leased(self, pk: int) -> Iterator[bool]:
        """Hold the job's lease while it runs (False: a live process runs it already), so a
        task redelivered after its worker died takes the job over, and a duplicate of a task
        still running elsewhere does nothing."""
        with lease(self.lock, pk, wait=LEASE_WAIT_SECONDS) as held:
            yield held

    def claim(self, pk: int, **columns) -> bool:
        """Mark the job running, under its lease: "running" can then only be a dead attempt's,
        taken over. False when it is no longer queued or running (done, or never queued)."""
        claimed = self._rows(pk, self.queued, self.running).update(
            **{self.status: self.running, **columns}
        )
        if claimed:
            forget_enqueued(self.name, pk)  # off the queue: if this worker dies, the sweep sees it
        return bool(claimed)

    def retry_later(self, pk: int) -> None:
        """The database went away mid-job (nothing of it was committed): queued again, saying
        so, for the task's retry. With the database still down this cannot be written, and the
        retry takes the job over from 'running' instead."""
        connection.close()  # a broken connection: the next query opens a fresh one
        with contextlib.suppress(*DATABASE_ERRORS):
            self._rows(pk, self.running).update(
                **{self.status: self.queued, self.phase: "retrying (database)"}
            )
        mark_enqueued(self.name, pk, RETRY_MARK_SECONDS)
        self._progress(pk, "retrying (database)")

    def fail(self, pk: int, message: str) -> None:
        """The task gave up (its retries spent): the job says so instead of staying queued."""
        ended = {self.ended_at: timezone.now()} if self.ended_at else {}
        self._rows(pk, self.queued, self.running).update(
            **{self.status: self.failed, self.phase: self.failed_phase, self.message: message},
            **ended,
        )
        self._progress(pk, "failed")

    def sweep(self) -> tuple[int, int]:
        """Jobs left 'running' by a dead worker (nobody holds their lease) are queued again, and
        queued jobs with no message out are handed to a worker. Returns (resumed, handed over);
        running it twice is harmless."""
        resumed = 0
        running = self.model.objects.filter(**{self.status: self.running})
        for pk in running.values_list("pk", flat=True):
            with lease(self.lock, pk) as orphaned:
                if orphaned:
                    resumed += self._rows(pk, self.running).update(
                        **{self.status: self.queued, self.phase: "resuming (worker stopped)"}
                    )
                    forget_enqueued(self.name, pk)
        handed = 0
        queued = self.model.objects.filter(**{self.status: self.queued})
        for pk in queued.values_list("pk", flat=True):
            if not is_enqueued(self.name, pk):
                handed += self.enqueue(pk)
        return resumed, handed


class JobTask(Task):
    """The base of a job's Celery task: once its retries are spent, the job is marked failed,
    never left queued. A worker killed mid-task is not a failure: its message goes back to the
    queue and the next worker resumes. `job` is the dotted path of the task's JobKind."""

    job: str = ""
    failure_message = "It failed ({error})."

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        pk = args[0] if args else next(iter(kwargs.values()))
        # The page says what kind of trouble in words; the error itself is in Celery's log.
        import_string(self.job).fail(pk, self.failure_message.format(error=failure_words(exc)))


def failure_words(error: BaseException) -> str:
    """What stopped a job, in words for its page (never an exception's name)."""
    if isinstance(error, DATABASE_ERRORS):
        return "the database could not be reached"
    if isinstance(error, OSError):  # a timeout, a refused connection, a full disk
        return "a service it needs did not answer"
    return "an error of ours, in the worker's log"
