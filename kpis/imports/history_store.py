"""The updates of event-log tickets into kpis_ticketevent, beside their tickets (store.py).

A ticket's history is written when the ticket is new or changed; a changed ticket's old history
is removed first, so a re-import replaces it (store.py `_update_changed`). The history takes part
in the ticket's content hash (`history_text`): a file whose updates changed rewrites the ticket
and its history even where the folded values came out the same. Histories are gathered, exploded
and COPYed a slice of tickets at a time, so five million updates never sit in memory as text.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import partial

import polars as pl

from kpis.imports.copy_frame import copy_frame
from kpis.imports.ingest.normalise import ID_MAX_LENGTH

# What each stored update keeps, in COPY order after (client_id, ticket_id, position).
FIELDS = ["at", "state", "status_raw", "assignee", "assignment_group", "updated_by", "tier"]
_TEXT_LIMIT = 200  # the text columns' length (kpis.TicketEvent)
SLICE_TICKETS = 50_000


def history_text(history: pl.Series) -> pl.Series:
    """Each ticket's updates as one text, for its content hash ("" without a history)."""
    parts = [pl.element().struct.field(name).cast(pl.String).fill_null("") for name in FIELDS]
    return history.list.eval(pl.concat_str(parts, separator="\x1e")).list.join("\x1d").fill_null("")


def histories_store(
    cursor, tickets: pl.DataFrame, rows: pl.Series, *, source_system: str, copy_produced
) -> int:
    """COPY the histories of `tickets` rows `rows` (new or changed tickets, already stored)
    into kpis_ticketevent; returns the number of updates written. `copy_produced` is store.py's
    streaming COPY (a producer thread formats the next slice while the server takes this one)."""
    if rows.is_empty():
        return 0
    client_ids = tickets["client_id"].gather(rows).unique().cast(pl.Int64).to_list()
    ids = _stored_ids(cursor, source_system, client_ids)
    written = {"updates": 0}
    columns = ["client_id", "ticket_id", "position", *FIELDS]
    sql = f"COPY kpis_ticketevent ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    copy_produced(cursor, sql, partial(_slices, tickets, rows, ids, written))
    return written["updates"]


def _stored_ids(cursor, source_system: str, client_ids: list[int]) -> pl.DataFrame:
    return copy_frame(
        cursor,
        "SELECT client_id, external_id, id FROM kpis_ticket "
        "WHERE source_system = %s AND client_id = ANY(%s)",
        [source_system, client_ids],
        {"client_id": pl.Int64, "external_id": pl.String, "ticket_id": pl.Int64},
    )


def _slices(
    tickets: pl.DataFrame, rows: pl.Series, ids: pl.DataFrame, written: dict
) -> Iterator[bytes]:
    for offset in range(0, len(rows), SLICE_TICKETS):
        part = (
            tickets.select(
                pl.col("client_id").cast(pl.Int64),
                pl.col("external_id").str.slice(0, ID_MAX_LENGTH),
                "history",
            )
            .gather(rows.slice(offset, SLICE_TICKETS))
            .join(ids, on=["client_id", "external_id"], how="inner")
            .drop("external_id")
            .explode("history")
            .drop_nulls("history")
            .unnest("history")
            .with_columns(position=pl.int_range(pl.len()).over("ticket_id"))
        )
        written["updates"] += part.height
        out = part.select(
            "client_id",
            "ticket_id",
            "position",
            pl.col("at").dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00"),
            *[
                pl.col(name).cast(pl.String).fill_null("").str.slice(0, _TEXT_LIMIT)
                for name in FIELDS[1:-1]
            ],
            pl.col("tier").cast(pl.Int64),
        )
        buffer = io.BytesIO()
        out.write_csv(buffer, include_header=False, null_value="", quote_style="necessary")
        yield buffer.getvalue()
