"""The tickets a figure counts over, per period: created in it, resolved in it, whose
resolution verdict belongs to it, or open at its end. A ticket appears once for each month,
quarter and year of its basis. Pure."""

from __future__ import annotations

import polars as pl

from kpis.metrics.period import period_keys
from kpis.metrics.registry import rule_columns


def basis_frame(frame: pl.DataFrame, basis: str, last_month: int) -> pl.DataFrame:
    """One row per ticket and period of `basis`: a ticket created in August 2025 appears under
    2025-08, 2025-Q3 and 2025. Open at a period's end: created before it, not resolved by then,
    not cancelled; a quarter's or year's end is the end of its last month. A resolution verdict
    belongs to one month (`verdict_month`, see formulas.prepared)."""
    if basis in ("created", "resolved", "verdict"):
        index = pl.col(f"{basis}_month")
        dated = frame.filter(index.is_not_null())
        # Three views of the same rows, one per kind of period: concatenated without copying.
        return pl.concat(
            [dated.with_columns(period=key) for key in period_keys(index)], rechunk=False
        )
    # A ticket is open at the end of every month from its creation month up to the month before
    # the one it is resolved in (or up to the last month asked for, while open).
    end = pl.coalesce(pl.col("resolved_month") - 1, pl.lit(last_month)).clip(upper_bound=last_month)
    # Only what the backlog's rules read is repeated for every month a ticket stays open.
    kept = {"client_id", "id", "created_month", "resolved_month", "state"} | rule_columns(basis)
    months = (
        frame.select([c for c in frame.columns if c in kept])
        .filter((pl.col("state") != "cancelled") & (end >= pl.col("created_month")))
        .with_columns(month=pl.int_ranges(pl.col("created_month"), end + 1, dtype=pl.Int32))
        .explode("month")
    )
    month, quarter, year = period_keys(pl.col("month"))
    # Every month's row, then the rows at a quarter's and a year's end again: cheaper than a
    # list of keys per row exploded.
    return pl.concat(
        [
            months.with_columns(period=month),
            months.filter(pl.col("month") % 3 == 2).with_columns(period=quarter),
            months.filter(pl.col("month") % 12 == 11).with_columns(period=year),
        ]
    )
