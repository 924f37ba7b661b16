"""A large event log is read lean (only its mapped columns, repetitive ones as categories) and
normalised a part of its tickets at a time (kpis/imports/ingest/parts.py): the same tickets,
values, histories and problems as one pass over the whole file, in bounded memory."""

from __future__ import annotations

import polars as pl
import pytest

from benchmarks.generate import event_log_frame
from kpis.imports.ingest import parts
from kpis.imports.ingest.mapping import mapping_for_preset
from kpis.imports.ingest.normalise import tickets_normalise
from kpis.imports.ingest.presets import PRESETS
from kpis.imports.ingest.read import table_read

pytestmark = pytest.mark.no_database


def log_bytes(tickets: int) -> bytes:
    frame = event_log_frame(tickets, 5)
    # A few rows a careful import must not lose or misread: a comment (no status), a ticket of
    # another client with the same number, a row with an unreadable time.
    extra = pl.DataFrame(
        [
            [
                "500001",
                "Client 000 Ltd",
                "Printer issue",
                None,
                "P2",
                "2024-11-02 10:00:00",
                "",
                "",
            ],
            ["500001", "Client 004 Ltd", "Mail issue", "New", "P1", "2024-11-03 10:00:00", "", ""],
            ["500002", "Client 001 Ltd", "Disk issue", "Resolved", "P3", "not a time", "", ""],
        ],
        schema=frame.columns,
        orient="row",
    )
    return pl.concat([frame, extra]).write_csv().encode()


def mapping_of(header):
    mapping = mapping_for_preset(PRESETS["event_log"], header, timezone="UTC")
    mapping.pause_states = ["waiting customer", "awaiting vendor"]
    return mapping


def comparable(frame: pl.DataFrame) -> pl.DataFrame:
    history = pl.col("history").list.eval(
        pl.concat_str(
            [
                pl.element().struct.field(f).cast(pl.String).fill_null("")
                for f in ("at", "state", "status_raw", "assignee")
            ],
            separator="|",
        )
    )
    return frame.with_columns(history=history).sort("company", "external_id")


def test_the_lean_read_keeps_the_mapped_columns_their_rows_and_the_whole_header():
    data = log_bytes(50)
    whole = table_read(data, "log.csv")
    mapping = mapping_of(whole.columns)
    lean = table_read(data, "log.csv", **parts.lean_read(mapping.to_json()))
    assert lean.columns == whole.columns  # the mapping is checked against the whole header
    kept = list(dict.fromkeys(mapping.columns.values()))
    assert set(lean.frame.columns) == {*kept, "__row"}
    assert lean.frame["Status"].dtype == pl.Categorical and lean.frame["Ticket"].dtype == pl.String
    assert lean.frame["__row"].to_list() == whole.frame["__row"].to_list()
    for column in kept:
        assert lean.frame[column].cast(pl.String).to_list() == whole.frame[column].to_list()


def test_one_row_exports_are_read_as_before():
    mapping = mapping_for_preset(
        PRESETS["connectwise"], ["Ticket #", "Date Entered"], timezone="UTC"
    )
    assert parts.lean_read(mapping.to_json()) == {}
    assert parts.lean_read({"preset": "nonsense"}) == {}  # the import names that error itself


def test_a_log_normalised_in_parts_gives_what_one_pass_gives(monkeypatch):
    data = log_bytes(400)
    whole = table_read(data, "log.csv")
    mapping = mapping_of(whole.columns)
    frame = whole.frame.select([*dict.fromkeys(mapping.columns.values()), "__row"])
    once = tickets_normalise(frame, mapping)

    lean = table_read(data, "log.csv", **parts.lean_read(mapping.to_json())).frame
    monkeypatch.setattr(parts, "PART_ROWS", 700)  # 4,003 rows: six parts
    in_parts = parts.tickets_normalise_in_parts(lean, mapping)

    assert in_parts.tickets.height == once.tickets.height == 400 + 2  # 500001 of two other clients
    left, right = comparable(in_parts.tickets), comparable(once.tickets)
    assert left.columns == right.columns
    assert left.equals(right)
    assert in_parts.problems.sort("row", "column").equals(once.problems.sort("row", "column"))
    assert in_parts.problems.height >= 1  # the unreadable time is named, whichever part it was in
    assert in_parts.unmapped == once.unmapped
    assert in_parts.rows_in == once.rows_in
