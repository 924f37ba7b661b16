"""A tool report's table read for one layout: the file read by the ticket importer's reader
(CSV in any common encoding and delimiter, XLSX, zipped), its columns found per field, the
date fields parsed by the ticket timestamp parser (ISO, month-first or day-first decided from
the file, Excel serial days). Each kind's reader (evidence/patch_read.py, ...) then judges the
rows. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from kpis.imports.ingest.errors import UnusableFile
from kpis.imports.ingest.presets import header_key
from kpis.imports.ingest.read import ROW, table_read
from kpis.imports.ingest.timestamps import date_order_detect, timestamps_parse

from .layouts import Layout, Preset, columns_found

__all__ = ["ROW", "ReportTable", "problem", "report_table_read"]


@dataclass
class ReportTable:
    frame: pl.DataFrame
    # field → the file's column for it (only the fields the file has)
    columns: dict[str, str]
    # date field → its parsed values, row by row (None where a cell is empty or unreadable)
    dates: dict[str, list[date | None]]
    # the same fields as times of day (UTC wall clock as written), for kinds that need the hour
    times: dict[str, list[datetime | None]]

    @property
    def rows_read(self) -> int:
        return self.frame.height

    def records(self):
        """(index, spreadsheet row number, {field: stripped text}) per row."""
        for i, record in enumerate(self.frame.iter_rows(named=True)):
            text = {
                f: (str(record[c]) if record[c] is not None else "").strip()
                for f, c in self.columns.items()
            }
            yield i, record[ROW], text


def problem(row: int, column: str, value, reason: str) -> dict:
    """A row left out (or kept with a doubt), named as the spreadsheet numbers it."""
    return {
        "row": row,
        "column": column,
        "value": "" if value is None else str(value),
        "reason": reason,
    }


def report_table_read(
    data: bytes,
    filename: str,
    layout: Layout,
    preset: Preset,
    mapping: dict[str, str] | None = None,
    *,
    needs_one_of: tuple[tuple[str, ...], ...] = (),
) -> ReportTable:
    """The table with its columns found; raises UnusableFile naming what is wrong when the
    file as a whole cannot be used: a named column absent, a needed field without a column
    (`needs_one_of`: groups of fields of which at least one must be there)."""
    table = table_read(data, filename)
    mapping = mapping or {}
    present = {header_key(h) for h in table.columns}
    absent = [
        f"'{c}' ({layout.field_words[f]})"
        for f, c in mapping.items()
        if c and header_key(c) not in present
    ]
    if absent:
        raise UnusableFile(
            f"{filename}: no column {', '.join(absent)} in the file; its columns are: "
            f"{', '.join(table.columns)}"
        )
    columns = columns_found(layout, preset, table.columns, mapping)
    missing = [f for f in layout.required if f not in columns]
    for group in needs_one_of:
        if not any(f in columns for f in group):
            missing.append(group[0])
    if missing:
        words = ", ".join(layout.field_words[f] for f in missing)
        raise UnusableFile(
            f"{filename}: no column for the {words} in the {preset.label} layout; the file's "
            f"columns are: {', '.join(table.columns)}. Choose another layout or name the columns."
        )
    frame = table.frame
    date_columns = [frame[columns[f]] for f in layout.date_fields if f in columns]
    order = date_order_detect(date_columns) or "ymd"
    times: dict[str, list[datetime | None]] = {}
    dates: dict[str, list[date | None]] = {}
    for f in layout.date_fields:
        if f not in columns:
            continue
        # Read as UTC wall clock: a report's days are the tool's days, and no zone may move
        # them across midnight.
        parsed = timestamps_parse(frame[columns[f]], order=order, zone="UTC")
        times[f] = [t.replace(tzinfo=None) if t is not None else None for t in parsed.to_list()]
        dates[f] = parsed.dt.date().to_list()
    return ReportTable(frame=frame, columns=columns, dates=dates, times=times)
