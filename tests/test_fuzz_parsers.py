"""Property-based fuzzing of what reads hostile input: bytes → table, the encoding and delimiter
detection, timestamp parsing, value maps, the mapping JSON, row normalisation, and the SLA clock
over random calendars. Pure: no database.

The suite runs a bounded number of examples; `make fuzz` runs the same properties with the
`fuzz` hypothesis profile (tests/conftest.py), many more examples each.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from contracts.rules import parse_weekly_hours
from kpis.imports.ingest.mapping import MappingError, mapping_for_preset, mapping_from_json
from kpis.imports.ingest.normalise import FIRST_YEAR, LAST_YEAR, cells_clean, tickets_normalise
from kpis.imports.ingest.presets import MAPPED_VALUE_FIELDS, NORMALISED_VALUES, PRESETS, value_guess
from kpis.imports.ingest.read import ROW, Table, UnusableFile, table_read
from kpis.imports.ingest.timestamps import AmbiguousDates, timestamps_parse
from kpis.metrics.clock import WEEKDAYS, CalendarIndex, CalendarSpec, Intervals, ticket_clocks

FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"


def budget(examples: int):
    """`examples` in the suite; the fuzz profile's count under `make fuzz`."""
    return settings(
        max_examples=settings.default.max_examples if FUZZING else examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Bytes → table ---------------------------------------------------------------------------------

# The bytes that steer a CSV reader: delimiters, quotes, line ends, BOMs, NUL, non-ASCII.
CSV_BYTES = st.lists(
    st.sampled_from([b",", b";", b"\t", b"|", b'"', b"\r", b"\n", b"\r\n", b"a", b"1", b" ",
                     b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xe9", b"\xc3\xa9", b"\x81",
                     b"=1+1", b"PK\x03\x04", b"\x1f\x8b", b"Ticket", b"2025-07-01 10:00"]),
    max_size=60,
).map(b"".join)  # fmt: skip


def check_table(table: Table) -> None:
    assert len(table.columns) >= 2 and len(set(table.columns)) == len(table.columns)
    assert ROW not in table.columns
    assert table.frame.columns == [*table.columns, ROW]
    assert table.frame.height >= 1
    rows = table.frame[ROW].to_list()
    assert rows == sorted(rows) and len(set(rows)) == len(rows) and rows[0] >= 2
    assert all(dtype == pl.String for dtype in table.frame.drop(ROW).dtypes)


@budget(300)
@given(data=st.binary(max_size=400) | CSV_BYTES, name=st.sampled_from(["f.csv", "f.xlsx", "f.gz"]))
def test_any_bytes_are_a_table_or_a_named_refusal(data, name):
    try:
        table = table_read(data, name)
    except UnusableFile as refusal:
        assert str(refusal).startswith(("f.", "the file")) or " in f." in str(refusal)
        return
    check_table(table)


@budget(150)
@given(data=CSV_BYTES, max_rows=st.integers(1, 5))
def test_a_preview_reads_a_prefix_of_what_the_import_reads(data, max_rows):
    try:
        whole = table_read(data, "f.csv")
    except UnusableFile:
        return
    try:
        preview = table_read(data, "f.csv", max_rows=max_rows)
    except UnusableFile:  # the first rows alone may be blank
        return
    check_table(preview)
    assert preview.columns == whole.columns


CELL = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=10)
CP1252_CELL = st.text(st.sampled_from("abcXYZ 019,;\"'\n\t|éüßœ€–“”…°£"), max_size=10)


@budget(200)
@given(
    rows=st.lists(st.lists(CP1252_CELL, min_size=3, max_size=3), min_size=1, max_size=6),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_each_encoding_and_delimiter_is_detected_and_reads_back(rows, encoding, delimiter):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["Ticket", "Title", "Opened"])
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    if encoding == "cp1252":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            assume(data.isascii())  # a cp1252 file that is also valid UTF-8 reads as UTF-8
        # A file that is not UTF-8 as a whole is read line by line, and a line that is valid
        # UTF-8 is read as UTF-8 (two exports pasted together): that is the documented rule,
        # so a Windows-1252 line whose bytes happen to form UTF-8 ("ßœ" is DF 9C) is out of
        # scope here.
        assume(not any(not line.isascii() and _utf8(line) for line in data.split(b"\n")))
    wanted = [tuple(cell.replace("\r\n", "\n") or None for cell in row) for row in rows if any(row)]
    try:
        table = table_read(data, "f.csv")
    except UnusableFile as refusal:
        assert not wanted and "has no table" in str(refusal)
        return
    assert table.delimiter == delimiter
    assert table.columns == ["Ticket", "Title", "Opened"]
    assert table.frame.drop(ROW).rows() == wanted


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Timestamps ------------------------------------------------------------------------------------

