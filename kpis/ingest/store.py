"""Normalised tickets into PostgreSQL, set-based: a million tickets in seconds.

The stored key and content hash of the clients' tickets are read once (COPY TO) and compared in
polars: new tickets are COPYed straight into the table, changed ones updated in one statement from
a staging table, unchanged ones not touched, so importing the same file twice writes nothing.
Runs inside the caller's transaction, which holds the clients' import locks.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl
from django.db import connection

from kpis.formulas import month_index, period_key, period_label

# Staged and stored columns, in COPY order (client_id is added by the caller).
COLUMNS: list[tuple[str, str]] = [
    ("client_id", "bigint"),
    ("external_id", "text"),
    ("title", "text"),
    ("kind", "text"),
    ("kind_raw", "text"),
    ("priority", "text"),
    ("priority_raw", "text"),
    ("state", "text"),
    ("status_raw", "text"),
    ("origin", "text"),
    ("origin_raw", "text"),
    ("category", "text"),
    ("subcategory", "text"),
    ("configuration_item", "text"),
    ("requester", "text"),
    ("created_at", "timestamptz"),
    ("first_response_at", "timestamptz"),
    ("resolved_at", "timestamptz"),
    ("closed_at", "timestamptz"),
    ("tier", "smallint"),
    ("escalated_at", "timestamptz"),
    ("reassignment_count", "integer"),
    ("reopen_count", "integer"),
    ("paused_intervals", "jsonb"),
    ("reopen_gaps", "jsonb"),
    ("paused_minutes", "double precision"),
    ("exclude_from_sla", "boolean"),
]
_TEXT_LIMITS = {"external_id": 100, "kind_raw": 200, "priority_raw": 200, "status_raw": 200,
                "origin_raw": 200, "category": 200, "subcategory": 200,
                "configuration_item": 200, "requester": 200}  # fmt: skip
_HASHED = [name for name, _ in COLUMNS if name not in ("client_id", "external_id")]


@dataclass
class StoreResult:
    created: int
    updated: int
    unchanged: int
    months: set[tuple[int, str]]  # (client_id, 'YYYY-MM-01') touched, for KPI recomputation


def staging_frame(tickets: pl.DataFrame) -> pl.DataFrame:
    """The ticket frame in staging-table order with text cut to the column limits."""
    frame = tickets.rename({"status": "state"})
    exprs = []
    for name, sql_type in COLUMNS:
        column = pl.col(name)
        if sql_type == "text":  # unknown is "" in the table (and in the content hash)
            column = column.fill_null("")
        if name in _TEXT_LIMITS:
            column = column.str.slice(0, _TEXT_LIMITS[name])
        if sql_type == "timestamptz":
            column = column.dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00")
        exprs.append(column.alias(name))
    return frame.select(exprs)


def row_hashes(staged: pl.DataFrame) -> pl.Series:
    """md5 of each row's normalised values: stable across library versions, unlike polars' hash."""
    joined = staged.select(
        pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("\x00") for c in _HASHED], separator="\x1f"
        )
    ).to_series()
    md5 = hashlib.md5
    return pl.Series(
        "content_hash",
        [md5(v, usedforsecurity=False).hexdigest() for v in joined.cast(pl.Binary)],
        dtype=pl.String,
    )


def _copy_csv(cursor, table: str, frame: pl.DataFrame, chunk_rows: int = 100_000) -> None:
    """COPY the frame in slices, so the CSV text never holds the whole import at once."""
    columns = ", ".join(frame.columns)
    sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    for offset in range(0, frame.height, chunk_rows):
        buffer = io.BytesIO()
        frame.slice(offset, chunk_rows).write_csv(
            buffer, include_header=False, null_value="\\N", quote_style="non_numeric"
        )
        buffer.seek(0)
        cursor.cursor.copy_expert(sql, buffer)


def _existing(cursor, source_system: str, client_ids: list[int]) -> pl.DataFrame:
    """Key and content hash of the tickets already stored for these clients and this source."""
    buffer = io.BytesIO()
    query = cursor.mogrify(
        "COPY (SELECT client_id, external_id, content_hash FROM kpis_ticket "
        "WHERE source_system = %s AND client_id = ANY(%s)) TO STDOUT WITH (FORMAT csv)",
        [source_system, client_ids],
    )
    cursor.cursor.copy_expert(query.decode(), buffer)
    schema = {"client_id": pl.Int64, "external_id": pl.String, "old_hash": pl.String}
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    buffer.seek(0)
    return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=schema)


def tickets_store(
    tickets: pl.DataFrame, *, source_system: str, job_id: int | None, zone_by_client: dict[int, str]
) -> StoreResult:
    """Store the tickets: COPY the new ones, update the changed ones from a staging table, leave
    the unchanged alone. The caller holds the clients' import locks, so the diff cannot race."""
    staged = staging_frame(tickets)
    staged = staged.with_columns(row_hashes(staged))
    with connection.cursor() as cursor:
        existing = _existing(cursor, source_system, sorted(zone_by_client))
        joined = staged.join(existing, on=["client_id", "external_id"], how="left")
        new = joined.filter(pl.col("old_hash").is_null())
        changed = joined.filter(
            pl.col("old_hash").is_not_null() & (pl.col("old_hash") != pl.col("content_hash"))
        )
        changed = _with_old_dates(cursor, changed, source_system)
        months = _months(new, changed, zone_by_client)
        extra = {"source_system": source_system, "import_job_id": job_id}
        now = pl.lit(timezone_now_text())
        columns = [name for name, _ in COLUMNS] + ["content_hash"]
        if new.height:
            rows = new.select(columns).with_columns(
                **{k: pl.lit(v) for k, v in extra.items()},
                first_imported_at=now,
                updated_at=now,
            )
            _copy_csv(cursor, "kpis_ticket", rows)
        if changed.height:
            _update_changed(cursor, changed.select(columns), source_system, job_id)
    return StoreResult(new.height, changed.height, staged.height - new.height - changed.height,
                       months)  # fmt: skip


