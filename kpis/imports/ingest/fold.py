"""Event-log exports (one row per ticket update) folded into one ticket each (docs/kpis.md,
"Event logs").

- first response: the first update at which the ticket is past `new` or has an assignee (the
  first update itself when it already is);
- resolution: the exported resolved-at value when the ticket's last row has one; otherwise the
  last entry into `resolved` or `closed` from a state that is neither, so closing a resolved
  ticket does not move its resolution;
- paused intervals: time spent in the statuses the SLA policy lists as pause states;
- reopen: a move from resolved or closed back to new, open or paused; the gap from the
  resolution it undoes (not from a later closing) to the reopen is off the resolution clock;
- reassignment: a change of assignment group or of assignee from one person to another;
- tier: the highest tier any update reached, and when it first went above tier 1.
An update with no status leaves the state as it was. Each ticket keeps its updates in order
(`history`), which the import stores and the recompute folds again (kpis/metrics/history.py).
Exported counters (reassignment_count, reopen_count) are kept when they are higher than what the
history shows: an audit export may start after the ticket's early history.
"""

from __future__ import annotations

import polars as pl

from kpis.metrics.history import status_key

_ISO = "%Y-%m-%dT%H:%M:%SZ"
DONE_STATES = ["resolved", "closed"]
LIVE_STATES = ["new", "open", "paused"]  # the states a reopen moves a ticket back to


