"""Reading uploaded ticket exports into tables of strings (kpis.imports.ingest.read); no
database."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.imports.ingest.read import Table, UnusableFile, table_read

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def cells(table: Table) -> list[tuple]:
    """The data cells, without the row numbers."""
    return table.frame.drop("__row").rows()


def row_numbers(table: Table) -> list[int]:
    return table.frame["__row"].to_list()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def workbook_bytes(rows: list[list], *, sheets_before: int = 0) -> bytes:
    book = openpyxl.Workbook()
    for _ in range(sheets_before):  # empty sheets ahead of the data
        book.create_sheet("Empty", 0)
    sheet = book.worksheets[sheets_before]
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def unusable(data: bytes, filename: str, **kwargs) -> str:
    with pytest.raises(UnusableFile) as caught:
        table_read(data, filename, **kwargs)
    return str(caught.value)


# CSV: encodings -------------------------------------------------------------------------------


def test_a_plain_utf8_csv_is_read_as_strings_with_row_numbers():
    table = table_read(b"id,opened\n1,2025-07-08\n2,2025-07-09\n", "tickets.csv")
    assert table.columns == ["id", "opened"]
    assert table.frame.columns == ["id", "opened", "__row"]
    assert table.frame.schema == {"id": pl.String, "opened": pl.String, "__row": pl.Int64}
    assert cells(table) == [("1", "2025-07-08"), ("2", "2025-07-09")]
    assert row_numbers(table) == [2, 3]
    assert (table.source_format, table.encoding, table.delimiter) == ("csv", "utf-8", ",")
    assert table.warnings == []


def test_a_utf8_bom_is_noted_and_kept_out_of_the_first_header_name():
    table = table_read(b"\xef\xbb\xbfTicket #,Caf\xc3\xa9\r\n1,cr\xc3\xa8me\r\n", "cw.csv")
    assert table.encoding == "utf-8-sig"
    assert table.columns == ["Ticket #", "Café"]
    assert cells(table) == [("1", "crème")]


def test_a_utf16_file_with_bom_is_read():
    data = "id\tnote\r\n1\tcafé\r\n".encode("utf-16")  # little-endian with BOM here
    assert data[:2] == b"\xff\xfe"
    table = table_read(data, "export.txt")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert cells(table) == [("1", "café")]


def test_a_big_endian_utf16_file_with_bom_is_read():
    data = "\ufeffid,note\n1,Zoë\n".encode("utf-16-be")
    table = table_read(data, "export.csv")
    assert table.encoding == "utf-16"
    assert table.columns == ["id", "note"]
    assert cells(table) == [("1", "Zoë")]


def test_a_windows_1252_file_falls_back_to_cp1252():
    table = table_read(b"name,place\nJos\xe9,caf\xe9 \x80 5\n", "tickets.csv")
    assert table.encoding == "cp1252"
    assert cells(table) == [("José", "café € 5")]


def test_bytes_undefined_in_cp1252_make_the_file_undecodable():
    message = unusable(b"a,b\n\x81,\xe9\n", "tickets.csv")
    assert message == "tickets.csv: cannot be decoded as UTF-8, UTF-16 or Windows-1252"


def test_a_utf8_bom_on_data_that_is_not_utf8_is_undecodable():
    message = unusable(b"\xef\xbb\xbfa,b\n\xe9,x\n", "tickets.csv")
    assert "cannot be decoded" in message


def test_binary_garbage_is_not_a_table():
    assert unusable(bytes(range(256)) * 4, "tickets.csv") == (
        "tickets.csv: not a table (binary data: a NUL byte on line 1)"
    )


def test_an_old_xls_workbook_is_refused_with_advice():
    message = unusable(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "tickets.xls")
    assert message.startswith("tickets.xls: is an old-style .xls")


# CSV: delimiters, line ends, quoting -----------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_supported_delimiter_is_sniffed(delimiter):
    text = delimiter.join(["Id", "Subject", "Status"]) + "\n"
    text += delimiter.join(["1", "Printer, jammed; again", "open"]) + "\n"
    text += delimiter.join(["2", "VPN", "closed"]) + "\n"
    if delimiter != ",":
        text = text.replace("Printer, jammed; again", "Printer jammed")
    table = table_read(text.encode(), "tickets.csv")
    assert table.delimiter == delimiter
    assert table.columns == ["Id", "Subject", "Status"]
    assert len(cells(table)) == 2


def test_commas_inside_quoted_cells_do_not_beat_the_semicolon():
    data = b'Id;Subject\n1;"a, b, c"\n2;"d, e"\n'
    table = table_read(data, "zendesk.csv")
    assert table.delimiter == ";"
    assert cells(table) == [("1", "a, b, c"), ("2", "d, e")]


def test_a_tie_between_delimiters_goes_to_the_comma():
    table = table_read(b"a,b;c\n1,2;3\n", "tickets.csv")
    assert table.delimiter == ","
    assert table.columns == ["a", "b;c"]


def test_crlf_and_bare_cr_line_ends_are_normalised():
    crlf = table_read(b"a,b\r\n1,2\r\n3,4\r\n", "x.csv")
    cr = table_read(b"a,b\r1,2\r3,4\r", "x.csv")
    assert cells(crlf) == cells(cr) == [("1", "2"), ("3", "4")]
    assert row_numbers(cr) == [2, 3]


def test_quoted_multi_line_cells_keep_their_lines_and_rows_count_records():
    data = b'id,note\r\n1,"line one\r\nline two"\r\n2,"a ""quoted"" word"\r\n3,plain\r\n'
    table = table_read(data, "tickets.csv")
    assert cells(table) == [
        ("1", "line one\nline two"),
        ("2", 'a "quoted" word'),
        ("3", "plain"),
    ]
    assert row_numbers(table) == [2, 3, 4]


def test_empty_cells_are_null_whether_quoted_or_not():
    table = table_read(b'a,b,c\n1,,""\n', "x.csv")
    assert cells(table) == [("1", None, None)]


def test_blank_lines_are_skipped_with_a_warning_and_later_rows_keep_their_numbers():
    table = table_read(b"a,b\n1,2\n\n,\n3,4\n", "tickets.csv")
    assert cells(table) == [("1", "2"), ("3", "4")]
    assert row_numbers(table) == [2, 5]
    assert table.warnings == ["2 blank rows skipped"]


def test_blank_lines_above_the_header_are_passed_over_and_counted_in_row_numbers():
    table = table_read(b"\n,,\nid,status\n7,open\n", "tickets.csv")
    assert table.columns == ["id", "status"]
    assert cells(table) == [("7", "open")]
    assert row_numbers(table) == [4]


def test_ragged_rows_do_not_crash_the_reader():
    table = table_read(b"a,b\n1,2,3\n4\n5,6\n", "tickets.csv")
    assert cells(table) == [("1", "2"), ("4", None), ("5", "6")]


def test_an_unclosed_quote_is_reported_not_crashed_on():
    message = unusable(b'a,b\n1,"x" y\n', "tickets.csv")
    assert message.startswith("tickets.csv: cannot be read as a table")


def test_max_rows_limits_the_data_rows_read():
    data = b"a,b\n" + b"".join(b"%d,x\n" % n for n in range(100))
    table = table_read(data, "tickets.csv", max_rows=5)
    assert table.frame.height == 5
    assert row_numbers(table) == [2, 3, 4, 5, 6]
    assert table_read(data, "tickets.csv").frame.height == 100


# CSV: files that hold no usable table ---------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"\n\n", b"id,status\n", b"id,status\r\n\r\n,\r\n", b"only one column\n1\n2\n"],
    ids=["empty", "blank lines", "header only", "header and blank rows", "one column"],
)
def test_a_file_without_header_and_data_rows_has_no_table(data):
    message = unusable(data, "tickets.csv")
    assert message.startswith("tickets.csv: has no table: expected a header row")


def test_more_than_2000_columns_are_refused():
    header = ",".join(f"c{n}" for n in range(2001)).encode()
    message = unusable(header + b"\n" + b"1," * 2000 + b"1\n", "wide.csv")
    assert message == "wide.csv: has 2001 columns; at most 2000 are supported"


def test_2000_columns_are_fine():
    header = ",".join(f"c{n}" for n in range(2000)).encode()
    assert len(table_read(header + b"\n" + b"1," * 1999 + b"1\n", "wide.csv").columns) == 2000


def test_blank_and_repeated_header_names_are_made_unique_and_trimmed():
    data = b" id ,,id,Name,Name (2),__row,Name\n1,2,3,4,5,6,7\n"
    table = table_read(data, "tickets.csv")
    assert table.columns == [
        "id",
        "Column 2",
        "id (2)",
        "Name",
        "Name (2)",
        "__row (2)",
        "Name (3)",
    ]
    assert table.frame.columns == [*table.columns, "__row"]
    assert row_numbers(table) == [2]


# Containers ------------------------------------------------------------------------------------


# XLSX ------------------------------------------------------------------------------------------


# The sample exports ----------------------------------------------------------------------------


SAMPLE_SHAPES = {
    # file: (columns, data rows, delimiter, encoding, warnings)
    "autotask_tickets.csv": (22, 2078, ",", "utf-8", []),
    "connectwise_service_tickets.csv": (22, 2079, ",", "utf-8-sig", ["1 blank row skipped"]),
    "halopsa_tickets.csv": (21, 2078, ",", "utf-8", []),
    "jira_sm_issues.csv": (18, 2078, ",", "utf-8", []),
    "servicenow_incident_audit.csv": (24, 4316, ",", "utf-8", []),
    "zendesk_tickets.csv": (19, 2078, ";", "utf-8", []),
    "generic_tickets.xlsx": (10, 401, None, None, []),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_SHAPES))
def test_each_sample_export_is_read_with_its_shape(name):
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} not present")
    columns, rows, delimiter, encoding, warnings = SAMPLE_SHAPES[name]
    table = table_read(path.read_bytes(), name)
    assert (len(table.columns), table.frame.height) == (columns, rows)
    assert (table.delimiter, table.encoding, table.warnings) == (delimiter, encoding, warnings)
    assert table.frame["__row"].min() == 2
    assert table.frame[table.columns[0]].null_count() == 0  # every row has its ticket id


def test_the_sample_workbook_keeps_its_formula_as_text():
    path = SAMPLES / "generic_tickets.xlsx"
    if not path.exists():
        pytest.skip("sample workbook not present")
    table = table_read(path.read_bytes(), path.name)
    last = table.frame.row(-1, named=True)
    assert last["Ticket"].startswith("=")
    assert last["__row"] == 402
    assert table.frame.row(0, named=True)["Opened"] == "2025-07-08T16:05:00"


def test_the_connectwise_sample_has_a_bom_crlf_and_a_blank_last_line():
    path = SAMPLES / "connectwise_service_tickets.csv"
    if not path.exists():
        pytest.skip("sample not present")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n\r\n")
    table = table_read(data, path.name)
    assert table.columns[0] == "Ticket #"
    assert table.frame["__row"].max() == 2080


# Property: what Python's csv module writes, table_read reads back -----------------------------

header_name = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=8)
cell_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12
)


@st.composite
def small_tables(draw):
    names = draw(st.lists(header_name, min_size=2, max_size=5, unique=True))
    width = len(names)
    rows = draw(st.lists(st.lists(cell_text, min_size=width, max_size=width), max_size=8))
    return names, rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=small_tables(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_tables_written_by_the_csv_module_read_back_cell_for_cell(table, delimiter, encoding):
    names, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)  # "\r\n" line ends, minimal quoting
    writer.writerow(names)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)

    def expected(cell: str) -> str | None:
        # Empty cells are null; line ends inside cells are normalised like the file's.
        return cell.replace("\r\n", "\n").replace("\r", "\n") or None

    wanted = [(tuple(expected(c) for c in row), n) for n, row in enumerate(rows, start=2)]
    wanted = [(row, n) for row, n in wanted if any(cell is not None for cell in row)]
    if not wanted:
        assert "has no table" in unusable(data, "prop.csv")
        return
    result = table_read(data, "prop.csv")
    assert result.columns == names
    assert result.delimiter == delimiter
    assert cells(result) == [row for row, _ in wanted]
    assert row_numbers(result) == [n for _, n in wanted]
