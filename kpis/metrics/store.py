"""The recompute's database edge: tickets read with COPY into polars, clocks written only
where they changed, snapshots upserted through a staging table. SQL only; no KPI logic."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import polars as pl
from django.db import connection
from django.utils import timezone

from kpis.metrics.snapshot import SnapshotRow

# The tables a recompute reads and writes at a scale that can outdate their statistics.
RECOMPUTED_TABLES = ["kpis_ticket", "kpis_ticketclock", "kpis_kpisnapshot"]

# Instants travel as epoch seconds: PostgreSQL prints a number faster than a timestamp, and a
# million of each are read per full recompute. date_part, not extract: extract returns numeric,
# whose arithmetic made the four instants cost the server more than every other column
# together (0.9 s of 2.2 s for the million); date_part's double holds a microsecond instant
# closely enough that floor gives the same second. No ORDER BY: nothing downstream needs one.
_TICKET_SQL = """
COPY (SELECT id, client_id, floor(date_part('epoch', created_at))::bigint AS created_at,
             floor(date_part('epoch', first_response_at))::bigint AS first_response_at,
             floor(date_part('epoch', resolved_at))::bigint AS resolved_at, kind, priority,
             origin, category, configuration_item, requester, title, tier,
             floor(date_part('epoch', escalated_at))::bigint AS escalated_at, reopen_count,
             reassignment_count, state, paused_intervals::text, reopen_gaps::text,
             paused_minutes, paused_time, exclude_from_sla
      FROM kpis_ticket WHERE client_id = ANY(%s))
TO STDOUT WITH (FORMAT csv, HEADER)
"""

_TICKET_SCHEMA = {
    "id": pl.Int64,
    "client_id": pl.Int64,
    "created_at": pl.Int64,
    "first_response_at": pl.Int64,
    "resolved_at": pl.Int64,
    "kind": pl.String,
    "priority": pl.String,
    "origin": pl.String,
    "category": pl.String,
    "configuration_item": pl.String,
    "requester": pl.String,
    "title": pl.String,
    "tier": pl.Int16,
    "escalated_at": pl.Int64,
    "reopen_count": pl.Int64,
    "reassignment_count": pl.Int64,
    "state": pl.String,
    "paused_intervals": pl.String,
    "reopen_gaps": pl.String,
    "paused_minutes": pl.Float64,
    "paused_time": pl.String,
    "exclude_from_sla": pl.String,
}

_STAMPS = ["created_at", "first_response_at", "resolved_at", "escalated_at"]


def tickets_load(client_ids: list[int]) -> pl.DataFrame:
    """The clients' tickets as one frame; instants as naive UTC datetimes."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(cursor.mogrify(_TICKET_SQL, [list(client_ids)]).decode(), buffer)
    buffer.seek(0)
    frame = pl.read_csv(buffer, schema=_TICKET_SCHEMA)
    text_columns = [
        c
        for c, t in _TICKET_SCHEMA.items()
        if t == pl.String and c not in (*_STAMPS, "exclude_from_sla")
    ]
    return frame.with_columns(
        *[pl.from_epoch(c, time_unit="s").cast(pl.Datetime("us")) for c in _STAMPS],
        *[pl.col(c).fill_null("") for c in text_columns],
        exclude_from_sla=pl.col("exclude_from_sla") == "t",
    )


_HISTORY_SQL = """
COPY (SELECT ticket_id, position, floor(date_part('epoch', at))::bigint AS at, status_raw
      FROM kpis_ticketevent WHERE client_id = ANY(%s))
TO STDOUT WITH (FORMAT csv, HEADER)
"""


def histories_load(client_ids: list[int]) -> pl.DataFrame:
    """The clients' stored ticket updates (metrics/history.py HISTORY_SCHEMA); empty for
    clients whose tickets all came from one-row exports. Read by the primary key's index."""
    from kpis.metrics.history import HISTORY_SCHEMA

    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM kpis_ticketevent WHERE client_id = ANY(%s))",
            [list(client_ids)],
        )
        if not cursor.fetchone()[0]:
            return pl.DataFrame(schema=HISTORY_SCHEMA)
        cursor.cursor.copy_expert(cursor.mogrify(_HISTORY_SQL, [list(client_ids)]).decode(), buffer)
    buffer.seek(0)
    return pl.read_csv(buffer, schema=HISTORY_SCHEMA).with_columns(
        pl.col("status_raw").fill_null("")
    )


