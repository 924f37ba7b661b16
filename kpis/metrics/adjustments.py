"""Accepted disputes as adjustments: what the recompute changes to give every figure "as agreed"
beside "as measured" (docs/disputes.md).

An accepted dispute changes one measured fact of one ticket or commitment occurrence: its priority,
whether it counts for the SLA, a pause the clock took (an interval of its history, or the exported
pause total), a verdict, or whether an occurrence was kept. The adjusted tickets are timed again by
the same clock with the fact changed; every other ticket keeps its measured clock. Pure: the
disputes come in as plain tuples (`adjustments_from`), the frames go out changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import polars as pl

from kpis.metrics.clock import Intervals

# The verdicts an agreed resolution or response verdict may be set to.
AGREED_VERDICTS = ("met", "breached")


@dataclass
class Adjustments:
    """One client's accepted disputes, by what they change."""

    priority: dict[int, str] = field(default_factory=dict)  # ticket id → priority
    counted: dict[int, bool] = field(default_factory=dict)  # ticket id → counts for the SLA
    exported_pause_removed: set[int] = field(default_factory=set)  # ticket ids
    pauses_removed: dict[int, set[tuple[int, int]]] = field(default_factory=dict)  # epoch pairs
    verdicts: dict[tuple[int, str], str] = field(default_factory=dict)  # (id, clock) → verdict
    occurrences: dict[int, str] = field(default_factory=dict)  # occurrence id → kept | missed

    def tickets(self) -> set[int]:
        """The tickets whose clock the adjustments change."""
        return (
            set(self.priority)
            | set(self.counted)
            | self.exported_pause_removed
            | set(self.pauses_removed)
            | {ticket for ticket, _ in self.verdicts}
        )

    def __bool__(self) -> bool:
        return bool(self.tickets() or self.occurrences)


def _epoch(text: str | None) -> int:
    """An ISO 8601 instant as epoch seconds; -1 for none (a pause still running)."""
    if not text:
        return -1
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def adjustments_from(
    accepted: Iterable[tuple[str, int | None, int | None, dict]],
) -> Adjustments:
    """The adjustments of accepted disputes given as (subject, ticket id, occurrence id,
    requested), in the order they were settled: a later one on the same fact wins."""
    out = Adjustments()
    for subject, ticket, occurrence, requested in accepted:
        if subject == "occurrence" and occurrence is not None:
            out.occurrences[occurrence] = requested["status"]
        elif ticket is None:
            continue  # the ticket is gone (an import undone): nothing left to adjust
        elif subject == "priority":
            out.priority[ticket] = requested["priority"]
        elif subject == "exclusion":
            out.counted[ticket] = bool(requested["counted"])
        elif subject == "pause" and requested.get("exported_total") is True:
            out.exported_pause_removed.add(ticket)
        elif subject == "pause" and requested.get("start"):
            pair = (_epoch(requested["start"]), _epoch(requested.get("end")))
            out.pauses_removed.setdefault(ticket, set()).add(pair)
        elif subject == "verdict":
            out.verdicts[(ticket, requested["clock"])] = requested["verdict"]
    return out


def tickets_as_agreed(tickets: pl.DataFrame, adjustments: Adjustments) -> pl.DataFrame:
    """The tickets with their adjusted priority, SLA exclusion and exported pause total."""
    ids = pl.col("id")

    def replaced(column: str, values: dict[int, object], dtype) -> pl.Expr:
        if not values:
            return pl.col(column)
        return (
            ids.replace_strict(
                list(values), list(values.values()), default=None, return_dtype=dtype
            )
            .fill_null(pl.col(column))
            .alias(column)
        )

    return tickets.with_columns(
        replaced("priority", adjustments.priority, pl.String),
        replaced(
            "exclude_from_sla",
            {ticket: not counted for ticket, counted in adjustments.counted.items()},
            pl.Boolean,
        ),
        pl.when(ids.is_in(list(adjustments.exported_pause_removed)))
        .then(None)
        .otherwise(pl.col("paused_minutes"))
        .alias("paused_minutes"),
    )


def pauses_removed(tickets: pl.DataFrame, adjustments: Adjustments) -> Intervals:
    """The paused intervals the clock must no longer take, by row of `tickets`."""
    rows, starts, ends = [], [], []
    for row, ticket in enumerate(tickets["id"].to_list()):
        for start, end in sorted(adjustments.pauses_removed.get(ticket, ())):
            rows.append(row)
            starts.append(start)
            ends.append(end)
    if not rows:
        return Intervals.empty()
    return Intervals(
        np.array(rows, dtype=np.int64), np.array(starts, dtype=np.int64), np.array(ends, np.int64)
    )


def verdicts_as_agreed(
    clocks: pl.DataFrame, tickets: pl.DataFrame, adjustments: Adjustments
) -> pl.DataFrame:
    """The clocks with the agreed verdicts set. A resolution verdict agreed as breached where the
    clock found none breached has no breach moment of its own: it belongs, like a met one, to
    the period of the resolution (kpis.md's verdict periods), so it is counted once."""
    if not adjustments.verdicts:
        return clocks
    resolved = tickets.select(
        "id", resolved_epoch=pl.col("resolved_at").dt.epoch("s").fill_null(-1)
    )
    frame = clocks.join(resolved, on="id", how="left", maintain_order="left")
    for clock in ("response", "resolution"):
        agreed = {t: v for (t, c), v in adjustments.verdicts.items() if c == clock}
        if not agreed:
            continue
        column = f"{clock}_verdict"
        verdict = (
            pl.col("id")
            .replace_strict(list(agreed), list(agreed.values()), default=None)
            .fill_null(pl.col(column))
        )
        frame = frame.with_columns(verdict.alias(column))
        if clock == "resolution":
            frame = frame.with_columns(
                resolution_breached_at=pl.when(
                    pl.col("id").is_in(list(agreed))
                    & (pl.col(column) == "breached")
                    & (pl.col("resolution_breached_at") < 0)
                )
                .then(pl.col("resolved_epoch"))
                .otherwise(pl.col("resolution_breached_at"))
            )
    return frame.drop("resolved_epoch")


def replaced_rows(whole: pl.DataFrame, part: pl.DataFrame) -> pl.DataFrame:
    """`whole` with the rows of `part` (matched by id) replaced, in whole's order."""
    if part.is_empty():
        return whole
    return whole.update(part.select(whole.columns), on="id", include_nulls=True)


def adjustments_merged(parts: Iterable[Adjustments]) -> Adjustments:
    """Several clients' adjustments as one (ticket and occurrence ids never repeat across
    clients), for the one clock call that times all their adjusted tickets."""
    out = Adjustments()
    for part in parts:
        out.priority |= part.priority
        out.counted |= part.counted
        out.exported_pause_removed |= part.exported_pause_removed
        out.pauses_removed |= part.pauses_removed
        out.verdicts |= part.verdicts
        out.occurrences |= part.occurrences
    return out
