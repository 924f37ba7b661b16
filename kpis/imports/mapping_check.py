"""The mapping step as a check of what an import will store, before it stores anything: the
first rows as the real ingest pipeline reads them (times in the client's zone, the priority,
state, origin, tier and type they become) and a summary of the whole file (rows, tickets, the
creation dates covered). Both run `tickets_normalise`, the import's own code, never a second
parser."""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

import polars as pl
from django.core.cache import cache

from kpis.imports.file_values import CACHE_SECONDS, CACHED_FROM_BYTES
from kpis.imports.ingest.mapping import Mapping
from kpis.imports.ingest.normalise import tickets_normalise
from kpis.imports.ingest.read import ROW, Table, table_read
from kpis.imports.ingest.timestamps import AmbiguousDates
from kpis.models import ImportJob

PREVIEW_ROWS = 8
# The stored fields the preview shows beside their cells: (field, heading).
PARSED_FIELDS = (
    ("created_at", "Created"),
    ("priority", "Priority"),
    ("status", "State"),
    ("origin", "Origin"),
    ("tier", "Tier"),
    ("kind", "Type"),
    ("reported_response_met", "The MSP's response verdict"),
    ("reported_resolution_met", "The MSP's resolution verdict"),
)


@dataclass
class ParsedRow:
    """One row of the file: its cells beside what they are stored as, and its problems."""

    row: int
    ticket: str
    cells: list[tuple[str, str, str]]  # (heading, as in the file, as stored) per shown field
    problems: list[str] = field(default_factory=list)
    skipped: bool = False


def local_time(value: datetime.datetime | None, zone: str) -> str:
    """A naive UTC time as the client reads it."""
    if value is None:
        return ""
    return f"{value.replace(tzinfo=datetime.UTC).astimezone(ZoneInfo(zone)):%d %b %Y %H:%M}"


def local_date(value: datetime.datetime | None, zone: str) -> str:
    """The client's calendar day of a naive UTC time, as people write it: 8 Jul 2025."""
    if value is None:
        return ""
    local = value.replace(tzinfo=datetime.UTC).astimezone(ZoneInfo(zone))
    return f"{local.day} {local:%b %Y}"


def _columns(mapping: Mapping) -> list[str]:
    return list(dict.fromkeys([*mapping.columns.values(), ROW]))


def parsed_preview(
    table: Table, mapping: Mapping, zone: str
) -> tuple[list[tuple[str, str]], list[ParsedRow]]:
    """(field heading, column) of the fields shown, and the first rows read by the pipeline.
    Raises AmbiguousDates when the date order must be chosen."""
    frame = table.frame.head(PREVIEW_ROWS).select(_columns(mapping))
    normalised = tickets_normalise(frame, mapping)
    stored = {row[ROW]: row for row in normalised.tickets.iter_rows(named=True)}
    shown = [(name, heading) for name, heading in PARSED_FIELDS if name in mapping.columns]
    problems: dict[int, list[tuple[str, str]]] = {}
    for problem in normalised.problems.iter_rows(named=True):
        if problem["row"] is not None:
            problems.setdefault(problem["row"], []).append(
                (problem["severity"], f"{problem['column']}: {problem['reason']}")
            )
    rows = []
    id_column = mapping.columns["external_id"]
    for cells in frame.iter_rows(named=True):
        number = cells[ROW]
        ticket = stored.get(number)
        pairs = []
        for name, heading in shown:
            raw = cells.get(mapping.columns[name]) or ""
            if ticket is None:
                pairs.append((heading, raw, ""))
            elif name == "created_at":
                pairs.append((heading, raw, local_time(ticket["created_at"], zone)))
            else:
                pairs.append((heading, raw, _stored_text(ticket.get(name))))
        found = problems.get(number, [])
        rows.append(
            ParsedRow(
                row=number,
                ticket=cells.get(id_column) or "",
                cells=pairs,
                problems=[reason for _severity, reason in found],
                skipped=any(severity == "error" for severity, _ in found),
            )
        )
    headings = [(heading, mapping.columns[name]) for name, heading in shown]
    return headings, rows


def _stored_text(value) -> str:
    """A stored value as the preview says it: a verdict (True / False) as met / breached."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "met" if value else "breached"
    return str(value)


@dataclass
class FileSummary:
    """The whole file as the import will read it, before any company is routed."""

    rows: int = 0
    tickets: int = 0
    rows_with_errors: int = 0
    first_created: str = ""
    last_created: str = ""
    zone: str = "UTC"
    date_order_needed: str = ""  # why the date order must be chosen, when it must
    date_order: str = ""  # as read from the whole file: the preview of a few rows reads so too
    # The file's tickets that look like another source's, in a sentence ("" for none): what the
    # import will ask about before storing (kpis/imports/overlap.py), said before it is queued.
    overlap: str = ""


def _overlap(job: ImportJob, tickets: pl.DataFrame, mapping: Mapping) -> str:
    from kpis.imports.company_routing import clients_assign
    from kpis.imports.overlap import overlap_find, overlap_words

    routed, _problems, zones = clients_assign(job, tickets, mapping)
    if routed.is_empty():
        return ""
    facts = overlap_find(routed, source_system=mapping.source_system, zone_by_client=zones)
    return overlap_words(facts) if facts else ""


def file_summary(job: ImportJob, mapping: Mapping, zone: str) -> FileSummary:
    """Rows, tickets, errors and creation dates of the whole file. A ticket export is read on
    its ticket number and creation time only; an event log as a whole, since folding it needs
    its history. Kept in the cache for big files, like the value counts."""
    if mapping.shape == "ticket":
        # What the counts, the dates and the overlap with other sources read (overlap.py).
        read = ("external_id", "created_at", "title", "requester", "category", "company")
        keep = {k: v for k, v in mapping.columns.items() if k in read}
        mapping = replace(mapping, columns=keep, values={})
    shape = json.dumps([mapping.to_json(), zone], sort_keys=True).encode()
    key = f"import-summary:{job.pk}:{job.sha256}:{hashlib.sha256(shape).hexdigest()[:32]}"
    cached = job.size >= CACHED_FROM_BYTES
    found = cache.get(key) if cached else None
    if found is not None:
        return found
    with job.file.open("rb") as handle:
        table = table_read(handle.read(), job.original_name)
    summary = FileSummary(rows=table.frame.height, zone=zone)
    try:
        normalised = tickets_normalise(table.frame.select(_columns(mapping)), mapping)
    except AmbiguousDates as error:
        summary.date_order_needed = str(error)
        return summary
    del table
    summary.date_order = normalised.date_order
    errors = normalised.problems.filter(pl.col("severity") == "error")
    summary.rows_with_errors = errors["row"].drop_nulls().n_unique()
    created = normalised.tickets["created_at"]
    summary.tickets = normalised.tickets.height
    if summary.tickets:
        summary.first_created = local_date(created.min(), zone)
        summary.last_created = local_date(created.max(), zone)
        summary.overlap = _overlap(job, normalised.tickets, mapping)
    if cached:
        cache.set(key, summary, timeout=CACHE_SECONDS)
    return summary