def _intervals_json(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """'["start","end"]' per row; an interval still running has end null."""
    end_text = (
        pl.when(end.is_null())
        .then(pl.lit("null"))
        .otherwise(pl.format('"{}"', end.dt.to_string(_ISO)))
    )
    return pl.format('["{}",{}]', start.dt.to_string(_ISO), end_text)


# The columns the fold reads row by row; every other column is the ticket's, taken from its
# last update (gathered once per ticket rather than sorted with five million updates).
_EVENT_COLUMNS = [
    "company",
    "external_id",
    "updated_at",
    "__row",
    "status",
    "status_raw",
    "assignee",
    "assignment_group",
    "updated_by",
    "tier",
    "created_at",
]
# Kept per update in the history; low in distinct values, so held as categories: five million
# updates' texts in a few hundred megabytes less.
_HISTORY_TEXT = ["state", "status_raw", "assignee", "assignment_group", "updated_by"]


def events_fold(events: pl.DataFrame, *, pause_states: set[str]) -> pl.DataFrame:
    """One row per ticket from its updates, with the ticket's last update for plain fields.

    Set-based on the updates sorted by ticket and time: a row continues the ticket of the row
    before it or starts the next one (`first`), so "the previous update" is a shift, not a
    window per ticket."""
    ev = events.with_columns(__pos=pl.int_range(pl.len(), dtype=pl.UInt32))
    ev = ev.filter(pl.col("external_id").is_not_null() & pl.col("updated_at").is_not_null())
    present = [c for c in _EVENT_COLUMNS if c in ev.columns]
    ev = ev.select(
        *present,
        *[
            pl.lit("").alias(c)
            for c in ("assignee", "assignment_group", "updated_by")
            if c not in ev.columns
        ],
        "__pos",
    )
    ev = _by_ticket_and_time(ev)
    first = (
        (pl.col("company") != pl.col("company").shift(1))
        | (pl.col("external_id") != pl.col("external_id").shift(1))
    ).fill_null(True)
    ev = ev.with_columns(first=first).with_columns(tid=pl.col("first").cum_sum())
    same = ~pl.col("first")  # the update continues the ticket of the update before it
    # An update with no status (a comment, a field change) leaves the state as it was; a
    # ticket's first update keeps its own (the preset's default state when it has none).
    known = (pl.col("status_raw") != "") | pl.col("first")
    ev = ev.with_columns(
        status=pl.when(known).then(pl.col("status")).forward_fill(),
        status_raw=pl.when(known).then(pl.col("status_raw")).forward_fill().fill_null(""),
    )

    def before(column: str) -> pl.Expr:
        return pl.when(same).then(pl.col(column).shift(1))

    ev = ev.with_columns(
        next_at=pl.when(pl.col("first").shift(-1).not_()).then(pl.col("updated_at").shift(-1)),
        prev_status=before("status"),
        prev_group=before("assignment_group"),
        prev_assignee=before("assignee"),
    )
    # A ticket with no status yet says nothing about the response (its state is only a default).
    past_new = (pl.col("status_raw") != "") & (pl.col("status") != "new").fill_null(False)
    was_done = pl.col("prev_status").is_in(DONE_STATES).fill_null(False)
    ev = ev.with_columns(
        is_response=past_new | (pl.col("assignee") != ""),
        # Entering resolved or closed from a live state (or being born there) is a resolution;
        # resolved → closed is not: an auto-close days after the fix is not resolution time.
        is_resolution=pl.col("status").is_in(DONE_STATES).fill_null(False) & ~was_done,
        is_reopen=was_done & pl.col("status").is_in(LIVE_STATES).fill_null(False),
        is_reassign=same
        & (
            ((pl.col("assignment_group") != pl.col("prev_group")) & (pl.col("prev_group") != ""))
            | (
                (pl.col("assignee") != pl.col("prev_assignee"))
                & (pl.col("prev_assignee") != "")
                & (pl.col("assignee") != "")
            )
        ),
    ).drop("prev_status", "prev_group", "prev_assignee")
    # The resolution a reopen undoes: the last entry into resolved or closed before it, so the
    # days spent closed after being resolved stay off the clock too. A reopen always follows a
    # resolution of its own ticket, so a plain forward fill stays within the ticket.
    ev = ev.with_columns(
        resolved_since=pl.when(pl.col("is_resolution")).then(pl.col("updated_at")).forward_fill()
    )
    pauses = _joined_intervals(
        ev.filter(status_key(pl.col("status_raw")).is_in(list(pause_states))),
        "updated_at",
        "next_at",
        "pauses",
    )
    gaps = _joined_intervals(ev.filter(pl.col("is_reopen")), "resolved_since", "updated_at", "gaps")
    history = pl.struct(
        at=pl.col("updated_at"),
        state=pl.col("status").fill_null("").cast(pl.Categorical),
        status_raw=pl.col("status_raw").cast(pl.Categorical),
        assignee=pl.col("assignee").fill_null("").cast(pl.Categorical),
        assignment_group=pl.col("assignment_group").fill_null("").cast(pl.Categorical),
        updated_by=pl.col("updated_by").fill_null("").cast(pl.Categorical),
        tier=pl.col("tier"),
    )
    has_created = "created_at" in ev.columns
    folded = ev.group_by("tid", maintain_order=True).agg(
        pl.col("__pos").last(),
        pl.col("status").last(),
        pl.col("status_raw").last(),
        *(
            [pl.col("created_at").drop_nulls().first().alias("created_from_record")]
            if has_created
            else []
        ),
        pl.col("updated_at").first().alias("first_update"),
        pl.col("updated_at").filter(pl.col("is_response")).first().alias("first_response_seen"),
        pl.col("updated_at").filter(pl.col("is_resolution")).last().alias("last_done_at"),
        pl.col("is_reopen").sum().alias("reopens_seen"),
        pl.col("is_reassign").sum().alias("reassignments_seen"),
        pl.col("tier").max().alias("tier_max"),
        pl.col("updated_at").filter(pl.col("tier") > 1).first().alias("escalated_seen"),
        # The updates themselves, kept with the ticket (kpis.TicketEvent): the recompute folds
        # the pauses again from them under the policy in force (kpis/metrics/history.py).
        history.alias("history"),
    )
    del ev
    folded = folded.join(pauses, on="tid", how="left").join(gaps, on="tid", how="left")
    # The ticket's own fields, as its last update has them.
    plain = [
        c
        for c in events.columns
        if c not in ("updated_at", "updated_by", "status", "status_raw", "created_at")
    ]
    last = events.select(plain).gather(folded["__pos"])
    folded = pl.concat([last, folded.drop("__pos", "tid")], how="horizontal")
    if not has_created:
        folded = folded.with_columns(created_from_record=pl.lit(None, dtype=pl.Datetime("us")))
    return folded.with_columns(
        created_at=pl.coalesce("created_from_record", "first_update"),
        first_response_at=pl.coalesce("first_response_at", "first_response_seen"),
        resolved_at=pl.when(pl.col("status").is_in(DONE_STATES))
        .then(pl.coalesce("resolved_at", "last_done_at"))
        .otherwise(None),
        paused_intervals=pl.format("[{}]", pl.col("pauses").fill_null("")),
        reopen_gaps=pl.format("[{}]", pl.col("gaps").fill_null("")),
        reopen_count=pl.max_horizontal(
            pl.col("reopen_count").fill_null(0), pl.col("reopens_seen")
        ).cast(pl.Int64),
        reassignment_count=pl.max_horizontal(
            pl.col("reassignment_count").fill_null(0), pl.col("reassignments_seen")
        ).cast(pl.Int64),
        tier=pl.col("tier_max"),
        escalated_at=pl.coalesce("escalated_at", "escalated_seen"),
    ).drop(
        "created_from_record",
        "first_update",
        "first_response_seen",
        "last_done_at",
        "pauses",
        "gaps",
        "reopens_seen",
        "reassignments_seen",
        "tier_max",
        "escalated_seen",
    )


def _by_ticket_and_time(ev: pl.DataFrame) -> pl.DataFrame:
    """The updates grouped by ticket, each ticket's in time order (file order on a tie).

    Sorted by a 64-bit hash of the ticket's key rather than by its two texts: several times
    faster on millions of updates. Two tickets whose keys hash alike would interleave; that is
    checked (a ticket's rows must be contiguous), and the texts are sorted instead if so."""
    key = pl.struct("company", "external_id").hash()
    ordered = ev.with_columns(__key=key).sort("__key", "updated_at", "__row").drop("__key")
    runs = (
        (pl.col("company") != pl.col("company").shift(1))
        | (pl.col("external_id") != pl.col("external_id").shift(1))
    ).fill_null(True)
    tickets = ordered.select(runs.sum()).item()
    if tickets == ev.select(pl.struct("company", "external_id").n_unique()).item():
        return ordered
    return ev.sort("company", "external_id", "updated_at", "__row")


def _joined_intervals(rows: pl.DataFrame, start: str, end: str, name: str) -> pl.DataFrame:
    """Each ticket's intervals (one per row of `rows`) as one JSON list body, by ticket."""
    return (
        rows.select("tid", _intervals_json(pl.col(start), pl.col(end)).alias(name))
        .group_by("tid", maintain_order=True)
        .agg(pl.col(name).str.join(","))
    )
