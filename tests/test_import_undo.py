"""Undo an import: what it created is removed, what it updated or replaced gets its values
back, the KPIs follow; refused when a later import built on it or the window has passed."""

from __future__ import annotations

import datetime
import io

import polars as pl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from contracts.models import AuditEvent
from kpis.models import ImportJob, ImportUndoRow, RecomputeRequest, Ticket

from .test_import import SAMPLES, run_import

CW = SAMPLES / "connectwise_service_tickets.csv"
HALO = SAMPLES / "halopsa_tickets.csv"
PERIODS = ["2025-Q3", "2025-Q4", "2026-01"]


def kpi_reports(client) -> str:
    text = []
    for period in PERIODS:
        out = io.StringIO()
        call_command(
            "kpi_report",
            "--client",
            client.slug,
            "--period",
            period,
            stdout=out,
            stderr=io.StringIO(),
        )
        text.append(out.getvalue())
    return "\n".join(text)


def tickets_digest(client) -> str:
    """Every stored column of every ticket of the client, ids included, as one md5."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(to_jsonb(t)::text, '|' ORDER BY id)) FROM kpis_ticket t "
            "WHERE client_id = %s",
            [client.pk],
        )
        return cursor.fetchone()[0]


def changed_export(tmp_path) -> tuple:
    """The ConnectWise sample with 300 tickets re-prioritised and 40 new ones (the ticket
    numbers of 40 of them, renumbered), as a later export would be."""
    frame = pl.read_csv(CW, infer_schema=False)
    frame = frame.filter(pl.col("Ticket #").is_not_null())
    changed = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 300)
        .then(pl.lit("Priority 1 - Emergency Response"))
        .otherwise(pl.col("Priority"))
        .alias("Priority")
    )
    new = frame.slice(100, 40).with_columns(("9" + pl.col("Ticket #")).alias("Ticket #"))
    path = tmp_path / "connectwise_later.csv"
    pl.concat([changed, new]).write_csv(path)
    return path


def test_undoing_a_reimport_of_a_changed_file_gives_back_byte_identical_kpis(world, tmp_path):
    run_import(CW, world.acme.slug)
    before_report, before_rows = kpi_reports(world.acme), tickets_digest(world.acme)
    counts, _ = run_import(changed_export(tmp_path), world.acme.slug)
    assert counts["created"] == 40 and counts["updated"] >= 290
    assert kpi_reports(world.acme) != before_report  # the later file moves the figures
    second = ImportJob.objects.order_by("-pk").first()

    out = io.StringIO()
    call_command("undo_import", str(second.pk), stdout=out, stderr=io.StringIO())
    assert f"Import {second.pk} undone: 40 tickets removed, {counts['updated']} restored" in (
        out.getvalue()
    )
    assert tickets_digest(world.acme) == before_rows
    assert kpi_reports(world.acme) == before_report
    assert not RecomputeRequest.objects.filter(client=world.acme).exists()

    second.refresh_from_db()
    assert second.status == ImportJob.Status.UNDONE and second.undone_at is not None
    assert not ImportUndoRow.objects.filter(job=second).exists()
    event = AuditEvent.objects.get(action="undo import")
    assert event.object_id == str(second.pk) and event.client == world.acme
    assert event.changes["status"] == ["done", "undone"]


def test_undoing_a_replacement_brings_the_other_sources_tickets_back_with_their_ids(world):
    run_import(CW, world.acme.slug, "--no-recompute")
    before = tickets_digest(world.acme)
    run_import(HALO, world.acme.slug, "--no-recompute", "--on-overlap=replace")
    assert not Ticket.objects.filter(client=world.acme, source_system="connectwise").exists()
    replacing = ImportJob.objects.order_by("-pk").first()
    call_command("undo_import", str(replacing.pk), "--no-recompute", stdout=io.StringIO())
    assert tickets_digest(world.acme) == before
    # Months of both sources' tickets are asked for recompute.
    assert RecomputeRequest.objects.filter(client=world.acme).count() >= 12


def test_an_import_a_later_one_built_on_is_refused_until_that_one_is_undone(world, tmp_path):
    run_import(CW, world.acme.slug, "--no-recompute")
    run_import(changed_export(tmp_path), world.acme.slug, "--no-recompute")
    first, second = ImportJob.objects.order_by("pk")
    digest = tickets_digest(world.acme)
    with pytest.raises(CommandError, match=f"undo import {second.pk} first"):
        call_command("undo_import", str(first.pk))
    assert tickets_digest(world.acme) == digest
    call_command("undo_import", str(second.pk), "--no-recompute", stdout=io.StringIO())
    call_command("undo_import", str(first.pk), "--no-recompute", stdout=io.StringIO())
    assert not Ticket.objects.filter(client=world.acme).exists()
    with pytest.raises(CommandError, match="was undone already"):
        call_command("undo_import", str(first.pk))


def test_an_import_past_the_undo_window_is_refused(world, settings):
    run_import(CW, world.acme.slug, "--no-recompute")
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(
        finished_at=job.finished_at - datetime.timedelta(days=settings.IMPORT_UNDO_DAYS, hours=1)
    )
    with pytest.raises(CommandError, match="can no longer be undone"):
        call_command("undo_import", str(job.pk))
    assert Ticket.objects.filter(client=world.acme).count() == 2077
    settings.IMPORT_UNDO_DAYS = 31
    call_command("undo_import", str(job.pk), "--no-recompute", stdout=io.StringIO())
    assert not Ticket.objects.filter(client=world.acme).exists()


def test_what_an_import_past_the_window_kept_for_undo_is_purged(world, tmp_path):
    from kpis.imports.undo import undo_rows_purge

    run_import(CW, world.acme.slug, "--no-recompute")
    run_import(changed_export(tmp_path), world.acme.slug, "--no-recompute")
    run_import(CW, world.acme.slug, "--no-recompute")  # puts the 300 priorities back
    _first, old, recent = ImportJob.objects.order_by("pk")
    assert ImportUndoRow.objects.filter(job=old).count() >= 290
    assert ImportUndoRow.objects.filter(job=recent).count() >= 290
    ImportJob.objects.filter(pk=old.pk).update(
        finished_at=old.finished_at - datetime.timedelta(days=31)
    )
    kept_by_old = ImportUndoRow.objects.filter(job=old).count()
    assert undo_rows_purge() == kept_by_old
    assert not ImportUndoRow.objects.filter(job=old).exists()
    assert ImportUndoRow.objects.filter(job=recent).count() >= 290


def test_rows_that_go_with_a_ticket_are_kept_and_restored_with_it(world, tmp_path, monkeypatch):
    """The hook for tables written with a ticket (a status history): listed in
    TICKET_COMPANIONS, their rows are kept in the before-document and restored. Shown with the
    clocks, the one such table today (normally rebuilt by the recompute instead)."""
    from kpis.imports import undo

    monkeypatch.setattr(undo, "TICKET_COMPANIONS", ("kpis_ticketclock",))
    run_import(CW, world.acme.slug)  # recomputed: every ticket has its clock

    def clocks() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT md5(string_agg(to_jsonb(c)::text, '|' ORDER BY ticket_id)) "
                "FROM kpis_ticketclock c WHERE client_id = %s",
                [world.acme.pk],
            )
            return cursor.fetchone()[0]

    before = clocks()
    run_import(changed_export(tmp_path), world.acme.slug)
    assert clocks() != before
    second = ImportJob.objects.order_by("-pk").first()
    kept = ImportUndoRow.objects.filter(job=second, action="updated").first().before
    assert kept["kpis_ticketclock"][0]["ticket_id"] == kept["ticket"]["id"]
    call_command("undo_import", str(second.pk), "--no-recompute", stdout=io.StringIO())
    assert clocks() == before
