"""The event-log fold's rules (docs/kpis.md, "Event logs"), each on a ticket small enough to
compute by hand. All times are UTC; the clocks below are wall-clock minutes (24x7)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.imports.ingest.mapping import MappingError, mapping_from_json
from kpis.imports.ingest.normalise import tickets_normalise
from kpis.imports.ingest.presets import PRESETS, value_guess
from kpis.imports.ingest.read import table_read

HEADER = "Ticket,Updated,Status,Assignee,Resolved"


def fold(rows: list[str], *, pause_states=("Awaiting User",), resolved_column=False, extra=None):
    """The tickets an event log of `rows` (in HEADER's columns) folds into, by id."""
    text = "\n".join([HEADER, *rows]) + "\n"
    table = table_read(text.encode(), "events.csv")
    columns = {"external_id": "Ticket", "updated_at": "Updated", "status": "Status"}
    columns["assignee"] = "Assignee"
    if resolved_column:
        columns["resolved_at"] = "Resolved"
    mapping = mapping_from_json(
        {
            "preset": "event_log",
            "columns": columns | (extra or {}),
            "timezone": "UTC",
            "pause_states": list(pause_states),
        },
        table.columns,
    )
    tickets = tickets_normalise(table.frame, mapping).tickets
    return {row["external_id"]: row for row in tickets.to_dicts()}


def iso(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def minutes(start, end) -> float:
    return (end - start).total_seconds() / 60


def test_new_is_a_state_and_the_usual_new_statuses_map_to_it():
    assert value_guess("status", "New") == "new"
    assert value_guess("status", "Queued / Awaiting Assignment") == "new"  # not a wait
    assert value_guess("status", "Unassigned") == "new"
    assert value_guess("status", "Accepted / Wait") == "paused"
    assert value_guess("status", "In Progress") == "open"
    assert value_guess("status", "New", PRESETS["servicenow_audit"]) == "new"
    assert value_guess("status", "Completed / Closed") == "closed"
    # Jira Service Management's first status is the customer waiting for the desk, not a pause.
    assert value_guess("status", "Waiting for support", PRESETS["jira_sm"]) == "new"
    assert value_guess("status", "Waiting for customer", PRESETS["jira_sm"]) == "paused"


def test_first_response_is_the_first_update_past_new():
    # New at 09:00, still New at 09:10 (a comment), In Progress at 09:30: response 30 minutes.
    t = fold(["T1,2025-09-01 09:00,New,,", "T1,2025-09-01 09:10,New,,",
              "T1,2025-09-01 09:30,In Progress,,"])["T1"]  # fmt: skip
    assert t["status"] == "open"
    assert iso(t["created_at"]) == "2025-09-01T09:00:00Z"
    assert iso(t["first_response_at"]) == "2025-09-01T09:30:00Z"
    assert minutes(t["created_at"], t["first_response_at"]) == 30


def test_a_ticket_born_in_progress_was_responded_to_at_its_creation():
    # The first update already shows In Progress: response time 0 (the old rule waited for a
    # change of status, here 11:00, and reported 120 minutes).
    t = fold(["T2,2025-09-01 09:00,In Progress,,", "T2,2025-09-01 11:00,Awaiting User,,"])["T2"]
    assert iso(t["first_response_at"]) == "2025-09-01T09:00:00Z"
    assert minutes(t["created_at"], t["first_response_at"]) == 0


def test_a_ticket_born_assigned_was_responded_to_at_its_creation():
    # New but with an assignee from the first update: someone owns it, response 0.
    t = fold(["T3,2025-09-01 09:00,New,ann,", "T3,2025-09-01 10:00,In Progress,ann,"])["T3"]
    assert iso(t["first_response_at"]) == "2025-09-01T09:00:00Z"
    # New and unassigned, then assigned at 09:45 while still New: response 45 minutes.
    t = fold(["T4,2025-09-01 09:00,New,,", "T4,2025-09-01 09:45,New,bob,"])["T4"]
    assert minutes(t["created_at"], t["first_response_at"]) == 45


def test_an_update_with_no_status_leaves_the_state_as_it_was():
    # 09:00 New, 09:20 a row with the status empty (a comment), 10:00 In Progress: 60 minutes.
    t = fold(["TE,2025-09-01 09:00,New,,", "TE,2025-09-01 09:20,,,",
              "TE,2025-09-01 10:00,In Progress,,"])["TE"]  # fmt: skip
    assert minutes(t["created_at"], t["first_response_at"]) == 60
    # Resolved 11:00, a comment at 12:00 (no status), closed 13:00: no reopen, still resolved at
    # 11:00, and the ticket's last known status is Closed.
    t = fold(["TF,2025-09-01 09:00,In Progress,,", "TF,2025-09-01 11:00,Resolved,,",
              "TF,2025-09-01 12:00,,,", "TF,2025-09-01 13:00,Closed,,",
              "TF,2025-09-01 14:00,,,"])["TF"]  # fmt: skip
    assert t["reopen_count"] == 0 and json.loads(t["reopen_gaps"]) == []
    assert iso(t["resolved_at"]) == "2025-09-01T11:00:00Z"
    assert (t["status"], t["status_raw"]) == ("closed", "Closed")
    # A pause is not cut by a comment: Awaiting User 09:30 → (comment 09:40) → 10:00.
    t = fold(["TG,2025-09-01 09:00,In Progress,,", "TG,2025-09-01 09:30,Awaiting User,,",
              "TG,2025-09-01 09:40,,,", "TG,2025-09-01 10:00,In Progress,,"])["TG"]  # fmt: skip
    assert json.loads(t["paused_intervals"]) == [
        ["2025-09-01T09:30:00Z", "2025-09-01T09:40:00Z"],
        ["2025-09-01T09:40:00Z", "2025-09-01T10:00:00Z"],
    ]  # two pieces, 30 minutes in all: the clock takes their union


def test_closing_a_resolved_ticket_does_not_move_its_resolution():
    # Resolved Mon 1 Sep 12:00, auto-closed Mon 8 Sep 12:00: resolution is 12:00 on the 1st,
    # 180 minutes after the 09:00 creation, not 7 days (10,260 minutes) more.
    t = fold(["T5,2025-09-01 09:00,In Progress,,", "T5,2025-09-01 12:00,Resolved,,",
              "T5,2025-09-08 12:00,Closed,,"])["T5"]  # fmt: skip
    assert t["status"] == "closed"
    assert iso(t["resolved_at"]) == "2025-09-01T12:00:00Z"
    assert minutes(t["created_at"], t["resolved_at"]) == 180


def test_a_ticket_closed_without_being_resolved_is_resolved_when_closed():
    t = fold(["T6,2025-09-01 09:00,In Progress,,", "T6,2025-09-02 09:00,Closed,,"])["T6"]
    assert iso(t["resolved_at"]) == "2025-09-02T09:00:00Z"  # 1,440 minutes after creation


def test_the_last_entry_into_resolved_counts_and_an_exported_resolved_at_wins_when_filled():
    rows = ["T7,2025-09-01 09:00,In Progress,,", "T7,2025-09-01 10:00,Resolved,,",
            "T7,2025-09-01 11:00,In Progress,,", "T7,2025-09-01 15:00,Resolved,,"]  # fmt: skip
    assert iso(fold(rows)["T7"]["resolved_at"]) == "2025-09-01T15:00:00Z"
    # The same ticket where the export fills Resolved on its last row only (16:00): the export
    # says when; a ticket whose Resolved column is empty falls back on its history.
    filled = [*rows[:-1], "T7,2025-09-01 15:00,Resolved,,2025-09-01 16:00",
              "T8,2025-09-01 09:00,In Progress,,", "T8,2025-09-01 10:00,Resolved,,"]  # fmt: skip
    tickets = fold(filled, resolved_column=True)
    assert iso(tickets["T7"]["resolved_at"]) == "2025-09-01T16:00:00Z"
    assert iso(tickets["T8"]["resolved_at"]) == "2025-09-01T10:00:00Z"


def test_a_reopen_after_closing_keeps_the_whole_gap_from_the_resolution_off_the_clock():
    # Resolved 1 Sep 12:00, Closed 3 Sep 12:00, reopened (In Progress) 4 Sep 09:00, resolved
    # again 4 Sep 10:00, closed 5 Sep 10:00. Gap 1 Sep 12:00 → 4 Sep 09:00 (from the resolution,
    # not the closing); resolution 4 Sep 10:00. Clock: 09:00→12:00 on the 1st (180) + 60 = 240.
    t = fold(["T9,2025-09-01 09:00,In Progress,,", "T9,2025-09-01 12:00,Resolved,,",
              "T9,2025-09-03 12:00,Closed,,", "T9,2025-09-04 09:00,In Progress,,",
              "T9,2025-09-04 10:00,Resolved,,", "T9,2025-09-05 10:00,Closed,,"])["T9"]  # fmt: skip
    assert json.loads(t["reopen_gaps"]) == [["2025-09-01T12:00:00Z", "2025-09-04T09:00:00Z"]]
    assert t["reopen_count"] == 1
    assert iso(t["resolved_at"]) == "2025-09-04T10:00:00Z"
    # Wall time 1 Sep 09:00 → 4 Sep 10:00 = 4,380 minutes; the gap 1 Sep 12:00 → 4 Sep 09:00
    # = 4,140 minutes; 4,380 − 4,140 = 240 on the resolution clock.
    start, end = (datetime.fromisoformat(g) for g in json.loads(t["reopen_gaps"])[0])
    assert minutes(t["created_at"], t["resolved_at"]) - minutes(start, end) == 240


def test_a_reopen_to_new_counts_and_a_closed_to_cancelled_move_does_not():
    t = fold(["TA,2025-09-01 09:00,In Progress,,", "TA,2025-09-01 10:00,Closed,,",
              "TA,2025-09-01 11:00,New,,", "TA,2025-09-01 12:00,Closed,,"])["TA"]  # fmt: skip
    assert json.loads(t["reopen_gaps"]) == [["2025-09-01T10:00:00Z", "2025-09-01T11:00:00Z"]]
    t = fold(["TB,2025-09-01 09:00,In Progress,,", "TB,2025-09-01 10:00,Closed,,",
              "TB,2025-09-01 11:00,Cancelled,,"])["TB"]  # fmt: skip
    assert json.loads(t["reopen_gaps"]) == [] and t["reopen_count"] == 0


def test_pauses_before_and_after_a_reopen_are_both_kept():
    # Awaiting User 09:30→10:00, resolved 11:00, reopened 13:00, Awaiting User 13:30→14:00,
    # resolved 15:00. Off the clock: 30 + 120 (gap) + 30 = 180 of the 360 minutes: 180 run.
    t = fold(["TC,2025-09-01 09:00,In Progress,,", "TC,2025-09-01 09:30,Awaiting User,,",
              "TC,2025-09-01 10:00,In Progress,,", "TC,2025-09-01 11:00,Resolved,,",
              "TC,2025-09-01 13:00,In Progress,,", "TC,2025-09-01 13:30,Awaiting User,,",
              "TC,2025-09-01 14:00,In Progress,,",
              "TC,2025-09-01 15:00,Resolved,,"])["TC"]  # fmt: skip
    assert json.loads(t["paused_intervals"]) == [
        ["2025-09-01T09:30:00Z", "2025-09-01T10:00:00Z"],
        ["2025-09-01T13:30:00Z", "2025-09-01T14:00:00Z"],
    ]
    assert json.loads(t["reopen_gaps"]) == [["2025-09-01T11:00:00Z", "2025-09-01T13:00:00Z"]]
    assert iso(t["resolved_at"]) == "2025-09-01T15:00:00Z"


def test_two_status_columns_are_read_together_as_status_slash_sub_status():
    rows = ["TD,2025-09-01 09:00,Accepted,,Wait", "TD,2025-09-01 10:00,Accepted,,In Progress",
            "TD,2025-09-01 11:00,Completed,,Closed"]  # fmt: skip
    # The fifth column (Resolved in HEADER) is read as the sub-status here.
    t = fold(rows, pause_states=("Accepted / Wait",), extra={"sub_status": "Resolved"})["TD"]
    assert t["status_raw"] == "Completed / Closed" and t["status"] == "closed"
    # Born Accepted / Wait: past new, so responded at creation; paused 09:00 → 10:00.
    assert iso(t["first_response_at"]) == "2025-09-01T09:00:00Z"
    assert json.loads(t["paused_intervals"]) == [["2025-09-01T09:00:00Z", "2025-09-01T10:00:00Z"]]
    assert iso(t["resolved_at"]) == "2025-09-01T11:00:00Z"


def test_a_sub_status_needs_the_status_and_an_event_log_needs_no_creation_column():
    with pytest.raises(MappingError, match="sub_status"):
        mapping_from_json(
            {"preset": "event_log", "timezone": "UTC",
             "columns": {"external_id": "T", "updated_at": "U", "sub_status": "S"}}
        )  # fmt: skip
    mapping = mapping_from_json(
        {
            "preset": "event_log",
            "timezone": "UTC",
            "columns": {"external_id": "T", "updated_at": "U"},
        }
    )
    assert "created_at" not in mapping.columns


STATES = ["New", "In Progress", "Awaiting User", "Resolved", "Closed"]


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(STATES), st.integers(1, 600)), min_size=1,
                      max_size=12))  # fmt: skip
def test_any_history_folds_into_a_resolution_inside_it_and_gaps_that_end_at_reopens(steps):
    stamps, rows, minute = [], [], 0
    for state, step in steps:
        minute += step
        hours, mm = divmod(minute, 60)
        day, hh = divmod(hours, 24)
        stamps.append(f"2025-09-{1 + day:02d}T{hh:02d}:{mm:02d}:00Z")
        rows.append(f"TZ,{stamps[-1]},{state},,")
    t = fold(rows)["TZ"]
    past_new = [stamp for stamp, (state, _) in zip(stamps, steps, strict=True) if state != "New"]
    assert iso(t["first_response_at"]) == (past_new[0] if past_new else None)
    done = steps[-1][0] in ("Resolved", "Closed")
    assert (t["resolved_at"] is not None) == done
    if done:
        assert t["created_at"] <= t["resolved_at"]
        # The resolution is never an update that only closed an already resolved ticket.
        states = [s for s, _ in steps]
        at = stamps.index(iso(t["resolved_at"]))
        assert at == 0 or states[at - 1] not in ("Resolved", "Closed")
    for start, end in json.loads(t["reopen_gaps"]):
        assert start < end
    assert t["reopen_count"] == len(json.loads(t["reopen_gaps"]))
