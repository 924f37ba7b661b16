"""Read an uploaded ticket export into a table of strings, or reject the file with one message.

Every cell comes back as text (or null) exactly as exported: types and meaning are decided later
by the mapping. `__row` is the row number the user sees in a spreadsheet, so later problems can
point at it. Pure module: no Django, nothing stored.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
import zlib
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import PurePosixPath
from typing import BinaryIO

import openpyxl  # parses with defusedxml when it is installed (tests assert it)
import polars as pl
from defusedxml.common import DefusedXmlException

from kpis.imports.ingest.containers import (
    EMPTY_ZIP_MAGIC,
    GZIP_MAGIC,
    ZIP_MAGIC,
    check_size,
    is_workbook,
    member_errors,
    unpack,
    workbook_check,
    zip_member,
    zip_open,
)
from kpis.imports.ingest.encoding import as_utf8, mixed_lines, utf16_without_bom
from kpis.imports.ingest.errors import UTF16_BOMS, UnusableFile
from kpis.imports.ingest.signatures import document_kind

ROW = "__row"
MAX_COLUMNS = 2000
DELIMITERS = (",", ";", "\t", "|")  # in order of preference when the sniff is a tie
SNIFF_LINES, SNIFF_BYTES = 50, 1024**2
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and password-protected .xlsx
NO_TABLE = "{}: has no table: expected a header row of two or more columns and a data row"


@dataclass(frozen=True)
class Table:
    """A file's rows as strings; `frame` has one String column per header name, then `__row`."""

    columns: list[str]
    frame: pl.DataFrame
    source_format: str  # "csv" | "xlsx"
    encoding: str | None = None  # csv only: utf-8, utf-8-sig, utf-16, cp1252, mixed
    delimiter: str | None = None  # csv only
    warnings: list[str] = field(default_factory=list)


def table_read(
    data: bytes,
    filename: str,
    *,
    max_rows: int | None = None,
    keep: list[str] | None = None,
    as_categories: list[str] | None = None,
) -> Table:
    """Read a CSV/TSV/TXT or XLSX export, possibly inside a .zip or .gz; `max_rows` data rows.

    `keep`: the columns (by header name) the import reads; a CSV then reads only those, and
    `as_categories` of them as categories, a fraction of the memory of text for columns of few
    distinct values (status, priority, company). The import of a five-million-row event log
    needs both to stay under its memory bound; `Table.columns` is still the whole header."""
    label = PurePosixPath(filename.replace("\\", "/")).name or "the file"
    data, label = unpack(data, label)
    if data[:8] == OLE_MAGIC:
        msg = "is an old-style .xls or a password-protected workbook; save it as .xlsx or CSV"
        raise UnusableFile(f"{label}: {msg}")
    if kind := document_kind(data):
        raise UnusableFile(f"{label}: is {kind}, not a table: export the tickets as CSV or XLSX")
    if data[:4] == ZIP_MAGIC:  # _unpack has unpacked plain zips, so this is a workbook
        return _xlsx_read(data, label, max_rows)
    return _csv_read(data, label, max_rows, keep, as_categories)


# Containers -------------------------------------------------------------------------------------


# CSV --------------------------------------------------------------------------------------------


def _csv_read(
    data: bytes,
    label: str,
    max_rows: int | None,
    keep: list[str] | None = None,
    as_categories: list[str] | None = None,
) -> Table:
    raw, encoding = as_utf8(data, label)
    notes = []
    if encoding == "cp1252" and (mixed := mixed_lines(data, label)):
        raw, note = mixed
        encoding = "mixed"
        notes.append(note)
    if b"\r" in raw:  # CRLF and old Mac CR, inside quoted cells too; cheap next to parsing
        raw = raw.replace(b"\r\n", b"\n")
        raw = raw.replace(b"\r", b"\n") if b"\r" in raw else raw
    raw, skipped_lines = _skip_leading_blank_lines(raw)
    delimiter, width = _sniff(raw, label)
    _check_width(width, label)
    del data  # `raw` is the text from here on (the same bytes when they were UTF-8 already)
    picked = None
    if keep is not None:
        header = _header_names(list(_polars_csv(raw, delimiter, 0, ragged=True).row(0)))
        picked = _picked(header, keep, as_categories or [])
    try:
        try:
            frame = _polars_csv(raw, delimiter, max_rows, ragged=False, picked=picked)
        except pl.exceptions.ComputeError as error:
            if "more fields than defined" not in str(error):
                raise
            # Rare, so only then: read again keeping the header's width, and say which rows
            # had cells past it (they are not imported; a person may have shifted a column).
            frame = _polars_csv(raw, delimiter, max_rows, ragged=True, picked=picked)
            notes.append(_long_rows_note(raw, delimiter, width, skipped_lines))
    except pl.exceptions.PolarsError as error:  # keep the part of polars' error that finds the spot
        near = re.search(r"Field `([^\n`]{0,60})", str(error))
        problem = (
            f"a quoted value is not closed properly near: {near[1]}" if near else "bad quoting"
        )
        raise UnusableFile(f"{label}: cannot be read as a table: {problem}") from error
    if frame.height == 0:
        raise UnusableFile(NO_TABLE.format(label))
    first = skipped_lines + 2
    rows = pl.int_range(first, first + frame.height - 1, dtype=pl.Int64, eager=True)
    if picked is not None:
        frame.columns = list(picked.names)
        return _picked_table(frame, rows, header, label, encoding, delimiter, notes)
    table = _table(
        frame.row(0), frame.slice(1), rows, label, "csv", encoding=encoding, delimiter=delimiter
    )
    table.warnings[:0] = notes
    return table


