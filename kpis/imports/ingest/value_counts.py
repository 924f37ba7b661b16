"""The distinct values of a file's mapped value columns (priority, status, origin, tier, type,
company) with how many rows hold each: what the mapping step lists and `import_tickets --dry-run`
prints, for the whole file (docs/mapping-file.md)."""

from __future__ import annotations

import polars as pl

from .presets import MAPPED_VALUE_FIELDS

VALUE_COLUMNS = (*MAPPED_VALUE_FIELDS, "company")
MAX_LISTED = 10_000  # values of one column listed at the most; the rest are counted together


def column_counts(series: pl.Series, limit: int = MAX_LISTED) -> tuple[list[tuple[str, int]], int]:
    """(raw value, rows) for the `limit` commonest values of a column (then by value, so the
    order is stable), and how many rows hold the values left off."""
    counts = series.drop_nulls().value_counts(name="rows")
    counts = counts.sort(["rows", series.name], descending=[True, False])
    listed = [(str(raw), int(rows)) for raw, rows in counts.head(limit).iter_rows()]
    return listed, int(counts["rows"].slice(limit).sum())


def file_counts(
    frame: pl.DataFrame, columns: dict[str, str], limit: int = MAX_LISTED
) -> dict[str, tuple[list[tuple[str, int]], int]]:
    """`column_counts` of every mapped value column, by field."""
    return {
        field_name: column_counts(frame[columns[field_name]], limit)
        for field_name in VALUE_COLUMNS
        if columns.get(field_name) in frame.columns
    }
