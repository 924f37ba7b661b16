"""Exported pause totals (issue #19; docs/kpis.md, "The clock"; docs/imports.md, "Pause
totals"): each in its own unit and kind of time, and a total longer than the ticket was open
flagged, not silently clamped. Hand-computed on business hours Mon–Fri 08:00–17:00,
America/Chicago (Texas holidays; none fall in the weeks used). Pure: no database."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.imports.ingest.mapping import MappingError, mapping_from_json
from kpis.imports.ingest.normalise import tickets_normalise
from kpis.imports.ingest.presets import PRESETS, preset_columns
from kpis.imports.ingest.read import table_read
from kpis.metrics.clock import Intervals, exported_pause, ticket_clocks
from tests.test_clock import HOUR, always, at, business, one

MINUTE = 60


def clock(created, resolved, paused_seconds, *, calendar_time=True, target=-1, cal=business):
    return ticket_clocks(
        cal, created=one(at(created)), first_response=one(-1), resolved=one(at(resolved)),
        response_target=one(-1), resolution_target=one(target), pauses=Intervals.empty(),
        reopen_gaps=Intervals.empty(), paused_seconds_exported=one(paused_seconds),
        as_of=at("2025-12-31 00:00"), paused_exported_calendar=np.array([calendar_time]),
    )  # fmt: skip


# --- The clock ---------------------------------------------------------------------------------


def test_a_calendar_total_takes_off_its_share_of_the_business_time():
    # Mon 8 Sep 2025 09:00 → Fri 12 Sep 09:00: 96 wall-clock hours; business time
    # Mon 09–17 (8) + Tue, Wed, Thu (9 each) + Fri 08–09 (1) = 36 h. A calendar pause of
    # 24 h is a quarter of the wall-clock time: it takes off 36 × 24 / 96 = 9 business hours.
    result = clock("2025-09-08 09:00", "2025-09-12 09:00", 24 * HOUR)
    assert result.resolution_seconds[0] == (36 - 9) * HOUR  # 27 h


def test_the_issue_19_ticket_is_no_longer_zero_minutes_and_met():
    # Mon 8 Sep 09:00 → Wed 10 Sep 09:00: 48 wall-clock hours, business Mon 8 + Tue 9 +
    # Wed 08–09 1 = 18 h. ConnectWise says 1,800 waiting minutes (30 h, calendar). Read as
    # business minutes (before): 18 − 30 → 0 min, met. Now: 18 × 30 / 48 = 11.25 h off,
    # 6.75 h on the clock, over a 4-hour target: breached.
    result = clock("2025-09-08 09:00", "2025-09-10 09:00", 1800 * MINUTE, target=4 * HOUR)
    assert result.resolution_seconds[0] == 6.75 * HOUR
    assert list(result.resolution_verdict) == ["breached"]
    # Breach moment: the target plus the pause's business share, 4 + 11.25 = 15.25 h from
    # Mon 09:00: Mon 09–17 is 8 h, then 7.25 h on Tuesday from 08:00: Tue 15:15.
    assert result.resolution_breached_at[0] == at("2025-09-09 15:15")


def test_a_business_total_comes_off_as_it_is():
    # Same ticket (18 business hours); 90 business minutes paused: 18 − 1.5 = 16.5 h.
    result = clock("2025-09-08 09:00", "2025-09-10 09:00", 90 * MINUTE, calendar_time=False)
    assert result.resolution_seconds[0] == 16.5 * HOUR


def test_on_a_24x7_calendar_a_calendar_total_comes_off_exactly():
    # 48 h wall = 48 h on a 24x7 clock; 30 h paused: 48 × 30 / 48 = 30 h off, 18 h left.
    result = clock("2025-09-08 09:00", "2025-09-10 09:00", 30 * HOUR, cal=always)
    assert result.resolution_seconds[0] == 18 * HOUR


def test_a_calendar_total_longer_than_the_ticket_was_open_gets_no_verdict():
    # 48 wall-clock hours open, 49 h paused: impossible. No resolution verdict, flagged.
    result = clock("2025-09-08 09:00", "2025-09-10 09:00", 49 * HOUR, target=4 * HOUR)
    assert list(result.resolution_verdict) == [""]
    assert list(result.paused_too_long) == [True]
    assert result.resolution_breached_at[0] == -1
    # Exactly as long as it was open: possible (a ticket on hold from start to end), 0 left.
    result = clock("2025-09-08 09:00", "2025-09-10 09:00", 48 * HOUR, target=4 * HOUR)
    assert list(result.paused_too_long) == [False]
    assert result.resolution_seconds[0] == 0
    assert list(result.resolution_verdict) == ["met"]


def test_a_business_total_longer_than_the_business_time_gets_no_verdict():
    # 18 business hours open; 19 business hours paused is too long, although it is less than
    # the 48 wall-clock hours.
    result = clock(
        "2025-09-08 09:00", "2025-09-10 09:00", 19 * HOUR, calendar_time=False, target=HOUR
    )
    assert list(result.paused_too_long) == [True]
    assert list(result.resolution_verdict) == [""]


def test_exported_pause_rounds_the_share_down_to_the_second():
    # gross 10 s, wall 3 s, 1 s paused (calendar): 10 × 1 / 3 = 3.33 → 3 s. Business: 1 s.
    # A wall of 0 (resolved at creation) takes nothing off; any pause on it is too long.
    off, too_long = exported_pause(
        np.array([10, 10, 0, 0]), np.array([3, 3, 0, 0]), np.array([1, 1, 0, 5]),
        np.array([True, False, True, True]),
    )  # fmt: skip
    assert list(off) == [3, 1, 0, 0]
    assert list(too_long) == [False, False, False, True]


@settings(max_examples=200, deadline=None)
@given(
    wall=st.integers(0, 10**8),
    business_share=st.floats(0, 1),
    paused=st.integers(-100, 2 * 10**8),
    more=st.integers(0, 10**6),
    calendar_time=st.booleans(),
)
def test_exported_pause_is_within_the_business_time_and_grows_with_the_total(
    wall, business_share, paused, more, calendar_time
):
    gross = int(wall * business_share)  # business time never exceeds the wall-clock time
    kind = np.array([calendar_time])
    off, too_long = exported_pause(one(gross), one(wall), one(paused), kind)
    off_more, _ = exported_pause(one(gross), one(wall), one(paused + more), kind)
    assert 0 <= off[0] <= gross
    assert off[0] <= off_more[0]
    assert off[0] <= max(paused, 0)  # never more than the total itself
    span = wall if calendar_time else gross
    assert too_long[0] == (paused > span)


# --- The import --------------------------------------------------------------------------------


def normalised(preset: str, header: str, row: str, extra: dict | None = None):
    table = table_read(f"{header}\n{row}\n".encode(), "export.csv")
    columns = preset_columns(PRESETS[preset], table.columns)
    mapping = mapping_from_json(
        {"preset": preset, "timezone": "UTC", "columns": columns, **(extra or {})}, table.columns
    )
    return tickets_normalise(table.frame, mapping)


HALO = "id,dateoccurred,datecleared,priority_id,slaholdtime"
ZENDESK = "Id,Created at,Solved at,Priority,On hold time in minutes"


def test_the_presets_say_the_unit_and_kind_of_their_pause_totals():
    kinds = {
        name: (p.paused_unit, p.paused_time)
        for name, p in PRESETS.items()
        if "paused_minutes" in p.columns
    }
    assert kinds == {
        "connectwise": ("minutes", "calendar"),
        "halopsa": ("hours", "calendar"),
        "zendesk": ("minutes", "calendar"),
        "generic": ("minutes", "calendar"),
    }


def test_halopsa_hold_hours_become_calendar_minutes():
    # 1.5 hours on hold = 90 minutes; the ticket was open 2025-09-08 09:00 → 12:00 (180 min).
    result = normalised("halopsa", HALO, "7,2025-09-08 09:00,2025-09-08 12:00,2,1.5")
    ticket = result.tickets.row(0, named=True)
    assert (ticket["paused_minutes"], ticket["paused_time"]) == (90, "calendar")
    assert result.problems.is_empty()


def test_a_mapping_can_say_a_total_counts_business_time():
    result = normalised(
        "zendesk", ZENDESK, "9,2025-09-08 09:00,2025-09-08 12:00,High,30",
        {"paused_time": "business"},
    )  # fmt: skip
    ticket = result.tickets.row(0, named=True)
    assert (ticket["paused_minutes"], ticket["paused_time"]) == (30, "business")
    columns = {"external_id": "Id", "created_at": "Created at"}
    with pytest.raises(
        MappingError, match=r"mapping\.paused_time: 'weeks' is not one of calendar, business"
    ):
        mapping_from_json(
            {"preset": "zendesk", "timezone": "UTC", "columns": columns, "paused_time": "weeks"}
        )


def test_a_ticket_without_a_total_has_no_kind_of_pause():
    result = normalised("zendesk", ZENDESK, "9,2025-09-08 09:00,2025-09-08 12:00,High,")
    assert result.tickets.row(0, named=True)["paused_time"] == ""


def test_a_total_longer_than_the_ticket_was_open_is_a_warning_on_its_row():
    # Open 09:00 → 12:00 (180 minutes), on hold 4 hours (240 minutes): imported, with a warning
    # naming the column, the value as exported (in hours) and why.
    result = normalised("halopsa", HALO, "7,2025-09-08 09:00,2025-09-08 12:00,2,4")
    assert result.tickets.height == 1
    problem = result.problems.row(0, named=True)
    assert problem["row"] == 2 and problem["severity"] == "warning"
    assert (problem["column"], problem["value"]) == ("slaholdtime", "4")
    assert problem["reason"].startswith(
        "paused for longer than the ticket was open (180 minutes from creation to resolution)"
    )
    assert "no resolution verdict" in problem["reason"]


def test_a_ticket_without_a_pause_total_keeps_the_content_hash_it_had_before():
    # kpis/0008 added paused_time: a ticket without a total must hash as before (the values of
    # the other columns joined by \x1f, null as \x00), so an unchanged file updates nothing.
    import hashlib

    import polars as pl

    from kpis.imports.store import _HASHED, _VERDICTS, COLUMNS, row_hashes

    schema = {n: (pl.Float64 if n == "paused_minutes" else pl.String) for n, _ in COLUMNS}
    row = {n: None for n, _ in COLUMNS} | {"title": "Disk full", "paused_minutes": 5.0}
    without = row | {"paused_time": ""}
    before = "\x1f".join(
        "\x00" if without[c] is None else str(without[c])
        for c in _HASHED
        if c != "paused_time" and c not in _VERDICTS  # kpis/0013's, hashed only when filled
    )
    expected = hashlib.md5(before.encode(), usedforsecurity=False).hexdigest()
    assert row_hashes(pl.DataFrame([without], schema=schema)).to_list() == [expected]
    calendar = row_hashes(pl.DataFrame([row | {"paused_time": "calendar"}], schema=schema))
    assert calendar.to_list() != [expected]  # the kind, when there is one, is part of the hash
