"""A process killed mid-undo: the import's tickets are left as they were after it (the undo's
one transaction never committed), never a mix; the next undo then does the whole of it
(RELIABILITY.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.db import connection

from kpis.imports.services import import_file_sync
from kpis.models import ImportJob, ImportUndoRow

from .support import FAULTS, ROOT, ROWS, export_frame, wait_until

pytestmark = FAULTS


def tickets_digest(client) -> str:
    """Every stored column of every ticket of the client, ids included, as one md5."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(to_jsonb(t)::text, '|' ORDER BY id)) FROM kpis_ticket t "
            "WHERE client_id = %s",
            [client.pk],
        )
        return cursor.fetchone()[0]


def _import(world, path) -> ImportJob:
    return import_file_sync(
        msp=world.northwind,
        client=world.acme,
        user=world.msp_staff,
        via=ImportJob.Via.COMMAND,
        name=path.name,
        content=path.read_bytes(),
        preset="connectwise",
    )


def _undo_running() -> bool:
    """The undo's restore of the updated tickets is running in another backend (the start of
    its statement: pg_stat_activity keeps the first 1,024 bytes)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
            "AND query LIKE 'UPDATE kpis_ticket t SET client_id = r.client_id%'"
        )
        return cursor.fetchone() is not None


def _no_undo_backend() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND query LIKE '%kpis_importundorow%' AND state <> 'idle'"
        )
        return cursor.fetchone() is None


def test_a_process_killed_mid_undo_leaves_the_import_whole_and_a_second_undo_finishes(
    world, stack, big_export, tmp_path
):
    _import(world, big_export)
    before = tickets_digest(world.acme)
    # The same ticket numbers with other values, and 20,000 more: the undo removes those
    # first, then restores the others; a kill in the restore must not leave them removed.
    later = tmp_path / "connectwise-later.csv"
    export_frame(ROWS + 20_000, 1, seed=8).write_csv(later)
    job = _import(world, later)
    assert job.status == ImportJob.Status.DONE and job.updated > ROWS * 0.9
    assert job.created == 20_000
    after = tickets_digest(world.acme)
    assert after != before

    undo = [sys.executable, "manage.py", "undo_import", str(job.pk), "--no-recompute"]
    proc = subprocess.Popen(undo, env=stack.env, cwd=ROOT, start_new_session=True)
    wait_until(_undo_running, 120, "the undo to restore the updated tickets")
    os.kill(proc.pid, signal.SIGKILL)  # mid-statement: its transaction never commits
    proc.wait(10)
    wait_until(_no_undo_backend, 30, "PostgreSQL to end the killed undo's backend")

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.undone_at is None
    assert tickets_digest(world.acme) == after  # the after-state, whole: no ticket removed
    assert ImportUndoRow.objects.filter(job=job).count() == job.updated  # kept for the retry

    finished = subprocess.run(undo, env=stack.env, cwd=ROOT, capture_output=True, timeout=300)
    assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE
    assert tickets_digest(world.acme) == before
