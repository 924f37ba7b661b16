"""Overlap with another source: the same tickets exported by a second PSA tool (or from two tools)
would be counted twice. An import compares its tickets with the client's tickets from other
sources before it stores anything, and above a share of the file it stops and asks: import
anyway, replace the other source's tickets for the overlapping dates, or cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl
from django.conf import settings
from django.db import connection

from contracts.models import Organisation
from kpis.imports.copy_frame import copy_frame
from kpis.imports.ingest.presets import PRESETS
from kpis.models import ImportJob


class OverlapFound(Exception):
    """The import's tickets look like another source's: nothing was stored; the facts say why."""

    def __init__(self, facts: dict):
        super().__init__(overlap_words(facts))
        self.facts = facts


# Two tickets are the same when created in the same minute with the same title (in any case and
# punctuation), or in the same minute by the same requester in the same category: titles differ
# between tools (a prefix, a cut) more often than requesters do.
_TITLE_KEY = ["client_id", "minute", "title_key"]
_REQUESTER_KEY = ["client_id", "minute", "requester_key", "category_key"]


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    def plain(column: str) -> pl.Expr:
        return (
            pl.col(column)
            .fill_null("")
            .str.to_lowercase()
            .str.replace_all(r"[^\p{L}\p{N}]+", " ")
            .str.strip_chars()
        )

    return frame.with_columns(
        minute=pl.col("created_at").dt.truncate("1m"),
        title_key=plain("title"),
        requester_key=plain("requester"),
        category_key=plain("category"),
    )


def _others(client_ids: list[int], source_system: str, first, last) -> pl.DataFrame:
    """The clients' tickets from other sources created within [first, last]: one COPY."""
    schema = {
        "id": pl.Int64,
        "client_id": pl.Int64,
        "source_system": pl.String,
        "import_job_id": pl.Int64,
        "created_at": pl.String,
        "title": pl.String,
        "requester": pl.String,
        "category": pl.String,
    }
    with connection.cursor() as cursor:
        frame = copy_frame(
            cursor,
            f"SELECT {', '.join(schema)} FROM kpis_ticket WHERE client_id = ANY(%s) "
            "AND source_system <> %s AND created_at >= %s AND created_at < %s "
            "+ interval '1 minute'",
            [client_ids, source_system, first, last],
            schema,
        )
    # The session's zone is UTC: '2025-07-08 21:05:00+00' or with fractions of a second.
    return frame.with_columns(
        pl.col("created_at").str.slice(0, 19).str.to_datetime("%Y-%m-%d %H:%M:%S")
    )


def overlap_find(
    tickets: pl.DataFrame, *, source_system: str, zone_by_client: dict[int, str]
) -> dict | None:
    """The facts of the overlap of these tickets (normalised, with their client) with the
    stored tickets of other sources, when it reaches IMPORT_OVERLAP_PERCENT of the file; None
    below it. Two joins in polars on the file's tickets and the others within its dates."""
    new = tickets.select(
        pl.col("client_id").cast(pl.Int64),
        pl.col("created_at").dt.replace_time_zone(None)
        if isinstance(tickets.schema["created_at"], pl.Datetime)
        and tickets.schema["created_at"].time_zone  # type: ignore[union-attr]
        else pl.col("created_at"),
        "title",
        "requester",
        "category",
    ).filter(pl.col("created_at").is_not_null())
    if new.is_empty():
        return None
    first, last = new["created_at"].min(), new["created_at"].max()
    others = _others(
        sorted(new["client_id"].unique().to_list()),
        source_system,
        first.replace(tzinfo=UTC),  # type: ignore[union-attr]
        last.replace(tzinfo=UTC),  # type: ignore[union-attr]
    )
    if others.is_empty():
        return None
    new = _keys(new.with_row_index("row"))
    old = _keys(others)
    by_title = new.filter(pl.col("title_key") != "").join(old, on=_TITLE_KEY)
    by_requester = new.filter((pl.col("requester_key") != "") & (pl.col("category_key") != ""))
    by_requester = by_requester.join(old, on=_REQUESTER_KEY)
    pairs = pl.concat(
        [
            f.select("row", "id", "client_id", "source_system", "import_job_id", "created_at_right")
            for f in (by_title, by_requester)
        ]
    ).unique()
    matched = pairs["row"].n_unique()
    percent = settings.IMPORT_OVERLAP_PERCENT
    if not matched or matched * 100 < percent * tickets.height:
        return None
    return {
        "matched": matched,
        "total": tickets.height,
        "percent": percent,
        "sources": _sources(pairs, others, zone_by_client),
    }