@dataclass(frozen=True)
class _Picked:
    """The columns a lean read keeps: their positions, names and which are read as categories."""

    positions: list[int]
    names: list[str]
    categories: set[str]


def _picked(header: list[str], keep: list[str], as_categories: list[str]) -> _Picked:
    positions = [i for i, name in enumerate(header) if name in set(keep)]
    names = [header[i] for i in positions]
    return _Picked(positions, names, set(as_categories) & set(names))


def _polars_csv(
    raw: bytes, delimiter: str, max_rows: int | None, *, ragged: bool, picked=None
) -> pl.DataFrame:
    overrides = None
    if picked is not None and picked.categories:
        # The names polars gives the kept columns, read off a one-row read rather than assumed.
        names = _polars_csv(
            raw, delimiter, 0, ragged=True, picked=_Picked(picked.positions, picked.names, set())
        ).columns
        overrides = {
            name: pl.Categorical
            for name, kept in zip(names, picked.names, strict=True)
            if kept in picked.categories
        }
    return pl.read_csv(
        raw,
        has_header=False,  # the header is read as row 0 so its names stay exactly as written
        separator=delimiter,
        quote_char='"',
        infer_schema=False,
        null_values=[""],  # "" and an empty quoted "" both become null
        truncate_ragged_lines=ragged,
        n_rows=None if max_rows is None else max_rows + 1,
        raise_if_empty=False,
        columns=None if picked is None else picked.positions,
        schema_overrides=overrides,
    )


def _picked_table(frame, rows, header, label, encoding, delimiter, notes) -> Table:
    """A lean read's table: the kept columns, numbered as in the file, blank rows dropped."""
    body = frame.slice(1)
    if len(header) < 2 or body.height == 0:
        raise UnusableFile(NO_TABLE.format(label))
    blank = body.select(pl.all_horizontal(pl.all().is_null())).to_series()
    body = body.with_columns(rows.alias(ROW))
    if blank.any():
        body = body.filter(~blank)
        count = blank.sum()
        notes.append(f"{count} row{'' if count == 1 else 's'} with no mapped column filled skipped")
    return Table(header, body, "csv", encoding=encoding, delimiter=delimiter, warnings=notes)


def _long_rows_note(raw: bytes, delimiter: str, width: int, skipped_lines: int) -> str:
    """Which rows have more cells than the header (the first few), for the import's message."""
    text = io.StringIO(raw.decode("utf-8", errors="replace"))
    records, long_rows = csv.reader(text, delimiter=delimiter), []
    try:
        for record in records:
            if len(record) > width:
                long_rows.append(skipped_lines + records.line_num)
    except csv.Error:  # a cell over the csv module's limit: name the rows found before it
        pass
    shown = ", ".join(map(str, long_rows[:10])) + (" …" if len(long_rows) > 10 else "")
    return (
        f"row{'s' if len(long_rows) != 1 else ''} {shown or '?'} had more cells than the "
        f"header's {width} columns: the cells past column {width} were not imported"
    )


def _skip_leading_blank_lines(raw: bytes) -> tuple[bytes, int]:
    """Drop empty (or delimiter-only) lines above the header; they would set a wrong width."""
    start = skipped = 0
    while (end := raw.find(b"\n", start)) != -1 and not raw[start:end].strip(b" \t,;|"):
        start, skipped = end + 1, skipped + 1
    return (raw[start:] if start else raw), skipped