MOMENTS = st.datetimes(datetime(FIRST_YEAR, 1, 2), datetime(LAST_YEAR, 12, 30)).map(
    lambda moment: moment.replace(microsecond=0)
)
ZONES = st.sampled_from(["UTC", "America/Chicago", "Europe/London", "Australia/Lord_Howe",
                         "Asia/Kathmandu", "Pacific/Chatham", "America/St_Johns"])  # fmt: skip


DATEISH = st.from_regex(r"\d{1,5}[/.-]\d{1,3}[/.-]\d{1,5}( \d\d?:\d\d)?", fullmatch=True)


@budget(200)
@given(values=st.lists(st.text(max_size=25) | DATEISH, max_size=8),
       order=st.sampled_from(["mdy", "dmy", "ymd", ""]), zone=ZONES)  # fmt: skip
def test_any_text_parses_to_a_datetime_or_null_never_an_error(values, order, zone):
    series = pl.Series("t", values, dtype=pl.String)
    for ambiguous in ("earliest", "latest"):
        parsed = timestamps_parse(series, order=order, zone=zone, ambiguous=ambiguous)
        assert parsed.dtype == pl.Datetime("us") and len(parsed) == len(values)


@budget(200)
@given(moment=MOMENTS, order=st.sampled_from(["mdy", "dmy"]), iso=st.booleans())
def test_a_written_utc_time_parses_back_to_itself(moment, order, iso):
    if iso:
        text = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        text = moment.strftime("%m/%d/%Y %H:%M:%S" if order == "mdy" else "%d/%m/%Y %H:%M:%S")
    parsed = timestamps_parse(pl.Series([text]), order=order, zone="UTC")
    assert parsed[0] == moment


@budget(150)
@given(moment=MOMENTS, zone=ZONES)
def test_an_offset_wins_over_the_zone(moment, zone):
    text = moment.replace(tzinfo=UTC).astimezone(datetime.now().astimezone().tzinfo).isoformat()
    parsed = timestamps_parse(pl.Series([text]), order="", zone=zone)
    assert parsed[0] == moment


# Value maps and the mapping JSON ---------------------------------------------------------------


@budget(300)
@given(field=st.sampled_from(MAPPED_VALUE_FIELDS), raw=st.text(max_size=40),
       preset=st.sampled_from(sorted(PRESETS)))  # fmt: skip
def test_a_value_guess_is_a_normalised_value_or_none(field, raw, preset):
    guess = value_guess(field, raw, PRESETS[preset])
    assert guess is None or guess in NORMALISED_VALUES[field]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=10,
)
MAPPING_KEYS = ["preset", "columns", "timezone", "date_order", "values", "clients",
                "pause_states", "paused_unit", "paused_time", "default_kind"]  # fmt: skip


@budget(300)
@given(data=st.dictionaries(st.sampled_from(MAPPING_KEYS) | st.text(max_size=8), JSONISH,
                            max_size=6) | JSONISH)  # fmt: skip
def test_any_mapping_json_is_a_mapping_or_an_error_naming_the_key(data):
    try:
        mapping_from_json(data, ["Ticket", "Opened"])
    except MappingError as error:
        assert str(error).startswith("mapping")


# Rows → tickets --------------------------------------------------------------------------------

GENERIC_HEADER = ["Ticket", "Title", "Priority", "Status", "Opened", "Resolved", "Reopens"]
FUZZ_CELL = st.one_of(
    CELL,
    st.sampled_from(["", "-", "N/A", "P1", "urgent", "Closed", "NaN", "inf", "-3", "1e308",
                     "0001-01-01 00:00", "9999-12-31 23:59", "2025-03-09 02:30", "45852.5",
                     "2025-07-01 10:00", "2025-07-01T10:00:00Z", "07/08/2025 04:05 PM",
                     "\ufeffH-1", "=1+1", "A" * 120]),
)  # fmt: skip