def paused_intervals_store(tickets: pl.DataFrame, clocks: pl.DataFrame) -> int:
    """Rewrite the paused intervals of the event-log tickets whose pauses the recompute folded
    differently from what is stored (a policy's pause states changed), so the ticket and its
    clock say the same. Returns how many were rewritten."""
    if "paused_intervals_now" not in clocks.columns:
        return 0
    # jsonb prints '[["a", "b"]]'; the fold writes '[["a","b"]]': compared without spaces.
    compared = clocks.select("id", now="paused_intervals_now").join(
        tickets.select("id", stored=pl.col("paused_intervals").str.replace_all(" ", "")),
        on="id",
    )
    changed = compared.filter(pl.col("now").is_not_null() & (pl.col("now") != pl.col("stored")))
    if changed.is_empty():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE kpis_ticket t SET paused_intervals = n.pauses::jsonb "
            "FROM unnest(%s::bigint[], %s::text[]) AS n(id, pauses) WHERE t.id = n.id",
            [changed["id"].to_list(), changed["now"].to_list()],
        )
    return changed.height


CLOCK_VALUES = [
    "policy_version_id",
    "matrix_version_id",
    "response_seconds",
    "resolution_seconds",
    "response_target_seconds",
    "resolution_target_seconds",
    "response_verdict",
    "resolution_verdict",
    "no_verdict_reason",
    "resolution_breached_at",
]

_STORED_CLOCKS_SQL = """
COPY (SELECT ticket_id, {columns},
             floor(date_part('epoch', resolution_breached_at))::bigint AS resolution_breached_at
      FROM kpis_ticketclock WHERE client_id = ANY(%s))
TO STDOUT WITH (FORMAT csv, HEADER)
"""


def clocks_store(client_ids: list[int], clocks: pl.DataFrame) -> pl.Series:
    """Make the clients' stored clocks equal `clocks` (which has a client_id column), writing
    only what changed: a nightly recompute of a million tickets rewrites the few still open,
    not the million. A row's computed_at is when its values were last written. Returns the ids
    of the tickets whose clocks were written."""
    frame = clocks.with_columns(
        *[
            pl.when(pl.col(c) < 0).then(None).otherwise(pl.col(c)).alias(c)
            for c in (
                "policy_version_id",
                "matrix_version_id",
                "response_seconds",
                "resolution_seconds",
                "response_target_seconds",
                "resolution_target_seconds",
                "resolution_breached_at",
            )
        ],
    ).rename({"id": "ticket_id"})
    stored = clocks_load(client_ids).with_columns(known=pl.lit(True))
    if stored.height:
        compared = frame.join(stored, on="ticket_id", how="left", suffix="_stored")
        differs = pl.col("known").is_null()  # not stored yet
        for column in CLOCK_VALUES:
            differs = differs | pl.col(column).ne_missing(pl.col(f"{column}_stored"))
        changed = compared.filter(differs).select(frame.columns)
        if compared["known"].sum() < stored.height:  # some stored clock has no ticket any more
            gone = stored.join(frame, on="ticket_id", how="anti")["ticket_id"]
        else:
            gone = pl.Series("ticket_id", [], dtype=pl.Int64)
    else:
        changed, gone = frame, pl.Series("ticket_id", [], dtype=pl.Int64)
    now = timezone.now().strftime("%Y-%m-%d %H:%M:%S+00")
    changed = changed.with_columns(
        computed_at=pl.lit(now),
        # Compared as epoch seconds, written as an instant.
        resolution_breached_at=pl.from_epoch("resolution_breached_at", time_unit="s").dt.strftime(
            "%Y-%m-%d %H:%M:%S+00"
        ),
    )
    with connection.cursor() as cursor:
        if gone.len():
            cursor.execute(
                "DELETE FROM kpis_ticketclock WHERE ticket_id = ANY(%s)", [gone.to_list()]
            )
        if changed.is_empty():
            return changed["ticket_id"]
        target = "kpis_ticketclock"
        if stored.height:  # upsert through a staging table
            cursor.execute("CREATE TEMP TABLE clock_staging (LIKE kpis_ticketclock) ON COMMIT DROP")
            target = "clock_staging"
        buffer = io.BytesIO()
        changed.write_csv(buffer, include_header=False, null_value="\\N")
        buffer.seek(0)
        columns = ", ".join(changed.columns)
        cursor.cursor.copy_expert(
            f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
        )
        if target == "clock_staging":
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in changed.columns if c != "ticket_id")
            # Our own column names; no value is interpolated.
            cursor.execute(
                f"INSERT INTO kpis_ticketclock ({columns}) SELECT {columns} FROM clock_staging "  # noqa: S608
                f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}"
            )
            cursor.execute("DROP TABLE clock_staging")
    return changed["ticket_id"]


def clocks_load(client_ids: list[int]) -> pl.DataFrame:
    """The clients' stored clocks (ticket_id and CLOCK_VALUES); no verdict reads as ""."""
    buffer = io.BytesIO()
    query = _STORED_CLOCKS_SQL.format(columns=", ".join(CLOCK_VALUES[:-1]))
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(cursor.mogrify(query, [list(client_ids)]).decode(), buffer)
    buffer.seek(0)
    schema = {
        "ticket_id": pl.Int64,
        **{c: pl.Int64 for c in CLOCK_VALUES[:6]},
        **{c: pl.String for c in CLOCK_VALUES[6:9]},
        "resolution_breached_at": pl.Int64,  # epoch seconds, as the clock computes it
    }
    return pl.read_csv(buffer, schema=schema).with_columns(
        pl.col(c).fill_null("") for c in CLOCK_VALUES[6:9]
    )


