"""A patch report read into (device, patch) rows, with a problem for each row left out naming
the row, the column and the value. The file is read by the ticket importer's reader (CSV in any
common encoding and delimiter, XLSX, zipped); dates by its timestamp parser. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from kpis.imports.ingest.errors import UnusableFile
from kpis.imports.ingest.presets import header_key
from kpis.imports.ingest.read import ROW, table_read
from kpis.imports.ingest.timestamps import AmbiguousDates, date_order_detect, timestamps_parse

from .presets import FIELD_WORDS, REQUIRED, PatchPreset, columns_found, is_installed_word


@dataclass
class PatchReportRead:
    rows: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    rows_read: int = 0


def _problem(row: int, column: str, value, reason: str) -> dict:
    return {
        "row": row,
        "column": column,
        "value": "" if value is None else str(value),
        "reason": reason,
    }


def _dates(series: pl.Series, order: str) -> list[date | None]:
    # Read as UTC wall days: a report's dates are days, and no zone may move them across midnight.
    parsed = timestamps_parse(series, order=order, zone="UTC")
    return parsed.dt.date().to_list()


def patch_report_read(
    data: bytes, filename: str, preset: PatchPreset, mapping: dict[str, str] | None = None
) -> PatchReportRead:
    """The report's rows ({device, patch, severity, released, installed, status, row}); raises
    UnusableFile when the file as a whole cannot be used (no table, a needed column missing)."""
    table = table_read(data, filename)
    mapping = mapping or {}
    present = {header_key(h) for h in table.columns}
    absent = [
        f"'{c}' ({FIELD_WORDS[f]})" for f, c in mapping.items() if header_key(c) not in present
    ]
    if absent:
        raise UnusableFile(
            f"{filename}: no column {', '.join(absent)} in the file; its columns are: "
            f"{', '.join(table.columns)}"
        )
    columns = columns_found(preset, table.columns, mapping)
    missing = [f for f in REQUIRED if f not in columns]
    if "installed" not in columns and "status" not in columns:
        missing.append("installed")
    if missing:
        words = ", ".join(FIELD_WORDS[f] for f in missing)
        raise UnusableFile(
            f"{filename}: no column for the {words} in the {preset.label} layout; the file's "
            f"columns are: {', '.join(table.columns)}. Choose another layout or name the columns."
        )
    frame = table.frame
    date_columns = [frame[columns[f]] for f in ("released", "installed") if f in columns]
    try:
        order = date_order_detect(date_columns) or "ymd"
    except AmbiguousDates:  # pragma: no cover - date_order_detect answers None, not raising
        order = "ymd"
    released = _dates(frame[columns["released"]], order)
    installed = _dates(frame[columns["installed"]], order) if "installed" in columns else None
    out = PatchReportRead(rows_read=frame.height)
    kept: dict[tuple[str, str], dict] = {}  # a later row for the same pair replaces the earlier
    for i, record in enumerate(frame.iter_rows(named=True)):
        row = record[ROW]
        text = {f: (record[c] or "").strip() for f, c in columns.items()}
        installed_on = installed[i] if installed is not None else None
        bad = _row_problem(row, text, columns, released[i], installed_on)
        if bad is not None:
            out.problems.append(bad)
            continue
        key = (text["device"], text["patch"])
        if key in kept:
            out.problems.append(
                _problem(
                    row,
                    columns["patch"],
                    text["patch"],
                    f"the same device and patch as row {kept[key]['row']}: this later row is kept",
                )
            )
            del kept[key]
        status = text.get("status", "")
        if installed_on is None and is_installed_word(status):
            column = columns.get("installed", columns["status"])
            out.problems.append(
                _problem(
                    row, column, status, "installed without a date: it cannot be shown on time"
                )
            )
        kept[key] = {
            "row": row,
            "device": text["device"][:255],
            "patch": text["patch"][:255],
            "severity": text["severity"][:100],
            "released": released[i],
            "installed": installed_on,
            "status": status[:100],
        }
    out.rows = list(kept.values())
    return out


def _row_problem(row, text, columns, released, installed) -> dict | None:
    """The reason a row cannot be used, naming its column and value; None when it can."""
    for f in ("device", "patch", "severity"):
        if not text[f]:
            return _problem(row, columns[f], "", f"the {FIELD_WORDS[f]} is empty")
    if released is None:
        return _problem(
            row,
            columns["released"],
            text["released"],
            "not a date: the release date is needed to know when it fell due",
        )
    if "installed" in columns and text["installed"] and installed is None:
        return _problem(row, columns["installed"], text["installed"], "not a date")
    if installed is not None and installed < released:
        return _problem(
            row,
            columns["installed"],
            text["installed"],
            f"installed before its release on {released.isoformat()}",
        )
    return None