def _sources(pairs: pl.DataFrame, others: pl.DataFrame, zone_by_client: dict[int, str]) -> list:
    """Per client and other source: its imports, the dates its matched tickets span (what a
    replacement deletes), how many of its tickets are in them."""
    names = dict(Organisation.objects.filter(pk__in=list(zone_by_client)).values_list("pk", "name"))
    sources = []
    groups = pairs.group_by("client_id", "source_system").agg(
        matched=pl.col("row").n_unique(),
        first=pl.col("created_at_right").min(),
        last=pl.col("created_at_right").max(),
        jobs=pl.col("import_job_id").drop_nulls().unique(),
    )
    for client_id, source, matched, first, last, job_ids in groups.sort(
        "client_id", "source_system"
    ).iter_rows():
        in_range = others.filter(
            (pl.col("client_id") == client_id)
            & (pl.col("source_system") == source)
            & pl.col("created_at").is_between(first, last)
        ).height
        zone = ZoneInfo(zone_by_client.get(client_id, "UTC"))
        jobs = ImportJob.objects.filter(pk__in=job_ids).order_by("-created_at")
        sources.append(
            {
                "client_id": client_id,
                "client": names.get(client_id, ""),
                "source": source,
                "source_label": PRESETS[source].label if source in PRESETS else source,
                "imports": [
                    {"id": j.pk, "name": j.original_name, "at": j.created_at.isoformat()}
                    for j in jobs[:5]
                ],
                "first": first.replace(tzinfo=UTC).isoformat(),
                "last": last.replace(tzinfo=UTC).isoformat(),
                "first_day": f"{first.replace(tzinfo=UTC).astimezone(zone):%Y-%m-%d}",
                "last_day": f"{last.replace(tzinfo=UTC).astimezone(zone):%Y-%m-%d}",
                "matched": matched,
                "in_range": in_range,
            }
        )
    return sources


def overlap_words(facts: dict) -> str:
    """The overlap in a sentence: what matched, which import and source, which dates."""
    share = round(100 * facts["matched"] / max(facts["total"], 1))
    parts = []
    for s in facts["sources"]:
        imports = ", ".join(f"import {i['id']} ({i['name']})" for i in s["imports"]) or "an import"
        parts.append(
            f"{s['client']}'s tickets from {s['source_label']} ({imports}), created "
            f"{s['first_day']} to {s['last_day']} ({s['in_range']:,} tickets in those dates)"
        )
    return (
        f"{facts['matched']:,} of this file's {facts['total']:,} tickets ({share}%) look like "
        "tickets already imported from another source: " + "; ".join(parts) + "."
    )