def snapshots_write(rows: list[SnapshotRow], as_of, client_ids, only) -> int:
    """Store the computed snapshots, writing only those whose content changed (the others get
    the new computed_at); drop those of periods that no longer have tickets. Returns the number
    of snapshots computed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_id, period_label, content_hash FROM kpis_kpisnapshot "
            "WHERE client_id = ANY(%s)",
            [list(client_ids)],
        )
        stored = {(c, p): h for c, p, h in cursor.fetchall()}
        changed = [r for r in rows if stored.get((r[0], r[1])) != r[-1]]
        same = [r for r in rows if stored.get((r[0], r[1])) == r[-1]]
        if changed:
            _snapshots_upsert(cursor, changed, as_of)
        if same:
            cursor.execute(
                "UPDATE kpis_kpisnapshot s SET computed_at = %s FROM unnest(%s::bigint[], "
                "%s::text[]) AS k(client_id, period_label) "
                "WHERE s.client_id = k.client_id AND s.period_label = k.period_label",
                [as_of, [r[0] for r in same], [r[1] for r in same]],
            )
        # Periods of these clients that no longer have tickets (a partial recompute answers
        # only for the periods it was asked about).
        asked = [(c, p) for c, labels in (only or {}).items() for p in labels]
        cursor.execute(
            "DELETE FROM kpis_kpisnapshot s WHERE s.client_id = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM unnest(%s::bigint[], %s::text[]) AS k(c, p) "
            "                WHERE k.c = s.client_id AND k.p = s.period_label) "
            "AND (%s OR EXISTS (SELECT 1 FROM unnest(%s::bigint[], %s::text[]) AS a(c, p) "
            "                   WHERE a.c = s.client_id AND a.p = s.period_label))",
            [
                list(client_ids),
                [r[0] for r in rows],
                [r[1] for r in rows],
                only is None,
                [c for c, _ in asked],
                [p for _, p in asked],
            ],
        )
    return len(rows)


def _snapshots_upsert(cursor, rows: list[tuple], as_of: datetime) -> None:
    """COPY the snapshots' JSON text into a staging table, then one upsert: PostgreSQL parses
    the JSON once, and no per-row statement is sent."""
    cursor.execute(
        "CREATE TEMP TABLE snapshot_staging (client_id bigint, period_label text, "
        "period_kind text, period_start date, vals text, figures text, breakdowns text, "
        "rules_used text, agreed text, content_hash text) ON COMMIT DROP"
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    buffer.seek(0)
    cursor.cursor.copy_expert("COPY snapshot_staging FROM STDIN WITH (FORMAT csv)", buffer)
    cursor.execute(
        "INSERT INTO kpis_kpisnapshot (client_id, period_label, period_kind, period_start, "
        "values, figures, breakdowns, rules_used, agreed, content_hash, computed_at) "
        "SELECT client_id, period_label, period_kind, period_start, vals::jsonb, "
        "figures::jsonb, breakdowns::jsonb, rules_used::jsonb, agreed::jsonb, content_hash, %s "
        "FROM snapshot_staging "
        "ON CONFLICT (client_id, period_label) DO UPDATE SET period_kind = EXCLUDED.period_kind, "
        "period_start = EXCLUDED.period_start, values = EXCLUDED.values, "
        "figures = EXCLUDED.figures, breakdowns = EXCLUDED.breakdowns, "
        "rules_used = EXCLUDED.rules_used, agreed = EXCLUDED.agreed, "
        "content_hash = EXCLUDED.content_hash, computed_at = EXCLUDED.computed_at",
        [as_of],
    )
    cursor.execute("DROP TABLE snapshot_staging")


def adjustments_load(client_ids: list[int]) -> dict:
    """client id → its accepted disputes as adjustments (metrics/adjustments.py), in the order
    they were settled; clients without one are left out."""
    from disputes.models import Dispute
    from kpis.metrics.adjustments import adjustments_from

    rows: dict[int, list] = {}
    for client_id, subject, ticket, occurrence, requested in (
        Dispute.objects.filter(client_id__in=client_ids, status=Dispute.Status.ACCEPTED)
        .order_by("answered_at", "id")
        .values_list("client_id", "subject", "ticket_id", "occurrence_id", "requested")
    ):
        rows.setdefault(client_id, []).append((subject, ticket, occurrence, requested))
    return {client_id: adjustments_from(accepted) for client_id, accepted in rows.items()}