@budget(150)
@given(rows=st.lists(st.lists(FUZZ_CELL, min_size=7, max_size=7), min_size=1, max_size=12),
       zone=ZONES, order=st.sampled_from(["auto", "mdy", "dmy", "ymd"]))  # fmt: skip
def test_any_rows_normalise_into_sane_tickets_and_named_problems(rows, zone, order):
    frame = pl.DataFrame(
        {
            name: pl.Series([row[i] or None for row in rows], dtype=pl.String)
            for i, name in enumerate(GENERIC_HEADER)
        }
    ).with_columns(pl.int_range(2, len(rows) + 2, dtype=pl.Int64).alias(ROW))
    mapping = mapping_for_preset(PRESETS["generic"], GENERIC_HEADER, timezone=zone)
    mapping.date_order = order
    try:
        result = tickets_normalise(frame, mapping)
    except AmbiguousDates:
        return
    tickets, problems = result.tickets, result.problems
    assert set(problems["row"].drop_nulls()) <= set(frame[ROW])
    assert set(problems["column"]) <= set(GENERIC_HEADER)
    assert tickets["external_id"].null_count() == 0 and tickets["created_at"].null_count() == 0
    assert tickets["external_id"].is_unique().all()
    assert (tickets["external_id"].str.len_chars() <= 100).all()
    for name in ("created_at", "resolved_at"):
        years = tickets[name].drop_nulls().dt.year()
        assert years.is_between(FIRST_YEAR, LAST_YEAR).all()
    assert (tickets["resolved_at"].fill_null(tickets["created_at"]) >= tickets["created_at"]).all()
    assert tickets["reopen_count"].drop_nulls().is_between(0, 2**31 - 1).all()
    errors = problems.filter(pl.col("severity") == "error")["row"]
    assert not set(errors) & set(tickets[ROW])  # a row with an error is never imported
    assert set(tickets["priority"].drop_nulls()) <= set(NORMALISED_VALUES["priority"])


@budget(200)
@given(values=st.lists(FUZZ_CELL | st.text(" \t\ufeff\u200b-?", max_size=4), max_size=10))
def test_cleaning_trims_and_reads_markers_as_null(values):
    cleaned = cells_clean(pl.Series("c", values, dtype=pl.String))
    for value in cleaned.drop_nulls():
        assert value.lower() not in ("", "n/a", "-", "null", "?")
        for end in (value[0], value[-1]):
            assert end not in " \t\r\n\ufeff\u200b"


# The SLA clock over random calendars -----------------------------------------------------------

CLOCK_ZONES = st.sampled_from(["UTC", "America/Chicago", "Europe/London", "Australia/Lord_Howe",
                               "Asia/Kathmandu", "America/Havana", "Pacific/Apia"])  # fmt: skip
HHMM = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 59])
)
WINDOWS = st.lists(st.tuples(HHMM, HHMM | st.just("24:00")), max_size=3)
SPAN_FIRST, SPAN_LAST = date(2024, 1, 1), date(2026, 12, 31)
SPAN_START = int(datetime(2024, 1, 2, tzinfo=UTC).timestamp())
SPAN_END = int(datetime(2026, 12, 30, tzinfo=UTC).timestamp())
INSTANT = st.integers(SPAN_START, SPAN_END)


@st.composite
def calendars(draw) -> CalendarSpec:
    if draw(st.booleans()) and draw(st.booleans()):
        return CalendarSpec(always=True)
    days = draw(st.lists(st.sampled_from(WEEKDAYS), unique=True, max_size=7))
    spec = {day: [f"{a}-{b}" for a, b in draw(WINDOWS) if a != b and a != "24:00"] for day in days}
    try:
        weekly = parse_weekly_hours({d: w for d, w in spec.items() if w})
    except ValueError:  # the documented refusal of a window it cannot read
        weekly = {}
    holidays = draw(st.frozensets(st.dates(SPAN_FIRST, SPAN_LAST), max_size=20))
    return CalendarSpec(zone=draw(CLOCK_ZONES), weekly_hours=weekly, holidays=holidays)


