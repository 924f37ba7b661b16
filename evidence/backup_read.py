"""Backup job reports read into runs and restore test reports into tests, with a problem for
each row left out naming the row, the column and the value. The table is read by
evidence/read.py. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC

from .backup_presets import (
    BACKUP_LAYOUT,
    BACKUP_RESULTS,
    RESTORE_LAYOUT,
    RESTORE_RESULTS,
    is_unfinished,
    result_of,
)
from .layouts import Layout, Preset
from .read import problem, report_table_read


@dataclass
class ReportRead:
    rows: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    rows_read: int = 0


def _empty(row, text, columns, layout: Layout, fields) -> dict | None:
    for f in fields:
        if not text[f]:
            return problem(row, columns[f], "", f"the {layout.field_words[f]} is empty")
    return None


def _result(row, column, word: str, results: dict[str, str]) -> tuple[str | None, dict | None]:
    """(the result, None) or (None, the problem naming the word)."""
    found = result_of(word, results)
    if found is not None:
        return found, None
    if is_unfinished(word):
        return None, problem(
            row, column, word, "not finished when the report was exported: it has no result yet"
        )
    known = ", ".join(sorted({w for w in results}))
    return None, problem(row, column, word, f"not a result this layout knows (one of: {known})")


def backup_report_read(
    data: bytes, filename: str, preset: Preset, mapping: dict[str, str] | None = None
) -> ReportRead:
    """The report's runs ({job, device, started, result, raw_result, row}); raises
    UnusableFile when the file as a whole cannot be used."""
    table = report_table_read(data, filename, BACKUP_LAYOUT, preset, mapping)
    columns = table.columns
    started = table.times["started"]
    out = ReportRead(rows_read=table.rows_read)
    kept: dict[tuple, dict] = {}  # a later row for the same run replaces the earlier
    for i, row, text in table.records():
        text.setdefault("job", "")
        bad = _empty(row, text, columns, BACKUP_LAYOUT, ("device", "started", "result"))
        if bad is None and started[i] is None:
            bad = problem(
                row, columns["started"], text["started"], "not a date and time: when did it run?"
            )
        result, wrong = _result(row, columns["result"], text["result"], BACKUP_RESULTS)
        bad = bad or wrong
        if bad is not None:
            out.problems.append(bad)
            continue
        # Stored in UTC as written: the tool's wall clock, never moved across midnight.
        when = started[i].replace(tzinfo=UTC)
        key = (text["job"], text["device"], when)
        if key in kept:
            out.problems.append(
                problem(
                    row,
                    columns["started"],
                    text["started"],
                    f"the same job, device and start as row {kept[key]['row']}: "
                    "this later row is kept",
                )
            )
            del kept[key]
        kept[key] = {
            "row": row,
            "job": text["job"][:255],
            "device": text["device"][:255],
            "started": when,
            "result": result,
            "raw_result": text["result"][:100],
        }
    out.rows = list(kept.values())
    return out


def restore_report_read(
    data: bytes, filename: str, preset: Preset, mapping: dict[str, str] | None = None
) -> ReportRead:
    """The report's tests ({system, tested_on, result, raw_result, scope, row}); a system
    tested twice on one day keeps its later row (a problem says so)."""
    table = report_table_read(data, filename, RESTORE_LAYOUT, preset, mapping)
    columns = table.columns
    tested_on = table.dates["tested_on"]
    out = ReportRead(rows_read=table.rows_read)
    kept: dict[tuple, dict] = {}
    for i, row, text in table.records():
        bad = _empty(row, text, columns, RESTORE_LAYOUT, ("system", "tested_on", "result"))
        if bad is None and tested_on[i] is None:
            bad = problem(row, columns["tested_on"], text["tested_on"], "not a date")
        result, wrong = _result(row, columns["result"], text["result"], RESTORE_RESULTS)
        bad = bad or wrong
        if bad is not None:
            out.problems.append(bad)
            continue
        key = (text["system"], tested_on[i])
        if key in kept:
            out.problems.append(
                problem(
                    row,
                    columns["tested_on"],
                    text["tested_on"],
                    f"the same system and day as row {kept[key]['row']}: this later row is kept",
                )
            )
            del kept[key]
        kept[key] = {
            "row": row,
            "system": text["system"][:255],
            "tested_on": tested_on[i],
            "result": result,
            "raw_result": text["result"][:100],
            "scope": text.get("scope", "")[:255],
        }
    out.rows = list(kept.values())
    return out
