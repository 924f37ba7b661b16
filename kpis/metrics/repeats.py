"""Repeat incidents: each incident's fingerprint (what it is about), whether it repeats an
earlier incident of the client within the policy's window, and the clusters of repeats a
period holds (the recurring risks of a review). Pure."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl

from kpis.metrics.bases import basis_frame
from kpis.metrics.registry import INCIDENT


def fingerprint() -> pl.Expr:
    """Configuration item + category when the item is known, else requester + category, else
    category + normalised title (kpis.md)."""
    title = (
        pl.col("title")
        .str.to_lowercase()
        .str.replace_all(r"\d+", "#")
        .str.replace_all(r"[^a-z#]+", " ")
        .str.strip_chars()
    )
    category = pl.col("category").str.to_lowercase()
    return (
        pl.when(pl.col("configuration_item") != "")
        .then(pl.lit("ci:") + pl.col("configuration_item").str.to_lowercase() + "|" + category)
        .when(pl.col("requester") != "")
        .then(pl.lit("user:") + pl.col("requester").str.to_lowercase() + "|" + category)
        .otherwise(pl.lit("title:") + category + "|" + title)
        .alias("fingerprint")
    )


def mark_repeats(frame: pl.DataFrame, window_days: int) -> pl.DataFrame:
    """Marks each incident created within the window after an earlier incident of the same
    client and fingerprint."""
    # Fingerprints are sorted as codes, not text: only equal ones need to end up side by side.
    incidents = (
        frame.with_row_index("row")
        .filter(INCIDENT)
        .select(
            "row",
            "client_id",
            "id",
            "created_at",
            code=pl.col("fingerprint").cast(pl.Categorical).to_physical(),
        )
    )
    same = (pl.col("client_id") == pl.col("client_id").shift(1)) & (
        pl.col("code") == pl.col("code").shift(1)
    )
    gap = (pl.col("created_at") - pl.col("created_at").shift(1)).dt.total_seconds()
    flags = incidents.sort("client_id", "code", "created_at", "id").select(
        "row", repeat=(same & (gap <= window_days * 86400)).fill_null(False)
    )
    # Scattered back by row number: cheaper than joining a million rows on their ids.
    repeat = np.zeros(frame.height, dtype=bool)
    repeat[flags["row"].to_numpy()] = flags["repeat"].to_numpy()
    return frame.with_columns(repeat=pl.Series(repeat))


def repeat_clusters(
    frame: pl.DataFrame, wanted: pl.DataFrame, last: int
) -> dict[tuple, list[dict]]:
    """Fingerprints with repeats among a period's incidents: the recurring risks of a review.
    Only fingerprints that ever repeat can form one, so the rest are dropped before the
    tickets are spread over their periods."""
    frame = frame.select(
        "client_id", "kind", "fingerprint", "repeat", "created_at", "created_month"
    )
    repeating = frame.filter(pl.col("repeat")).select("client_id", "fingerprint").unique()
    incidents = frame.filter(INCIDENT).join(repeating, on=["client_id", "fingerprint"], how="semi")
    created = basis_frame(incidents, "created", last).join(
        wanted, on=["client_id", "period"], how="semi"
    )
    grouped = (
        created.group_by("client_id", "period", "fingerprint")
        .agg(
            pl.len().alias("count"),
            pl.col("repeat").sum().alias("repeats"),
            pl.col("created_at").min().dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("first"),
            pl.col("created_at").max().dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("last"),
        )
        .filter(pl.col("repeats") > 0)
        .sort(
            ["client_id", "period", "count", "fingerprint"], descending=[False, False, True, False]
        )
    )
    # A cluster's tickets are not stored: figure_tickets lists them from its fingerprint.
    out: dict[tuple, list[dict]] = defaultdict(list)
    for client, period, fingerprint, count, _, first, last in grouped.iter_rows():
        out[(client, period)].append(
            {"fingerprint": fingerprint, "count": count, "first": first, "last": last}
        )
    return out