@budget(80)
@given(spec=calendars(), pairs=st.lists(st.tuples(INSTANT, INSTANT), min_size=1, max_size=20))
def test_business_time_is_never_negative_nor_more_than_wall_time(spec, pairs):
    index = CalendarIndex(spec, SPAN_FIRST, SPAN_LAST)
    start = np.array([a for a, _ in pairs], dtype=np.int64)
    end = np.array([b for _, b in pairs], dtype=np.int64)
    elapsed = index.elapsed(start, end)
    assert (elapsed >= 0).all()
    assert (elapsed <= np.maximum(end - start, 0)).all()
    # Additive: [a, c) = [a, b) + [b, c) for a <= b <= c.
    low, high = np.minimum(start, end), np.maximum(start, end)
    middle = (low + high) // 2
    assert (
        index.elapsed(low, middle) + index.elapsed(middle, high) == index.elapsed(low, high)
    ).all()


@budget(80)
@given(spec=calendars(), instant=INSTANT, seconds=st.integers(0, 400 * 3600))
def test_a_due_time_is_after_its_start_or_a_documented_value_error(spec, instant, seconds):
    index = CalendarIndex(spec, SPAN_FIRST, SPAN_LAST)
    try:
        due = index.add(np.array([instant]), np.array([seconds]))[0]
    except ValueError as error:
        assert "span" in str(error)
        return
    assert due >= instant
    assert index.elapsed(np.array([instant]), np.array([due]))[0] == seconds


@st.composite
def tickets(draw):
    n = draw(st.integers(1, 8))
    created = np.array(draw(st.lists(INSTANT, min_size=n, max_size=n)), dtype=np.int64)
    after = st.integers(0, 90 * 86400) | st.just(-1)

    def later(offsets):  # -1 stays missing; anything else lands after creation
        return np.array([c + o if o >= 0 else -1 for c, o in zip(created, offsets, strict=True)])

    responded = later(draw(st.lists(after, min_size=n, max_size=n)))
    resolved = later(draw(st.lists(after, min_size=n, max_size=n)))
    k = draw(st.integers(0, 6))
    owner = np.array(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)), dtype=np.int64)
    starts = np.array([created[t] + draw(st.integers(-86400, 30 * 86400)) for t in owner],
                      dtype=np.int64)  # fmt: skip
    ends = np.array([s + draw(st.integers(-3600, 10 * 86400)) if draw(st.booleans()) else -1
                     for s in starts], dtype=np.int64)  # fmt: skip
    exported = np.array(draw(st.lists(st.integers(-100, 10**7), min_size=n, max_size=n)))
    return created, responded, resolved, Intervals(owner, starts, ends), exported


@budget(80)
@given(spec=calendars(), batch=tickets(), as_of=INSTANT)
def test_clocks_are_non_negative_and_within_wall_time(spec, batch, as_of):
    created, responded, resolved, pauses, exported = batch
    as_of = max(as_of, int(created.max()))
    index = CalendarIndex(spec, SPAN_FIRST, SPAN_LAST + timedelta(days=400))
    n = created.size
    result = ticket_clocks(
        index, created=created, first_response=responded, resolved=resolved,
        response_target=np.full(n, 3600), resolution_target=np.full(n, -1), pauses=pauses,
        reopen_gaps=Intervals.empty(), paused_seconds_exported=exported, as_of=as_of,
    )  # fmt: skip
    stop = np.where(resolved >= 0, resolved, as_of)
    assert (result.resolution_seconds >= 0).all()
    assert (result.resolution_seconds <= stop - created).all()
    answered = responded >= 0
    assert (result.response_seconds[~answered] == -1).all()
    assert (result.response_seconds[answered] >= 0).all()
    assert (result.response_seconds[answered] <= (responded - created)[answered]).all()
    assert set(result.resolution_verdict) <= {""} and set(result.response_verdict) <= {
        "met",
        "breached",
        "pending",
    }


@pytest.mark.parametrize("window", ["25:00-26:00", "08:00-08:00", "24:00-10:00", "8-17", "x"])
def test_a_window_the_calendar_cannot_read_is_a_value_error_naming_it(window):
    with pytest.raises(ValueError, match="mon"):
        parse_weekly_hours({"mon": [window]})