def _with_old_dates(cursor, changed: pl.DataFrame, source_system: str) -> pl.DataFrame:
    """The stored creation and resolution times of the changed tickets (their old months)."""
    if changed.is_empty():
        return changed.with_columns(
            old_created=pl.lit(None, dtype=pl.String), old_resolved=pl.lit(None, dtype=pl.String)
        )
    cursor.execute(
        "SELECT t.client_id, t.external_id, t.created_at::text, t.resolved_at::text "
        "FROM kpis_ticket t JOIN unnest(%s::bigint[], %s::text[]) AS k(client_id, external_id) "
        "USING (client_id, external_id) WHERE t.source_system = %s",
        [changed["client_id"].to_list(), changed["external_id"].to_list(), source_system],
    )
    old = pl.DataFrame(
        cursor.fetchall(),
        schema={"client_id": pl.Int64, "external_id": pl.String, "old_created": pl.String,
                "old_resolved": pl.String},
        orient="row",
    )  # fmt: skip
    return changed.join(old, on=["client_id", "external_id"], how="left")


def _update_changed(cursor, rows: pl.DataFrame, source_system: str, job_id) -> None:
    # Dropped first as well as on commit: imports nested in one transaction (tests, the
    # demo seed) would otherwise meet the previous one's table.
    cursor.execute("DROP TABLE IF EXISTS ticket_staging")
    cursor.execute(
        "CREATE TEMP TABLE ticket_staging ("
        + ", ".join(f"{name} {sql_type}" for name, sql_type in COLUMNS)
        + ", content_hash text) ON COMMIT DROP"
    )
    _copy_csv(cursor, "ticket_staging", rows)
    updates = ", ".join(f"{c} = s.{c}" for c in [*_HASHED, "content_hash"])
    cursor.execute(
        f"""
        UPDATE kpis_ticket t SET {updates}, import_job_id = %s, updated_at = now()
        FROM ticket_staging s
        WHERE t.client_id = s.client_id AND t.external_id = s.external_id
          AND t.source_system = %s
        """,
        [job_id, source_system],
    )
    cursor.execute("DROP TABLE ticket_staging")


def timezone_now_text() -> str:
    from django.utils import timezone

    return timezone.now().strftime("%Y-%m-%d %H:%M:%S.%f+00")


def _months(new: pl.DataFrame, changed: pl.DataFrame, zone_by_client: dict[int, str]) -> set:
    """Client-months whose figures these writes can change, for each new ticket and for each
    changed ticket as it is now and as it was: the months from its creation to its resolution
    (the backlog at each month's end counts it) or to now while open, and the two months after
    its creation (a later incident may repeat it within a 30–60-day window)."""
    spans = pl.concat(
        [
            frame.select("client_id", pl.col(start).alias("start"), pl.col(end).alias("end"))
            for frame, pairs in ((new, [("created_at", "resolved_at")]),
                                 (changed, [("created_at", "resolved_at"),
                                            ("old_created", "old_resolved")]))
            for start, end in pairs
        ]
    ).filter(pl.col("start").is_not_null())  # fmt: skip
    if spans.is_empty():
        return set()
    spans = spans.with_columns(start=_instant("start"), end=_instant("end"))
    from django.utils import timezone

    now = timezone.now()
    months = set()
    for zone in set(zone_by_client.values()):
        ids = [c for c, z in zone_by_client.items() if z == zone]
        current = now.astimezone(ZoneInfo(zone))
        current_index = period_key(f"{current:%Y-%m}")
        first = _month_index("start", zone)
        last = pl.max_horizontal(
            pl.coalesce(_month_index("end", zone), pl.lit(current_index)),
            pl.min_horizontal(first + 2, pl.lit(current_index)),
            first,
        )
        expanded = (
            spans.filter(pl.col("client_id").is_in(ids))
            .select("client_id", month=pl.int_ranges(first, last + 1, dtype=pl.Int32))
            .explode("month")
            .unique()
        )
        months |= {(client_id, period_label(m) + "-01") for client_id, m in expanded.iter_rows()}
    return months


def _instant(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.slice(0, 19)
        .str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC", strict=False)
    )


def _month_index(column: str, zone: str) -> pl.Expr:
    """The month key of an instant in the zone."""
    return month_index(pl.col(column).dt.convert_time_zone(zone))
