"""Breakdowns of a few KPIs (BREAKDOWN_KEYS) by priority, category and origin, per client and
period. Pure: counts and sums grouped once by month, then rolled up into quarters and years."""

from __future__ import annotations

from collections import defaultdict
from typing import cast

import polars as pl

from kpis.metrics.period import period_keys
from kpis.metrics.registry import BREAKDOWN_COLUMNS, BREAKDOWN_KEYS, RULES, rule_columns_of


def _additive(basis: str) -> list[pl.Expr]:
    """Sums behind BREAKDOWN_KEYS, from the same rules: counts and totals add up from months to
    quarters and years, so breakdowns are grouped once by month and then rolled up."""
    if basis == "created":
        response = RULES["response.compliance"]
        return [
            pl.len().alias("tickets.created|d"),
            response.over.sum().alias("response.compliance|d"),
            (response.over & response.counted).sum().alias("response.compliance|n"),
        ]
    if basis == "verdict":  # the period a resolution verdict belongs to
        resolution = RULES["resolution.compliance"]
        return [
            resolution.over.sum().alias("resolution.compliance|d"),
            (resolution.over & resolution.counted).sum().alias("resolution.compliance|n"),
        ]
    fix, mean = RULES["first_time_fix_rate"], RULES["resolution.mean_minutes"]
    minutes = pl.col(mean.column).filter(mean.over).sort()  # see _aggregations
    return [
        pl.len().alias("first_time_fix_rate|d"),
        fix.counted.sum().alias("first_time_fix_rate|n"),
        cast(pl.Expr, fix.carried).sum().alias("first_time_fix_rate|c"),
        minutes.sum().alias("resolution.mean_minutes|n"),
        minutes.count().alias("resolution.mean_minutes|d"),
    ]


def breakdowns_by_period(frame: pl.DataFrame, wanted: pl.DataFrame) -> dict[tuple, dict[str, dict]]:
    """BREAKDOWN_KEYS by priority, category and origin (values that occur in the period)."""
    out: dict[tuple, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    read = {"client_id", "created_month", "resolved_month", "verdict_month", *BREAKDOWN_COLUMNS}
    read |= {name for key in BREAKDOWN_KEYS for name in rule_columns_of(RULES[key])}
    frame = frame.select([c for c in frame.columns if c in read])
    for column in BREAKDOWN_COLUMNS:
        keys = ["client_id", "period", column]
        parts = []
        for basis in ("created", "resolved", "verdict"):
            month = pl.col(f"{basis}_month")
            monthly = (
                frame.filter((pl.col(column) != "") & month.is_not_null())
                .group_by("client_id", month.alias("month"), column)
                .agg(_additive(basis))
            )
            rolled = pl.concat(
                [monthly.with_columns(period=key) for key in period_keys(pl.col("month"))]
            )
            # Float totals summed in month order, so they are the same on every run; counts
            # are exact in any order and skip the sort.
            floats = [c for c, dtype in monthly.schema.items() if dtype.is_float()]
            counts = [c for c in monthly.columns if c not in (*keys, "month", *floats)]
            parts.append(
                rolled.group_by(keys).agg(
                    *[pl.col(c).sort_by("month").sum() for c in floats],
                    *[pl.col(c).sum() for c in counts],
                )
            )
        joined = (
            parts[0]
            .join(parts[1], on=keys, how="full", coalesce=True)
            .join(parts[2], on=keys, how="full", coalesce=True)
            .join(wanted, on=["client_id", "period"], how="semi")
        )
        # Every breakdown key is a count or a ratio of sums (a mean is total / count).
        values = joined.sort(keys).select(
            *keys,
            pl.col("tickets.created|d").fill_null(0),
            *[_quotient(k) for k in BREAKDOWN_KEYS[1:]],
        )
        for client_id, period, value, *figures in values.iter_rows():
            out[(client_id, period)][column][value] = dict(
                zip(BREAKDOWN_KEYS, figures, strict=True)
            )
    return {k: dict(v) for k, v in out.items()}


def _quotient(key: str) -> pl.Expr:
    """`key|n` / `key|d`, null when the denominator is 0 or missing (docs/kpis.md: no division
    by 0), or when the export does not carry the rate's input (`key|c` is 0)."""
    n, d = pl.col(f"{key}|n").fill_null(0), pl.col(f"{key}|d").fill_null(0)
    if RULES[key].carried is not None:
        d = pl.when(pl.col(f"{key}|c").fill_null(0) > 0).then(d).otherwise(0)
    return pl.when(d > 0).then(n / d).alias(key)
