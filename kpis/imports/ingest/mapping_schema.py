"""The JSON Schema of a mapping file, made from the code's own lists (the fields, the normalised
values, the presets) so the file and the code cannot drift: docs/mapping.schema.json is this
function's output, and tests/test_mapping_format.py checks that it still is.

Regenerate the file after changing a list:

    .venv/bin/python -m kpis.imports.ingest.mapping_schema > docs/mapping.schema.json

The schema describes the shape; `mapping_from_json` also checks what JSON Schema cannot say
(the columns a file really has, an event-log field under a one-row preset, a valid time zone).
The keys are explained in plain words in docs/mapping-file.md.
"""

from __future__ import annotations

import json
from typing import Any

from .presets import (
    DATE_ORDERS,
    EVENT_FIELDS,
    MAPPED_VALUE_FIELDS,
    NORMALISED_VALUES,
    PAUSED_TIMES,
    PRESETS,
    TICKET_FIELDS,
)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Every key may be null: null means "as the preset says" (docs/mapping-file.md)."""
    return {"anyOf": [schema, {"type": "null"}]}


def mapping_schema() -> dict[str, Any]:
    event_presets = [p.name for p in PRESETS.values() if p.shape == "event"]
    columns = {
        name: {"type": "string", "description": label} for name, label in TICKET_FIELDS.items()
    }
    columns |= {
        name: {"type": "string", "description": f"{label} (event logs only)"}
        for name, label in EVENT_FIELDS.items()
    }
    values = {
        name: {
            "type": "object",
            "description": f"raw {name} (compared without case or extra spaces) → its meaning; "
            '"" leaves it unmapped on purpose',
            "additionalProperties": {"enum": [*NORMALISED_VALUES[name], ""]},
        }
        for name in MAPPED_VALUE_FIELDS
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Mapping of a ticket export",
        "description": "How an import reads a PSA export: see docs/mapping-file.md.",
        "type": "object",
        "required": ["preset"],
        # The event-log fields belong to event logs: an event-log preset, or `event_log: true`.
        "if": {
            "properties": {
                "preset": {"not": {"enum": event_presets}},
                "event_log": {"not": {"const": True}},
            }
        },
        "then": {
            "properties": {
                "columns": _nullable(
                    {"type": "object", "propertyNames": {"not": {"enum": list(EVENT_FIELDS)}}}
                )
            }
        },
        "additionalProperties": False,
        "properties": {
            "preset": {
                "description": "the export layout the mapping starts from",
                "enum": list(PRESETS),
            },
            "columns": _nullable(
                {
                    "type": "object",
                    "description": "normalised field → the file's column header; the fields "
                    f"{', '.join(EVENT_FIELDS)} only in an event log ({', '.join(event_presets)}, "
                    "or any preset with event_log: true)",
                    "properties": columns,
                    "additionalProperties": False,
                }
            ),
            "timezone": _nullable(
                {"type": "string", "description": "IANA zone of times without an offset"}
            ),
            "date_order": _nullable({"enum": ["auto", *DATE_ORDERS]}),
            "values": _nullable(
                {"type": "object", "properties": values, "additionalProperties": False}
            ),
            "clients": _nullable(
                {
                    "type": "object",
                    "description": "company → client slug, or null to skip its tickets",
                    "additionalProperties": {"type": ["string", "null"]},
                }
            ),
            "pause_states": _nullable(
                {
                    "type": "array",
                    "description": "raw statuses that pause the resolution clock (event logs)",
                    "items": {"type": "string"},
                }
            ),
            "paused_unit": _nullable({"enum": ["minutes", "hours"]}),
            "paused_time": _nullable({"enum": list(PAUSED_TIMES)}),
            "default_kind": _nullable({"enum": list(NORMALISED_VALUES["kind"])}),
            "event_log": _nullable(
                {
                    "type": "boolean",
                    "description": "true: each row is an update of a ticket (an event log), "
                    "folded into tickets; false: each row is a ticket; null: as the preset reads "
                    "its tool's export",
                }
            ),
        },
    }


def mapping_schema_text() -> str:
    return json.dumps(mapping_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(mapping_schema_text(), end="")
