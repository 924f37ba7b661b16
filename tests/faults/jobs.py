"""What the fault tests ask of the jobs they strike: uploads and their progress through the
API, the lease holder, the broker's messages and the task outcomes a worker logged."""

from __future__ import annotations

import ast
import contextlib
import json
import pickle
import re
from pathlib import Path

import redis
import requests
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from kpis.models import ImportJob, Ticket
from msp_portal.jobs import Locks
from reviews.models import Review

from .support import Stack, wait_until


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
        msp=world.northwind,
        client=world.acme,
        user=world.msp_staff,
        via=ImportJob.Via.API,
        name=path.name,
        content=path.read_bytes(),
    )
    mapping = mapping_prepare(job, preset=preset)
    ImportJob.objects.filter(pk=job.pk).update(
        mapping=mapping.to_json(),
        preset=mapping.preset,
        status=ImportJob.Status.QUEUED,
        phase="queued",
    )
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
    wait_until(
        lambda: live_phase(stack, job_id) in PAST_READING, 120, "a phase past reading", every=0.02
    )


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
