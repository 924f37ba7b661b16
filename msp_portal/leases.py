"""Leases on background jobs and a broker-safe enqueue: how a job left 'running' by a dead worker,
or 'queued' while the broker was down, is found and handed to a worker again.

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

import kombu.exceptions
import psycopg2
import redis.exceptions
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

# What publishing a task raises when Redis is down or restarting, or does not answer within
# BROKER_SOCKET_TIMEOUT_SECONDS: redis.exceptions.TimeoutError (a RedisError), which kombu
# re-raises as kombu.exceptions.OperationalError (a KombuError); socket.timeout is an OSError.
BROKER_ERRORS = (kombu.exceptions.KombuError, redis.exceptions.RedisError, OSError)
ENQUEUED_TTL = 24 * 3600
# A dropped database connection, as Django's cursor raises it and as the raw psycopg2 cursor of
# the COPY in kpis.imports.store does: transient, retried with backoff by the tasks.
DATABASE_ERRORS = (
    OperationalError, InterfaceError, psycopg2.OperationalError, psycopg2.InterfaceError
)  # fmt: skip


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
