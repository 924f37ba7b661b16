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


def events_fold(events: pl.DataFrame, *, pause_states: set[str]) -> pl.DataFrame:
    """One row per ticket from its updates, with the ticket's last update for plain fields."""
    keys = ["company", "external_id"]
    ev = events.filter(pl.col("external_id").is_not_null() & pl.col("updated_at").is_not_null())
    ev = ev.sort([*keys, "updated_at", "__row"])
    over = pl.struct(keys)
    # An update with no status (a comment, a field change) leaves the state as it was.
    known = pl.col("status_raw") != ""
    ev = ev.with_columns(
        status=pl.when(known)
        .then(pl.col("status"))
        .forward_fill()
        .over(over)
        .fill_null(pl.col("status")),
        status_raw=pl.when(known)
        .then(pl.col("status_raw"))
        .forward_fill()
        .over(over)
        .fill_null(""),
    )
    ev = ev.with_columns(
        next_at=pl.col("updated_at").shift(-1).over(over),
        prev_status=pl.col("status").shift(1).over(over),
        prev_group=pl.col("assignment_group").shift(1).over(over),
        prev_assignee=pl.col("assignee").shift(1).over(over),
        position=pl.int_range(pl.len()).over(over),
    )
    status_key = pl.col("status_raw").str.to_lowercase().str.replace_all(r"\s+", " ")
    # A ticket with no status yet says nothing about the response (its state is only a default).
    past_new = (pl.col("status_raw") != "") & (pl.col("status") != "new").fill_null(False)
    responded = past_new | (pl.col("assignee") != "")
    was_done = pl.col("prev_status").is_in(DONE_STATES).fill_null(False)
    # Entering resolved or closed from a live state (or being born there) is a resolution;
    # resolved → closed is not: an auto-close days after the fix is not resolution time.
    entered_done = pl.col("status").is_in(DONE_STATES).fill_null(False) & ~was_done
    reopened = was_done & pl.col("status").is_in(LIVE_STATES).fill_null(False)
    reassigned = (pl.col("position") > 0) & (
        ((pl.col("assignment_group") != pl.col("prev_group")) & (pl.col("prev_group") != ""))
        | (
            (pl.col("assignee") != pl.col("prev_assignee"))
            & (pl.col("prev_assignee") != "")
            & (pl.col("assignee") != "")
        )
    )
    ev = ev.with_columns(
        pause_json=pl.when(status_key.is_in(list(pause_states))).then(
            _intervals_json(pl.col("updated_at"), pl.col("next_at"))
        ),
        is_response=responded,
        is_resolution=entered_done,
        is_reopen=reopened,
        is_reassign=reassigned,
    )
    # The resolution a reopen undoes: the last entry into resolved or closed before it, so the
    # days spent closed after being resolved stay off the clock too.
    resolved_since = pl.when(pl.col("is_resolution")).then(pl.col("updated_at"))
    ev = ev.with_columns(resolved_since=resolved_since.forward_fill().over(over)).with_columns(
        gap_json=pl.when(pl.col("is_reopen")).then(
            _intervals_json(pl.col("resolved_since"), pl.col("updated_at"))
        )
    )
    plain = [c for c in events.columns if c not in ("updated_at", "updated_by", "__row")]
    folded = ev.group_by(keys, maintain_order=True).agg(
        *[pl.col(c).last() for c in plain if c not in keys],
        pl.col("__row").last(),
        pl.col("created_at").drop_nulls().first().alias("created_from_record"),
        pl.col("updated_at").first().alias("first_update"),
        pl.col("updated_at").filter(pl.col("is_response")).first().alias("first_response_seen"),
        pl.col("updated_at").filter(pl.col("is_resolution")).last().alias("last_done_at"),
        pl.col("pause_json").drop_nulls().str.join(",").alias("pauses"),
        pl.col("gap_json").drop_nulls().str.join(",").alias("gaps"),
        pl.col("is_reopen").sum().alias("reopens_seen"),
        pl.col("is_reassign").sum().alias("reassignments_seen"),
        pl.col("tier").max().alias("tier_max"),
        pl.col("updated_at").filter(pl.col("tier") > 1).first().alias("escalated_seen"),
        # The updates themselves, kept with the ticket (kpis.TicketEvent): the recompute folds
        # the pauses again from them under the policy in force (kpis/metrics/history.py).
        pl.struct(
            at=pl.col("updated_at"),
            state=pl.col("status").fill_null(""),
            status_raw=pl.col("status_raw"),
            assignee=pl.col("assignee").fill_null(""),
            assignment_group=pl.col("assignment_group").fill_null(""),
            updated_by=pl.col("updated_by").fill_null(""),
            tier=pl.col("tier"),
        ).alias("history"),
    )
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
