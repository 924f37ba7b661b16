"""A mapping's problems as the mapping page says them: in plain words, on the field they
concern. `mapping_from_json` names keys (`mapping.columns.created_at: required (Created) but
not mapped`) for the API, the command and mapping files; a person on the page reads which
field to fix and how, beside that field."""

from __future__ import annotations

import re

from kpis.imports.ingest.presets import EVENT_FIELDS, TICKET_FIELDS

GENERAL = ""  # a problem of the mapping as a whole, shown at the top only
_LABELS = {**TICKET_FIELDS, **EVENT_FIELDS}


def _column_error(name: str, rest: str) -> str:
    label = _LABELS.get(name, name)
    if rest.startswith("required"):
        return f"Required: choose the file's column for “{label}”."
    if missing := re.match(r"the file has no column '(.*)'", rest, re.S):
        return f"The file has no column “{missing[1]}”: choose one of its columns."
    if rest.startswith("a field of event-log presets only"):
        return "Only event logs (a row per update) have this field: leave it empty."
    if rest.startswith("an event-log export needs the update time"):
        return "An event log needs the column that holds the time of each update."
    if rest.startswith("is read with the status"):
        return "A sub-status is read together with the status: choose the status column too."
    return f"{label}: {rest}"


def mapping_error_fields(message: str) -> dict[str, str]:
    """Form field name → plain sentence for one MappingError's message. A problem no single
    field holds is keyed GENERAL."""
    key, _, rest = message.partition(": ")
    rest = rest.strip()
    if key.startswith("mapping.columns."):
        name = key.removeprefix("mapping.columns.")
        if name == "sub_status" and rest.startswith("is read with the status"):
            return {"col__status": _column_error(name, rest)}
        return {f"col__{name}": _column_error(name, rest)}
    if key == "mapping.timezone":
        zone = re.match(r"'(.*)'", rest)
        shown = f"“{zone[1]}”" if zone else "This"
        return {"timezone": f"{shown} is not a time zone: choose one such as Europe/London."}
    if key == "mapping.date_order":
        return {"date_order": "Choose the order of day and month in the file's dates."}
    if key == "mapping.preset":
        return {"preset": "Choose one of the layouts listed."}
    sentence = rest or key
    return {GENERAL: sentence[:1].upper() + sentence[1:]}
