"""The mapping file is a documented format (issue #19): docs/mapping.schema.json is made from the
code's lists, the examples of docs/mapping-file.md are valid by both the schema and the code, and
a refused mapping names its path and lists what is valid there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from kpis.imports.ingest.mapping import Mapping, MappingError, mapping_for_preset, mapping_from_json
from kpis.imports.ingest.mapping_schema import mapping_schema, mapping_schema_text
from kpis.imports.ingest.presets import (
    EVENT_FIELDS,
    MAPPED_VALUE_FIELDS,
    NORMALISED_VALUES,
    PRESETS,
    TICKET_FIELDS,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "docs" / "mapping.schema.json"
PAGE = ROOT / "docs" / "mapping-file.md"
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
BASE = {
    "preset": "generic",
    "columns": {"external_id": "Ref", "created_at": "Raised"},
    "timezone": "UTC",
}


def test_the_schema_file_is_what_the_code_lists_make():
    assert SCHEMA_FILE.read_text() == mapping_schema_text(), (
        "docs/mapping.schema.json is stale: "
        ".venv/bin/python -m kpis.imports.ingest.mapping_schema > docs/mapping.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(mapping_schema())


def test_the_schema_lists_every_key_field_meaning_and_preset_of_the_code():
    schema = json.loads(SCHEMA_FILE.read_text())
    properties = schema["properties"]
    assert set(properties) == set(Mapping.__dataclass_fields__)
    assert properties["preset"]["enum"] == list(PRESETS)
    columns = properties["columns"]["anyOf"][0]["properties"]
    assert list(columns) == [*TICKET_FIELDS, *EVENT_FIELDS]
    values = properties["values"]["anyOf"][0]["properties"]
    assert list(values) == list(MAPPED_VALUE_FIELDS)
    for name in MAPPED_VALUE_FIELDS:
        assert values[name]["additionalProperties"]["enum"] == [*NORMALISED_VALUES[name], ""]


def test_the_page_explains_every_key_field_and_meaning():
    page = PAGE.read_text()
    for name in [*Mapping.__dataclass_fields__, *TICKET_FIELDS, *EVENT_FIELDS, *PRESETS]:
        assert f"`{name}`" in page, name
    for meanings in NORMALISED_VALUES.values():
        for meaning in meanings:
            assert f"`{meaning}`" in page, meaning


def _page_examples() -> list[dict]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", PAGE.read_text(), re.S)]


def test_the_pages_examples_the_bpic_file_and_every_presets_mapping_are_valid_by_both():
    examples = _page_examples()
    assert len(examples) == 2
    bpic = json.loads((ROOT / "tests/data/mappings/bpic2013_event_log.json").read_text())
    assert examples[1] == bpic
    for preset in PRESETS.values():
        header = [names[0] for names in preset.columns.values()]
        examples.append(mapping_for_preset(preset, header, timezone="UTC").to_json())
    for example in examples:
        assert not list(VALIDATOR.iter_errors(example)), example
        mapping_from_json(example)  # raises when the code disagrees


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"colums": {}},
            "mapping.colums: unknown key; valid: preset, columns, timezone, date_order, values, "
            "clients, pause_states, paused_unit, paused_time, default_kind, event_log",
        ),
        (
            {"columns": {"external_id": "Ref", "created_at": "Raised", "prioirty": "Sev"}},
            "mapping.columns.prioirty: unknown field; valid: external_id, title, company, kind, "
            "priority, status, sub_status, origin,",
        ),
        (
            {"columns": {**BASE["columns"], "updated_at": "When"}},
            'mapping.columns.updated_at: a field of event logs only (set "event_log": true '
            "to read each row as a ticket update); valid for generic: external_id, title,",
        ),
        ({"preset": "remedy"}, "mapping.preset: 'remedy' is not one of connectwise, autotask,"),
        ({"preset": None}, "mapping.preset: required; valid: connectwise, autotask,"),
        (
            {"values": {"priority": {"sev a": "P0"}}},
            "mapping.values.priority.sev a: 'P0' is not one of P1, P2, P3, P4",
        ),
        (
            {"values": {"status": {"parked": "waiting"}}},
            "mapping.values.status.parked: 'waiting' is not one of new, open, paused, resolved, "
            "closed, cancelled",
        ),
        (
            {"values": {"severity": {"a": "P1"}}},
            "mapping.values.severity: values of this field are not mapped; "
            "valid: priority, status, origin, tier, kind",
        ),
        ({"date_order": "dym"}, "mapping.date_order: 'dym' is not one of auto, mdy, dmy, ymd"),
        ({"paused_unit": "days"}, "mapping.paused_unit: 'days' is not one of minutes, hours"),
        (
            {"default_kind": "bug"},
            "mapping.default_kind: 'bug' is not one of incident, request, problem, change, alert",
        ),
        ({"columns": ["Ref"]}, "mapping.columns: must be an object"),
        ({"pause_states": "parked"}, "mapping.pause_states: must be a list of text"),
    ],
)
def test_a_refused_mapping_names_the_path_and_what_is_valid_and_the_schema_agrees(change, message):
    data = {**BASE, **change}
    with pytest.raises(MappingError) as refused:
        mapping_from_json(data)
    assert str(refused.value).startswith(message), str(refused.value)
    assert list(VALIDATOR.iter_errors(data)), f"the schema accepts what the code refuses: {data}"


def test_what_only_the_code_can_check_lists_the_files_columns_or_the_valid_form():
    wrong_column = {**BASE, "columns": {"external_id": "Ref.", "created_at": "Raised"}}
    with pytest.raises(MappingError) as refused:
        mapping_from_json(wrong_column, ["Ref", "Raised"])
    assert str(refused.value) == (
        "mapping.columns.external_id: the file has no column 'Ref.'; its columns: Ref, Raised"
    )
    with pytest.raises(MappingError) as refused:
        mapping_from_json({**BASE, "timezone": "Mars/Olympus"})
    assert str(refused.value).startswith(
        "mapping.timezone: 'Mars/Olympus' is not an IANA time zone; valid: a name such as UTC"
    )
