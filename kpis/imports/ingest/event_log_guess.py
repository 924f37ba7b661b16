"""Is this file an event log? A file whose rows repeat ticket ids with different update times is
a row per ticket update, whatever tool made it (docs/imports.md, "Event logs"): the importer
proposes to fold it, and the person (or the mapping file's `event_log`) decides."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# Read as a log when the rows seen hold at least this many rows per ticket on average and most
# repeated ids change their update time: a one-row export with a few duplicated rows (the same
# ticket exported twice, the same time) is not a log.
ROWS_PER_TICKET = 1.5
CHANGING_SHARE = 0.5


@dataclass(frozen=True)
class EventLogEvidence:
    rows: int  # rows with an id and an update time, among those read
    tickets: int  # distinct ids among them

    def __str__(self) -> str:
        return (
            f"the first {self.rows:,} rows hold updates of {self.tickets:,} tickets "
            "(ids repeat with later update times): read as an event log, a row per update"
        )


def event_log_evidence(
    frame: pl.DataFrame, id_column: str | None, time_column: str | None
) -> EventLogEvidence | None:
    """The evidence that `frame`'s rows are updates of fewer tickets, or None."""
    if not id_column or not time_column or id_column not in frame.columns:
        return None
    if time_column not in frame.columns:
        return None
    rows = frame.select(id=pl.col(id_column), at=pl.col(time_column)).drop_nulls()
    rows = rows.filter((pl.col("id").cast(pl.String) != "") & (pl.col("at").cast(pl.String) != ""))
    if rows.height < 2:
        return None
    per_ticket = rows.group_by("id").agg(n=pl.len(), times=pl.col("at").n_unique())
    repeated = per_ticket.filter(pl.col("n") > 1)
    if repeated.is_empty() or rows.height < ROWS_PER_TICKET * per_ticket.height:
        return None
    if (repeated["times"] > 1).sum() < CHANGING_SHARE * repeated.height:
        return None
    return EventLogEvidence(rows.height, per_ticket.height)
