"""Exports inside containers and workbooks (kpis.imports.ingest.read): .zip and .gz unpacked
within bounds, .xlsx read as strings with defusedxml; no database."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import datetime, time

import openpyxl
import polars as pl

from kpis.imports.ingest import containers
from kpis.imports.ingest.read import table_read

from .test_ingest_read import cells, row_numbers, unusable, workbook_bytes, zipped


def test_a_zip_with_one_table_is_unpacked_ignoring_folders_and_macos_files():
    data = zipped(
        {
            "export/": b"",
            "export/tickets.csv": b"a,b\n1,2\n",
            "__MACOSX/export/._tickets.csv": b"\x00\x05\x16\x07",
            "export/readme.md": b"not a table",
        }
    )
    table = table_read(data, "export.zip")
    assert cells(table) == [("1", "2")]


def test_a_zip_with_two_tables_is_refused_naming_them():
    data = zipped({"a.csv": b"a,b\n1,2\n", "b.csv": b"a,b\n1,2\n"})
    assert unusable(data, "export.zip") == "export.zip: holds 2 tables (a.csv, b.csv); upload one"


def test_a_zip_without_a_table_is_refused():
    assert "holds no .csv" in unusable(zipped({"notes.md": b"hi"}), "export.zip")


def test_problems_inside_a_zip_name_the_member_and_the_zip():
    message = unusable(zipped({"tickets.csv": b"\x00\x01\x02"}), "export.zip")
    assert message == "tickets.csv in export.zip: not a table (binary data: a NUL byte on line 1)"


def test_a_zip_holding_a_workbook_is_read_as_xlsx():
    data = zipped({"tickets.xlsx": workbook_bytes([["id", "status"], [1, "open"]])})
    table = table_read(data, "export.zip")
    assert table.source_format == "xlsx"
    assert cells(table) == [("1", "open")]


def test_a_gz_file_is_decompressed():
    table = table_read(gzip.compress(b"id;status\n1;open\n"), "tickets.csv.gz")
    assert (table.delimiter, cells(table)) == (";", [("1", "open")])


def test_the_content_not_the_extension_decides_the_format():
    data = gzip.compress(workbook_bytes([["id", "status"], [1, "open"]]))
    assert table_read(data, "upload.bin").source_format == "xlsx"
    assert table_read(b"a,b\n1,2\n", "tickets.xlsx").source_format == "csv"


def test_a_damaged_gz_file_is_refused():
    message = unusable(gzip.compress(b"a,b\n1,2\n" * 100)[:30], "tickets.csv.gz")
    assert message == "tickets.csv.gz: is a damaged or incomplete .gz file"


def test_a_zip_bomb_is_refused_as_too_large_when_unpacked(monkeypatch):
    monkeypatch.setattr(containers, "BOMB_SIZE", 10_000)  # the real threshold is 100 MB
    data = zipped({"tickets.csv": b"a,b\n" + b"1,2\n" * 50_000})
    assert unusable(data, "export.zip") == "export.zip: is too large when unpacked"


def test_a_gzip_bomb_is_stopped_while_unpacking(monkeypatch):
    monkeypatch.setattr(containers, "BOMB_SIZE", 10_000)
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 1_000_000)
    assert unusable(data, "tickets.csv.gz") == "tickets.csv.gz: is too large when unpacked"


def test_anything_over_the_unpacked_limit_is_refused(monkeypatch):
    monkeypatch.setattr(containers, "MAX_UNPACKED", 1_000)
    data = gzip.compress(bytes(range(32, 127)) * 20)  # barely compressible, 1,900 bytes
    assert "too large when unpacked" in unusable(data, "tickets.csv.gz")


def test_the_ratio_rule_needs_a_large_file_so_ordinary_zips_pass():
    data = zipped({"tickets.csv": b"a,b\n" + b"1,2\n" * 50_000})  # ratio >200, but small
    assert table_read(data, "export.zip").frame.height == 50_000


def test_openpyxl_parses_workbooks_with_defusedxml():
    assert openpyxl.xml.DEFUSEDXML is True
    from openpyxl.xml import functions

    assert functions.iterparse.__module__.startswith("defusedxml")


def test_an_xlsx_is_read_as_strings_and_formulas_stay_unevaluated_text():
    rows = [
        ["Ticket", "Opened", "Hours", "Count", "Done", "At", "Total"],
        [48101, datetime(2025, 7, 8, 16, 5), 1.5, 3.0, True, time(9, 30), "=SUM(1,2)"],
        [48102, datetime(2025, 7, 9, 8, 0, 0, 250000), 2, None, False, None, "plain"],
    ]
    table = table_read(workbook_bytes(rows), "generic.xlsx")
    assert table.source_format == "xlsx"
    assert (table.encoding, table.delimiter) == (None, None)
    assert table.columns == rows[0]
    assert cells(table) == [
        ("48101", "2025-07-08T16:05:00", "1.5", "3", "true", "09:30:00", "=SUM(1,2)"),
        ("48102", "2025-07-09T08:00:00.250000", "2", None, "false", None, "plain"),
    ]
    assert row_numbers(table) == [2, 3]
    assert set(table.frame.schema.values()) == {pl.String, pl.Int64}


def test_xlsx_row_numbers_match_the_sheet_and_blank_rows_inside_are_counted():
    rows = [
        ["Acme ticket report"],  # a title above the header
        [],
        ["id", "status"],
        [1, "open"],
        [None, None],
        [2, "closed"],
        [],
        [],
    ]
    table = table_read(workbook_bytes(rows, sheets_before=1), "report.xlsx")
    assert table.columns == ["id", "status"]
    assert cells(table) == [("1", "open"), ("2", "closed")]
    assert row_numbers(table) == [4, 6]
    assert table.warnings == ["1 blank row skipped"]


def test_xlsx_max_rows_limits_the_rows_read():
    rows = [["id", "status"], *([n, "open"] for n in range(50))]
    assert table_read(workbook_bytes(rows), "t.xlsx", max_rows=3).frame.height == 3


def test_an_xlsx_with_only_a_header_has_no_table():
    assert "has no table" in unusable(workbook_bytes([["id", "status"]]), "t.xlsx")


def test_an_xlsx_with_more_than_2000_columns_is_refused():
    message = unusable(workbook_bytes([[f"c{n}" for n in range(2001)], [1]]), "wide.xlsx")
    assert message == "wide.xlsx: has 2001 columns; at most 2000 are supported"


def test_a_damaged_xlsx_is_refused():
    data = workbook_bytes([["id", "status"], [1, "open"]])
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/workbook.xml"] = b"<not xml"
    message = unusable(zipped(parts), "t.xlsx")
    assert message == "t.xlsx: cannot be opened as an Excel workbook"


def test_an_xlsx_with_xml_entities_is_refused_not_expanded():
    data = workbook_bytes([["id", "status"], [1, "open"]])
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    assert sheet.startswith(b"<worksheet")  # openpyxl writes no XML declaration
    entities = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    parts["xl/worksheets/sheet1.xml"] = entities + sheet
    assert "its XML declares entities" in unusable(zipped(parts), "t.xlsx")
