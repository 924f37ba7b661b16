"""The hostile-input corpus: what each file is, how to make it, and the big ones made on demand.

The small files are committed under tests/data/hostile/ (written by `python -m
tests.hostile_corpus`); the big ones (a 10,000-column header, a 50 MB cell, an XLSX zip bomb) are
made into a temporary folder at test time so the repository stays small.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

HOSTILE = Path(__file__).parent / "data" / "hostile"
HEADER = "Ticket,Title,Type,Status,Priority,Channel,Category,Device,User,Opened,Resolved,Reopens"


def row(tid, title="Printer jam", opened="2025-07-01 10:00", resolved="2025-07-01 12:00", **kw):
    cells = [tid, title, kw.get("kind", "Incident"), kw.get("status", "Closed"),
             kw.get("priority", "P3"), kw.get("channel", "Phone"), kw.get("category", "Printing"),
             kw.get("device", "WS-1"), kw.get("user", "ann"), opened, resolved,
             kw.get("reopens", "0")]  # fmt: skip
    return ",".join(cells)


def table(*rows: str, header: str = HEADER, end: str = "\n") -> bytes:
    return (end.join([header, *rows]) + end).encode()


GOOD = table(row("H-1"), row("H-2", opened="2025-07-02 09:00", resolved="2025-07-02 10:30"))


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def workbook(rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for values in rows:
        book.active.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_sheet_xml(data: bytes, change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/worksheets/sheet1.xml"] = change(parts["xl/worksheets/sheet1.xml"])
    return zipped(parts)


def billion_laughs(sheet: bytes) -> bytes:
    entities = [b'<!ENTITY lol0 "lol">'] + [
        b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) for _ in range(10)))
        for i in range(1, 10)
    ]
    doctype = b"<!DOCTYPE worksheet [" + b"".join(entities) + b"]>"
    return doctype + sheet.replace(b"<v>", b"<v>&lol9;", 1)


HTML = '<script>alert("x")</script><img src=x onerror=alert(1)>'
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + bytes(40)


def small_files() -> dict[str, bytes]:
    """Every committed hostile file by name."""
    html_row = ",".join(
        ['"<b>H-1</b>"', f'"{HTML.replace(chr(34), chr(34) * 2)}"'] + [f'"<i>{n}</i>"' for n in
         ("kind", "status", "prio", "chan", "cat", "dev", "user")]
        + ["2025-07-01 10:00", "2025-07-01 12:00", "0"]
    )  # fmt: skip
    formulas = [
        row("=1+1", title="=cmd|' /C calc'!A0", priority="=cmd|' /C calc'!A0", status="+1"),
        row("+H-2", title="+SUM(1;2)", category="-2+3", user="@SUM(A1)", opened="2025-07-01 11:00"),
        row("@H-3", title="-1+1", device='=HYPERLINK(""x"")', opened="2025-07-01 12:00"),
    ]
    files = {
        "empty.csv": b"",
        "whitespace_only.csv": b"  \n\t\n\n",
        "header_only.csv": table(),
        "one_column.csv": b"Ticket\nH-1\nH-2\n",
        "delimiters_only.csv": b",,,,\n;;;;\n",
        "png_named.csv": PNG,
        "pdf_named.csv": PDF,
        "elf_named.csv": ELF,
        "old_xls_named.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
        "cp1252.csv": table(row("H-1", title="Caf\xe9 printer").replace("", ""))
        .decode()
        .encode("cp1252"),
        "mixed_encodings.csv": table(row("H-1", title="Café"))
        + row(
            "H-2", title="Caf\xe9", opened="2025-07-02 09:00", resolved="2025-07-02 10:00"
        ).encode("cp1252")
        + b"\n",
        "undefined_cp1252_bytes.csv": table(
            row("H-1", title="bad \x81 byte").replace("\x81", "?")
        ).replace(b"?", b"\x81"),
        "utf8_bom_not_utf8.csv": b"\xef\xbb\xbf"
        + table(row("H-1", title="Caf\xe9")).decode().encode("cp1252"),
        "utf16_no_bom.csv": GOOD.decode().encode("utf-16-le"),
        "utf16_odd_length.csv": b"\xff\xfe" + GOOD.decode().encode("utf-16-le") + b"\x41",
        "bom_in_middle.csv": table(row("H-1"), "\ufeff" + row("H-2", opened="2025-07-01 09:00")),
        "nul_in_cell.csv": table(row("H-1", title="nul\x00here")),
        "crlf_in_quoted.csv": table(row("H-1", title='"line one\r\nline two"'), end="\r\n"),
        "bare_cr.csv": table(row("H-1"), row("H-2", opened="2025-07-01 09:00"), end="\r"),
        "long_line.csv": table(row("H-1", title="x" * 300_000)),
        "ragged_rows.csv": table(row("H-1") + ",extra,cells", "H-2,Short row", row("H-3")),
        "unclosed_quote.csv": table(row("H-1"), row("H-2", title='"never closed')),
        "duplicate_ids.csv": table(row("H-1"), row("H-1", title="later wins")),
        "empty_ids.csv": table(row(""), row("H-2")),
        "year_1.csv": table(row("H-1", opened="0001-01-01 00:00", resolved="0001-01-02 00:00")),
        "year_9999.csv": table(row("H-1", opened="9999-12-31 10:00", resolved="9999-12-31 12:00")),
        "resolved_before_created.csv": table(
            row("H-1", opened="2025-07-02 10:00", resolved="2025-07-01 10:00")
        ),
        "negative_durations.csv": table(row("H-1", reopens="-3"), row("H-2", reopens="-0.5")),
        "absurd_numbers.csv": table(
            row("H-1", reopens="NaN"),
            row("H-2", reopens="inf"),
            row("H-3", reopens="1e308"),
            row("H-4", reopens="99999999999999999999"),
        ),
        "impossible_dates.csv": table(row("H-1", opened="2025-02-30 10:00"), row("H-2")),
        "dst_gap.csv": table(row("H-1", opened="2025-03-09 02:30", resolved="2025-03-09 05:00")),
        # HaloPSA's layout: its preset has no usual day/month order, so the import must ask.
        "ambiguous_dates.csv": b"id,summary,status_name,priority_id,dateoccurred,datecleared\n"
        b"H-1,Printer,Closed,3,03/04/2025 10:00,03/05/2025 10:00\n",
        "missing_required_column.csv": b"Title,Status\nPrinter,Open\n",
        "html_everywhere.csv": table(html_row),
        "formula_cells.csv": table(*formulas),
        "long_ids.csv": table(row("A" * 100 + "1"), row("A" * 100 + "2")),
        "control_characters.csv": table(row("H-1", title="bell\x07 esc\x1b[31m red \x7f")),
        "reserved_header.csv": table(row("H-1"), header=HEADER.replace("Device", "__row")),
        "many_members.zip": zipped({f"part{i}.csv": GOOD for i in range(60)}),
        "nested.zip": zipped({"inner.zip": zipped({"t.csv": GOOD})}),
        "nested_named_csv.zip": zipped({"t.csv": zipped({"t.csv": GOOD})}),
        "traversal_member.zip": zipped({"../../../etc/evil.csv": GOOD}),
        "no_table.zip": zipped({"readme.md": b"hello"}),
        "damaged.zip": zipped({"t.csv": GOOD})[:-30],
        "not_gzip.csv.gz": GOOD,
        "fake_gzip.csv": b"\x1f\x8b" + b"this is not deflate data" * 4,
        "truncated.csv.gz": gzip.compress(GOOD * 50)[:-40],
        "damaged.xlsx": zipped({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<not xml"}),
        "billion_laughs.xlsx": with_sheet_xml(
            workbook([["Ticket", "Opened"], ["H-1", "2025-07-01 10:00"]]), billion_laughs
        ),
        "external_entity.xlsx": with_sheet_xml(
            workbook([["Ticket", "Opened"], ["H-1", "2025-07-01 10:00"]]),
            lambda sheet: (
                b'<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                + sheet.replace(b"<v>", b"<v>&x;", 1)
            ),
        ),
        "formula_cells.xlsx": workbook(
            [
                ["Ticket", "Title", "Priority", "Opened", "Resolved"],
                ["X-1", "=1+1", '=IF(1,"P1","P2")', "2025-07-01 10:00", "2025-07-01 12:00"],
                ["X-2", '=HYPERLINK("http://evil.invalid","x")', "P2", "2025-07-01 11:00", None],
                ["X-3", '=WEBSERVICE("http://evil.invalid")', "P3", "=NOW()", None],
            ]
        ),
    }
    return files


# The big ones, made at test time ----------------------------------------------------------------


def wide_header(folder: Path) -> Path:
    path = folder / "ten_thousand_columns.csv"
    names = ["Ticket", "Opened", *(f"c{i}" for i in range(9998))]
    path.write_text(",".join(names) + "\n" + ",".join(["H-1", "2025-07-01 10:00"] + [""] * 9998))
    return path


def huge_cell(folder: Path) -> Path:
    path = folder / "fifty_mb_cell.csv"
    with path.open("wb") as out:
        out.write(HEADER.encode() + b"\n")
        cell = b"y" * 50 * 1024**2
        out.write(row("H-1", title="").encode().replace(b",,", b"," + cell + b",", 1))
        out.write(b"\n")
    return path


def xlsx_bomb(folder: Path) -> Path:
    """A real workbook whose sheet inflates to 150 MB from well under a megabyte."""
    base = workbook([["Ticket", "Opened"], ["H-1", "2025-07-01 10:00"]])
    filler = b'<row r="3"><c r="A3" t="inlineStr"><is><t>bomb</t></is></c></row>' * 2_400_000

    def inflate(sheet: bytes) -> bytes:
        return sheet.replace(b"</sheetData>", filler + b"</sheetData>")

    path = folder / "zip_bomb.xlsx"
    path.write_bytes(with_sheet_xml(base, inflate))
    return path


if __name__ == "__main__":
    HOSTILE.mkdir(parents=True, exist_ok=True)
    for name, data in small_files().items():
        (HOSTILE / name).write_bytes(data)
    print(len(small_files()), "files in", HOSTILE)