def _sniff(raw: bytes, label: str) -> tuple[str, int]:
    """The delimiter whose header width (>1) most of the first lines repeat, and that width."""
    sample = raw[:SNIFF_BYTES].decode("utf-8", errors="ignore")
    text = "\n".join(sample.split("\n", SNIFF_LINES)[:SNIFF_LINES])
    best: tuple[int, str, int] | None = None
    for delimiter in DELIMITERS:
        counts = _field_counts(text, delimiter)
        if counts and counts[0] > 1:
            score = sum(count == counts[0] for count in counts)
            if best is None or score > best[0]:  # strict: earlier delimiters win ties
                best = (score, delimiter, counts[0])
    if best is None:
        raise UnusableFile(NO_TABLE.format(label))
    return best[1], best[2]


def _field_counts(text: str, delimiter: str) -> list[int]:
    counts = []
    try:
        for record in csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"'):
            if record:
                counts.append(len(record))
    except csv.Error:  # e.g. a giant cell in the sample: judge on the records before it
        pass
    return counts


# XLSX -------------------------------------------------------------------------------------------


def _xlsx_read(data: bytes | BinaryIO, label: str, max_rows: int | None) -> Table:
    """A workbook's first sheet with data, from its bytes or from a file on disk (streamed)."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with warnings.catch_warnings():  # openpyxl warns about extensions it ignores
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(source, read_only=True, data_only=False)
            try:
                return _xlsx_table(book, label, max_rows)
            finally:
                book.close()
    except UnusableFile:
        raise
    except Exception as error:  # any parser failure means the same thing to the user...
        if _refused_by_defusedxml(error):  # ...except XML that tries entity tricks
            raise UnusableFile(
                f"{label}: its XML declares entities (an XML bomb or a reference to another "
                "file), which are refused; Excel never writes them: save the sheet again"
            ) from error
        raise UnusableFile(f"{label}: cannot be opened as an Excel workbook") from error


def _refused_by_defusedxml(error: BaseException | None) -> bool:
    """openpyxl wraps defusedxml's refusal in its own ValueError: look down the chain."""
    while error is not None:
        if isinstance(error, DefusedXmlException):
            return True
        error = error.__cause__ or error.__context__
    return False


def _xlsx_table(book, label: str, max_rows: int | None) -> Table:
    """The first sheet with data; its first row with 2+ filled cells is the header (not a title)."""
    for sheet in book.worksheets:
        sheet.reset_dimensions()  # the stored size may be wrong; stream every row instead
        rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        for _number, values in rows:
            header = [_cell_text(value) for value in values]
            if sum(map(bool, header)) >= 2:
                break
        else:
            continue  # empty sheet: try the next one
        while header and header[-1] is None:
            header.pop()
        _check_width(len(header), label)
        return _xlsx_body(header, rows, label, max_rows)
    raise UnusableFile(NO_TABLE.format(label))


def _xlsx_body(header: list, rows, label: str, max_rows: int | None) -> Table:
    width = len(header)
    cells: list[list[str | None]] = [[] for _ in range(width)]
    numbers: list[int] = []
    blank_run = skipped = 0  # blank rows only count when data follows (not trailing formatting)
    for number, values in rows:
        if max_rows is not None and len(numbers) >= max_rows:
            break
        texts = [_cell_text(value) for value in values[:width]]
        if not any(texts):
            blank_run += 1
            continue
        skipped, blank_run = skipped + blank_run, 0
        texts += [None] * (width - len(texts))
        for column, text in zip(cells, texts, strict=True):
            column.append(text)
        numbers.append(number)
    body = pl.DataFrame({str(i): pl.Series(c, dtype=pl.String) for i, c in enumerate(cells)})
    return _table(header, body, pl.Series(numbers, dtype=pl.Int64), label, "xlsx", skipped=skipped)


