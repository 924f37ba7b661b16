"""A patch report read into (device, patch) rows, with a problem for each row left out naming
the row, the column and the value. The table is read by evidence/read.py. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from .layouts import Preset
from .presets import FIELD_WORDS, PATCH_LAYOUT, is_installed_word
from .read import problem, report_table_read


@dataclass
class PatchReportRead:
    rows: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    rows_read: int = 0


def patch_report_read(
    data: bytes, filename: str, preset: Preset, mapping: dict[str, str] | None = None
) -> PatchReportRead:
    """The report's rows ({device, patch, severity, released, installed, status, row}); raises
    UnusableFile when the file as a whole cannot be used (no table, a needed column missing)."""
    table = report_table_read(
        data, filename, PATCH_LAYOUT, preset, mapping, needs_one_of=(("installed", "status"),)
    )
    columns = table.columns
    released = table.dates["released"]
    installed = table.dates.get("installed")
    out = PatchReportRead(rows_read=table.rows_read)
    kept: dict[tuple[str, str], dict] = {}  # a later row for the same pair replaces the earlier
    for i, row, text in table.records():
        installed_on = installed[i] if installed is not None else None
        bad = _row_problem(row, text, columns, released[i], installed_on)
        if bad is not None:
            out.problems.append(bad)
            continue
        key = (text["device"], text["patch"])
        if key in kept:
            out.problems.append(
                problem(
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
                problem(row, column, status, "installed without a date: it cannot be shown on time")
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
            return problem(row, columns[f], "", f"the {FIELD_WORDS[f]} is empty")
    if released is None:
        return problem(
            row,
            columns["released"],
            text["released"],
            "not a date: the release date is needed to know when it fell due",
        )
    if "installed" in columns and text["installed"] and installed is None:
        return problem(row, columns["installed"], text["installed"], "not a date")
    if installed is not None and installed < released:
        return problem(
            row,
            columns["installed"],
            text["installed"],
            f"installed before its release on {released.isoformat()}",
        )
    return None
