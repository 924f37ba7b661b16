"""Pauses folded again from stored ticket histories, under the policy version in force.

An event-log ticket keeps its updates (kpis.TicketEvent). Which of its statuses stop the
resolution clock is the SLA policy's to say (docs/kpis.md, "Event logs"), and a policy can change
its pause states after the import: each recompute derives the paused intervals from the history
with the pause states of the version in force at the ticket's creation, the same version its
targets come from. Pure: frames and arrays in, intervals out; no ORM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from kpis.metrics.clock import Intervals

# The history as the recompute reads it: one row per update, in position order per ticket;
# `at` in epoch seconds.
HISTORY_SCHEMA = {
    "ticket_id": pl.Int64,
    "position": pl.Int64,
    "at": pl.Int64,
    "status_raw": pl.String,
}


def status_key(column: pl.Expr) -> pl.Expr:
    """A raw status as pause states are compared: case and runs of spaces ignored (the same
    key as presets.value_key gives a policy's or a mapping's listed state)."""
    return column.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()


@dataclass(frozen=True)
class HistoryPauses:
    """The paused intervals of the tickets that have a history, by ticket row, and which rows
    have one (the others keep the intervals or totals stored at import)."""

    intervals: Intervals
    has_history: np.ndarray  # bool per ticket row


def pauses_from_history(
    events: pl.DataFrame,
    ticket_ids: np.ndarray,
    versions: np.ndarray,
    pause_states: dict[int, list[str]],
) -> HistoryPauses:
    """Each update whose status is a pause state of the ticket's version opens an interval that
    lasts until the next update (still running after the last one). `versions` is the policy
    version of each ticket row (-1: none); `pause_states` each version's listed states, already
    keyed (presets.value_key). A version that lists none leaves its tickets as imported: the
    pause states the import's mapping named (docs/mapping-file.md) stand for them."""
    n = len(ticket_ids)
    has_history = np.zeros(n, dtype=bool)
    if events.is_empty() or n == 0:
        return HistoryPauses(Intervals.empty(), has_history)
    rows = pl.DataFrame(
        {"ticket_id": ticket_ids, "row": np.arange(n, dtype=np.int64), "version": versions},
        schema={"ticket_id": pl.Int64, "row": pl.Int64, "version": pl.Int64},
    ).filter(pl.col("version").is_in([v for v, states in pause_states.items() if states]))
    ev = (
        events.join(rows, on="ticket_id", how="inner")
        .sort("row", "position")
        .with_columns(
            next_at=pl.col("at").shift(-1).over("row"), key=status_key(pl.col("status_raw"))
        )
    )
    has_history[ev["row"].unique().to_numpy()] = True
    pairs = pl.DataFrame(
        [(version, state) for version, states in pause_states.items() for state in states],
        schema={"version": pl.Int64, "key": pl.String},
        orient="row",
    )
    paused = ev.join(pairs.unique(), on=["version", "key"], how="semi")
    if paused.is_empty():
        return HistoryPauses(Intervals.empty(), has_history)
    return HistoryPauses(
        Intervals(
            paused["row"].to_numpy().astype(np.int64),
            paused["at"].to_numpy().astype(np.int64),
            paused["next_at"].fill_null(-1).to_numpy().astype(np.int64),
        ),
        has_history,
    )


def merged_pauses(stored: Intervals, derived: HistoryPauses) -> Intervals:
    """The stored intervals of tickets without a history, with the derived ones of the rest."""
    keep = ~derived.has_history[stored.ticket] if stored.ticket.size else np.zeros(0, dtype=bool)
    return Intervals(
        np.concatenate([stored.ticket[keep], derived.intervals.ticket]),
        np.concatenate([stored.start[keep], derived.intervals.start]),
        np.concatenate([stored.end[keep], derived.intervals.end]),
    )


def intervals_json(intervals: Intervals, rows: np.ndarray) -> list[str]:
    """The JSON text each of `rows` stores in Ticket.paused_intervals, in start order:
    '[["2024-01-02T09:00:00Z","2024-01-03T10:00:00Z"]]', end null while still running."""
    frame = pl.DataFrame(
        {"row": intervals.ticket, "start": intervals.start, "end": intervals.end},
        schema={"row": pl.Int64, "start": pl.Int64, "end": pl.Int64},
    )
    iso = "%Y-%m-%dT%H:%M:%SZ"

    def text(column: str) -> pl.Expr:
        stamp = pl.from_epoch(pl.col(column), time_unit="s").dt.strftime(iso)
        return pl.when(pl.col(column) < 0).then(pl.lit("null")).otherwise(pl.format('"{}"', stamp))

    pairs = (
        frame.filter(pl.col("row").is_in(rows))
        .sort("row", "start")
        .select("row", pair=pl.format("[{},{}]", text("start"), text("end")))
        .group_by("row", maintain_order=True)
        .agg(pl.col("pair").str.join(","))
    )
    by_row = dict(pairs.iter_rows())
    return [f"[{by_row.get(int(row), '')}]" for row in rows]
