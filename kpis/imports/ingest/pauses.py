"""Exported pause totals checked against the time the ticket was open (docs/imports.md,
"Pause totals"). No ORM here."""

from __future__ import annotations

import polars as pl

from .mapping import Mapping
from .problems import problems_frame


def paused_too_long(frame: pl.DataFrame, mapping: Mapping) -> list[pl.DataFrame]:
    """A pause total longer than the ticket was open (creation to resolution) cannot be: a
    warning on its row; the ticket is imported and gets no resolution verdict (docs/kpis.md,
    "The clock"). A business total is compared too: business time is never longer than the
    wall-clock time around it. Open tickets are checked by the clock, against its `now`."""
    if "paused_minutes" not in mapping.columns or "paused_minutes" not in frame.columns:
        return []
    open_minutes = (frame["resolved_at"] - frame["created_at"]).dt.total_seconds() / 60
    wrong = (frame["paused_minutes"] > open_minutes).fill_null(False)
    if not wrong.any():
        return []
    unit = "hours" if mapping.paused_unit == "hours" else "minutes"
    shown = frame.filter(wrong)["paused_minutes"]
    values = [f"{v / 60:g}" if unit == "hours" else f"{v:g}" for v in shown.to_list()]
    reasons = [
        f"paused for longer than the ticket was open ({minutes:,.0f} minutes from creation to "
        "resolution): the ticket is imported but gets no resolution verdict"
        for minutes in open_minutes.filter(wrong).to_list()
    ]
    return [
        problems_frame(
            frame.filter(wrong)["__row"].to_list(),
            mapping.columns["paused_minutes"],
            values,
            reasons,
            "warning",
        )
    ]