def overlap_replace(facts: dict, *, job_id: int) -> pl.DataFrame:
    """Delete the other sources' tickets in the overlapping dates, keeping each as it was for
    an undo; returns their client, creation and resolution (the months to recompute)."""
    from kpis.imports.undo import TICKET_COMPANIONS, ticket_document  # the undo's, one place

    spans = []
    with connection.cursor() as cursor:
        for s in facts["sources"]:
            where = (
                "client_id = %s AND source_system = %s AND created_at >= %s "
                "AND created_at < %s::timestamptz + interval '1 minute'"
            )
            params = [s["client_id"], s["source"], s["first"], s["last"]]
            cursor.execute(
                "INSERT INTO kpis_importundorow (job_id, ticket_id, action, before, before_job_id) "
                f"SELECT %s, t.id, 'deleted', {ticket_document('t')}, t.import_job_id "
                f"FROM kpis_ticket t WHERE {where}",
                [job_id, *params],
            )
            cursor.execute(
                f"DELETE FROM kpis_ticket WHERE {where} RETURNING client_id, created_at, "
                "resolved_at",
                params,
            )
            spans += cursor.fetchall()
        for table in ("kpis_ticketclock", *TICKET_COMPANIONS):  # no cascade in SQL
            cursor.execute(
                f"DELETE FROM {table} WHERE ticket_id IN (SELECT ticket_id FROM "
                "kpis_importundorow WHERE job_id = %s AND action = 'deleted')",
                [job_id],
            )
    return spans_frame(spans)


def spans_frame(rows: list[tuple]) -> pl.DataFrame:
    """(client, created, resolved) rows as the store's months function takes them: naive UTC."""
    return pl.DataFrame(
        [
            (c, _naive(a), _naive(b))  # psycopg's aware datetimes, in UTC
            for c, a, b in rows
        ],
        schema={"client_id": pl.Int64, "start": pl.Datetime("us"), "end": pl.Datetime("us")},
        orient="row",
    )


def _naive(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC).replace(tzinfo=None) if value else None


def overlap_settle(
    job: ImportJob, tickets: pl.DataFrame, *, source_system: str, zone_by_client: dict[int, str]
) -> pl.DataFrame | None:
    """The import's hook, run under the clients' import locks before the store: stop with the
    facts (OverlapFound) when nobody chose yet, delete the other source's tickets when asked to
    replace them; None or the spans of what was deleted."""
    if job.on_overlap == ImportJob.OnOverlap.IMPORT:
        return None
    facts = overlap_find(tickets, source_system=source_system, zone_by_client=zone_by_client)
    if facts is None:
        return None
    if job.on_overlap == ImportJob.OnOverlap.REPLACE:
        ImportJob.objects.filter(pk=job.pk).update(overlap=facts)  # what it replaced, kept
        return overlap_replace(facts, job_id=job.pk)
    raise OverlapFound(facts)


def overlap_ask(job: ImportJob, facts: dict) -> None:
    """Park the import, nothing stored, until someone chooses (overlap_choose)."""
    from kpis.imports.jobs import progress_set

    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.OVERLAP,
        phase="waiting for a choice",
        overlap=facts,
        message=overlap_words(facts),
    )
    progress_set(job.pk, "waiting for a choice", 0, None)
    job.refresh_from_db()


def overlap_refuse(job: ImportJob, facts: dict) -> None:
    """An import asked by refusing (the API's 409): cancelled with the facts, nothing stored."""
    from django.utils import timezone

    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.CANCELLED,
        phase="cancelled",
        overlap=facts,
        message="Cancelled: " + overlap_words(facts),
        finished_at=timezone.now(),
    )
    job.refresh_from_db()


def overlap_choose(job: ImportJob, choice: str) -> ImportJob:
    """The answer to the question: import anyway or replace (queued again with the choice), or
    cancel (nothing is stored; the file stays for a re-run)."""
    from django.db import transaction
    from django.utils import timezone

    from kpis.imports.jobs import import_enqueue

    if choice == "cancel":
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.OVERLAP).update(
            status=ImportJob.Status.CANCELLED,
            phase="cancelled",
            message="Cancelled: " + job.message,
            finished_at=timezone.now(),
        )
    else:
        queued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.OVERLAP).update(
            status=ImportJob.Status.QUEUED, phase="queued", on_overlap=choice
        )
        if queued:
            transaction.on_commit(lambda: import_enqueue(job.pk))
    job.refresh_from_db()
    return job
