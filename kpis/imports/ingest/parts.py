"""A large event log normalised a part at a time, so its memory stays bounded.

Folding needs each ticket's updates together, but not all tickets at once: the updates are split
by a hash of their ticket's key into parts of about PART_ROWS rows, and each part is normalised
and folded on its own (normalise.py), its intermediate columns freed before the next. The date
order is decided once from the whole file, as a one-part import decides it. The result is the
same tickets, problems and unmapped values as one `tickets_normalise` of the whole file.
"""

from __future__ import annotations

import math
from dataclasses import replace

import polars as pl

from .mapping import Mapping, MappingError, mapping_from_json
from .normalise import Normalised, date_order_of, tickets_normalise
from .problems import problems_frame

PART_ROWS = 500_000


def tickets_normalise_in_parts(frame: pl.DataFrame, mapping: Mapping) -> Normalised:
    """`tickets_normalise`, a part of the tickets at a time for an event log over PART_ROWS."""
    if mapping.shape != "event" or frame.height <= PART_ROWS:
        return tickets_normalise(frame, mapping)
    mapping = replace(mapping, date_order=date_order_of(frame, mapping))
    parts = math.ceil(frame.height / PART_ROWS)
    keys = [c for c in (mapping.columns.get("company"), mapping.columns["external_id"]) if c]
    part_of = frame.select(pl.struct(keys).hash() % parts).to_series()
    tickets, problems = [], []
    unmapped: dict[str, dict[str, int]] = {}
    for part in range(parts):
        done = tickets_normalise(frame.filter(part_of == part), mapping)
        tickets.append(done.tickets)
        problems.append(done.problems)
        for name, counts in done.unmapped.items():
            merged = unmapped.setdefault(name, {})
            for raw, count in counts.items():
                merged[raw] = merged.get(raw, 0) + count
        del done
    return Normalised(
        tickets=pl.concat(tickets, how="vertical_relaxed"),
        problems=pl.concat(problems).sort("row", nulls_last=True) if problems else problems_frame(),
        unmapped=unmapped,
        date_order=mapping.date_order,
        rows_in=frame.height,
    )


# Fields whose column is read as text; the others (the id, times, numbers) stay text as read.
_CATEGORY_FIELDS = {
    "company",
    "title",
    "kind",
    "status",
    "sub_status",
    "priority",
    "origin",
    "category",
    "subcategory",
    "configuration_item",
    "requester",
    "tier",
    "updated_by",
    "assignment_group",
    "assignee",
    "reported_response_met",
    "reported_resolution_met",
}


def lean_read(mapping_json: dict) -> dict:
    """`table_read`'s options for an import with this mapping: an event log reads only its
    mapped columns, the repetitive ones as categories (read.py); other imports read as before.
    A mapping that cannot be read asks for nothing: the import names its error next."""
    try:
        mapping = mapping_from_json(mapping_json)
    except MappingError:
        return {}
    if mapping.shape != "event":
        return {}
    columns = mapping.columns
    return {
        "keep": list(dict.fromkeys(columns.values())),
        "as_categories": [
            column
            for name, column in columns.items()
            if name in _CATEGORY_FIELDS
            and all(columns[other] != column for other in columns if other not in _CATEGORY_FIELDS)
        ],
    }
