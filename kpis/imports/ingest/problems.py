"""The problem list of an import: one row per problem, naming the spreadsheet row, the column
and the value, with a reason a person reads. Pure."""

from __future__ import annotations

import polars as pl

PROBLEM_SCHEMA = {
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "severity": pl.String,
}


def problems_frame(rows=None, column="", values=None, reason="", severity="error") -> pl.DataFrame:
    if rows is None:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    n = len(rows)
    return pl.DataFrame(
        {
            "row": rows,
            "column": [column] * n,
            "value": values if values is not None else [""] * n,
            "reason": [reason] * n if isinstance(reason, str) else reason,
            "severity": [severity] * n,
        },
        schema=PROBLEM_SCHEMA,
    )


def row_problems(
    rows: pl.Series,
    mask: pl.Series,
    column: str,
    values: pl.Series | None,
    reason: str,
    severity: str = "error",
) -> pl.DataFrame:
    """One problem per row where `mask` holds, naming the column and (if given) its value."""
    return problems_frame(
        rows.filter(mask).to_list(),
        column,
        values.filter(mask).to_list() if values is not None else None,
        reason,
        severity,
    )