def _cell_text(value) -> str | None:
    """A cell as the text a person would read; formulas stay formulas and are never evaluated."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, date | time):  # datetime is a date; isoformat drops zero microseconds
        return value.isoformat()
    if isinstance(value, timedelta):
        hours, seconds = divmod(round(value.total_seconds()), 3600)
        return f"{hours}:{seconds // 60:02d}:{seconds % 60:02d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "text"):  # ArrayFormula keeps its formula text here
        return str(value.text)
    return str(value)


# Shared -----------------------------------------------------------------------------------------


def _table(header, body, rows: pl.Series, label: str, kind: str, skipped=0, **csv_details) -> Table:
    """Name the columns, number the rows, drop blank rows (after numbering, so numbers hold)."""
    columns = _header_names(list(header))
    if len(columns) < 2 or body.height == 0:
        raise UnusableFile(NO_TABLE.format(label))
    body.columns = columns
    blank = body.select(pl.all_horizontal(pl.all().is_null())).to_series()
    frame = body.with_columns(rows.alias(ROW))
    if blank.any():  # a filter copies every column, even when it keeps every row
        frame = frame.filter(~blank)
    if frame.height == 0:
        raise UnusableFile(NO_TABLE.format(label))
    skipped += body.height - frame.height  # xlsx skips its blank rows while reading
    notes = [f"{skipped} blank row{'' if skipped == 1 else 's'} skipped"] if skipped else []
    return Table(columns, frame, kind, **csv_details, warnings=notes)


def _header_names(cells: list) -> list[str]:
    """Trimmed names; blanks become "Column 7", repeats "Name (2)"; never the reserved __row."""
    trimmed = [(cell or "").strip().lstrip("\ufeff").strip() for cell in cells]
    named = [name or f"Column {position}" for position, name in enumerate(trimmed, start=1)]
    taken = {*named, ROW}  # a repeat's new name must not take a name used later in the header
    names: list[str] = []
    seen: set[str] = set()
    for name in named:
        if name != ROW and name not in seen:
            seen.add(name)
            names.append(name)
            continue
        n = 2
        while f"{name} ({n})" in taken:
            n += 1
        taken.add(f"{name} ({n})")
        names.append(f"{name} ({n})")
    return names


def _check_width(width: int, label: str) -> None:
    if width > MAX_COLUMNS:
        raise UnusableFile(f"{label}: has {width} columns; at most {MAX_COLUMNS} are supported")


# Previews ---------------------------------------------------------------------------------------

HEAD_BYTES = 4 * 1024**2  # of text: far more than the preview's 200 rows of any real export


def table_read_head(handle, filename: str, *, max_rows: int) -> Table:
    """table_read of the first `max_rows` rows of a file on disk, reading only its head: the
    lines those rows need (at least HEAD_BYTES of text when there is that much, more only when
    the rows are longer), unpacked from a .gz or out of a .zip as far as that takes and no
    further, cut at the end of a line; a workbook's first rows streamed from its sheet. The
    same size checks as table_read; the few layouts that nest containers are read whole."""
    start = handle.read(8)
    handle.seek(0)
    if start[:2] == GZIP_MAGIC:
        label = PurePosixPath(filename.replace("\\", "/")).name or "the file"
        try:
            with gzip.GzipFile(fileobj=handle) as stream:
                head = _head(stream, max_rows)
        except (OSError, EOFError, zlib.error) as error:
            raise UnusableFile(f"{label}: is a damaged or incomplete .gz file") from error
        if head[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):  # a zip in a gz: needs all of it
            handle.seek(0)
            return table_read(handle.read(), filename, max_rows=max_rows)
        return table_read(head, filename, max_rows=max_rows)
    if start == OLE_MAGIC:
        return table_read(start, filename, max_rows=max_rows)  # refused, saying why
    if start[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):
        label = PurePosixPath(filename.replace("\\", "/")).name or "the file"
        return _zip_head(handle, label, filename, max_rows)
    return table_read(_head(handle, max_rows), filename, max_rows=max_rows)


def _head(stream, max_rows: int) -> bytes:
    """The stream's first lines: read in chunks until there are HEAD_BYTES and more line breaks
    than the header and `max_rows` rows need (a row may hold quoted line breaks: twice as many),
    or until its end; then without its last, possibly cut, line. In UTF-16 a line ends in two
    bytes, and the cut keeps the length even."""
    chunks: list[bytes] = []
    size = breaks = 0
    while size < HEAD_BYTES or breaks <= 2 * max_rows + 1:
        chunk = stream.read(1024**2)
        if not chunk:
            return b"".join(chunks)  # the whole of it
        chunks.append(chunk)
        size += len(chunk)
        breaks += chunk.count(b"\n")
    head = b"".join(chunks)
    end = head.rfind(b"\n") + 1
    utf16 = head[:2] in UTF16_BOMS or utf16_without_bom(head[: len(head) // 2 * 2])
    if utf16 and end % 2:
        end += 1
    return head[:end]


def _zip_head(handle, label: str, filename: str, max_rows: int) -> Table:
    """The head of a workbook, or of the one table in a zip, read from the file on disk: the
    zip's directory (at its end) is read by seeking, then only what the rows need."""
    with zip_open(handle, label) as archive:
        if is_workbook(archive):
            workbook_check(archive, label)
            handle.seek(0)
            return _xlsx_read(handle, label, max_rows)
        member = zip_member(archive.infolist(), label)
        check_size(member.file_size, member.compress_size, label)
        inner = f"{PurePosixPath(member.filename).name} in {label}"
        with member_errors(label), archive.open(member) as stream:
            head = _head(stream, max_rows)
    if head[:2] == GZIP_MAGIC or head[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):
        handle.seek(0)  # a container in the zip: read whole, as table_read reads it
        return table_read(handle.read(), filename, max_rows=max_rows)
    return _csv_read(head, inner, max_rows)
