"""The mapping an import runs with: columns, value maps, time zone, date order, clients.

It is stored as JSON on the import and as a named mapping for the MSP; `mapping_from_json`
rejects unknown keys and bad values with a message naming the key and listing what is valid
there (the format: docs/mapping-file.md, docs/mapping.schema.json).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .presets import (
    DATE_ORDERS,
    EVENT_FIELDS,
    MAPPED_VALUE_FIELDS,
    NORMALISED_VALUES,
    PAUSED_TIMES,
    PRESETS,
    TICKET_FIELDS,
    Preset,
    preset_columns,
    value_guess,
    value_key,
)


class MappingError(ValueError):
    """A mapping that cannot be used; the message names the key."""


@dataclass
class Mapping:
    """Everything needed to turn a table of strings into normalised tickets."""

    preset: str
    columns: dict[str, str]  # normalised field → header
    timezone: str  # the zone naive timestamps are read in
    date_order: str = "auto"  # auto | mdy | dmy | ymd
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field → raw key → value
    clients: dict[str, str | None] = field(default_factory=dict)  # company → client slug / skip
    pause_states: list[str] = field(default_factory=list)  # raw statuses that pause (event logs)
    paused_unit: str = "minutes"  # minutes | hours
    paused_time: str = "calendar"  # calendar | business (docs/imports.md, "Pause totals")
    default_kind: str = "incident"
    # True: a row per ticket update (an event log), folded into tickets, whatever the preset;
    # False: a row per ticket; None: as the preset reads its tool's export.
    event_log: bool | None = None

    @property
    def preset_obj(self) -> Preset:
        return PRESETS[self.preset]

    @property
    def shape(self) -> str:
        if self.event_log is None:
            return self.preset_obj.shape
        return "event" if self.event_log else "ticket"

    @property
    def source_system(self) -> str:
        # Both ServiceNow layouts number incidents the same way: one ticket, whichever export.
        return "servicenow" if self.preset == "servicenow_audit" else self.preset

    def to_json(self) -> dict:
        return asdict(self)

    def value_for(self, field_name: str, raw: str) -> str | None:
        """The normalised value of a raw one: the user's map first, then the preset's guess."""
        key = value_key(raw)
        mapped = self.values.get(field_name, {})
        if key in mapped:
            return mapped[key] or None  # "" means the user left it unmapped on purpose
        return value_guess(field_name, raw, self.preset_obj)


def mapping_for_preset(
    preset: Preset, header: list[str], *, timezone: str, event_log: bool | None = None
) -> Mapping:
    """The starting mapping for a file: the preset's columns found in its header. Read as an
    event log by a preset of one-row exports, the update columns are guessed by the names the
    `event_log` preset knows."""
    columns = preset_columns(preset, header)
    if event_log and preset.shape != "event":
        guessed = preset_columns(PRESETS["event_log"], header)
        columns |= {f: c for f, c in guessed.items() if f in EVENT_FIELDS and f not in columns}
    return Mapping(
        preset=preset.name,
        columns=columns,
        timezone=preset.timezone or timezone,
        date_order="auto",
        paused_unit=preset.paused_unit,
        paused_time=preset.paused_time,
        default_kind=preset.default_kind,
        event_log=event_log if event_log != (preset.shape == "event") else None,
    )


def mapping_from_json(
    data: dict, header: list[str] | None = None, *, check: bool = True
) -> Mapping:
    """A Mapping from stored or submitted JSON, checked key by key. Unchecked (`check=False`)
    only to show a mapping that failed its check beside the problem, never to import it."""
    if not isinstance(data, dict):
        raise MappingError("mapping: must be an object")
    known = list(Mapping.__dataclass_fields__)  # in the order of docs/mapping-file.md
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise MappingError(f"mapping.{unknown[0]}: unknown key; valid: {', '.join(known)}")
    _check_types(data)
    preset = data.get("preset")
    if preset is None:
        raise MappingError(f"mapping.preset: required; valid: {', '.join(PRESETS)}")
    if preset not in PRESETS:
        raise MappingError(f"mapping.preset: '{preset}' is not one of {', '.join(PRESETS)}")
    mapping = Mapping(
        preset=preset,
        columns=dict(data.get("columns") or {}),
        timezone=data.get("timezone") or PRESETS[preset].timezone or "",
        date_order=data.get("date_order") or "auto",
        values={k: dict(v) for k, v in (data.get("values") or {}).items()},
        clients=dict(data.get("clients") or {}),
        pause_states=[value_key(s) for s in data.get("pause_states") or []],
        paused_unit=data.get("paused_unit") or PRESETS[preset].paused_unit,
        paused_time=data.get("paused_time") or PRESETS[preset].paused_time,
        default_kind=data.get("default_kind") or PRESETS[preset].default_kind,
        event_log=data.get("event_log"),
    )
    if check:
        _check(mapping, header)
        _schema_check(data)
    return mapping


@cache
def _validator():
    from jsonschema import Draft202012Validator

    from .mapping_schema import mapping_schema

    return Draft202012Validator(mapping_schema())


def _schema_check(data: dict) -> None:
    """The published schema (docs/mapping.schema.json) is enforced too, after the checks above
    whose messages say more: what passes here is what the documented format allows."""
    error = next(iter(_validator().iter_errors(data)), None)
    if error is not None:
        path = ".".join(str(part) for part in error.absolute_path)
        raise MappingError(f"mapping{'.' + path if path else ''}: {error.message}")


# The JSON shape of each key (None allowed for all): a list where text belongs must be named,
# not met later as a TypeError (an API upload's `mapping` is whatever the caller sent).
_TEXT_KEYS = ("preset", "timezone", "date_order", "paused_unit", "paused_time", "default_kind")


def _check_types(data: dict) -> None:
    def text_map(key: str, value, *, nullable: bool = False) -> None:
        if not isinstance(value, dict):
            raise MappingError(f"{key}: must be an object")
        for name, item in value.items():
            if not (isinstance(item, str) or (nullable and item is None)):
                raise MappingError(f"{key}.{name}: must be text")

    for key in _TEXT_KEYS:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise MappingError(f"mapping.{key}: must be text")
    if data.get("columns") is not None:
        text_map("mapping.columns", data["columns"])
    if data.get("clients") is not None:
        text_map("mapping.clients", data["clients"], nullable=True)
    if data.get("values") is not None:
        if not isinstance(data["values"], dict):
            raise MappingError("mapping.values: must be an object")
        for name, values in data["values"].items():
            text_map(f"mapping.values.{name}", values)
    if data.get("event_log") is not None and not isinstance(data["event_log"], bool):
        raise MappingError(
            "mapping.event_log: must be true (a row per ticket update), false (a row per "
            "ticket) or null (as the preset reads its tool's export)"
        )
    states = data.get("pause_states")
    if states is not None and not (
        isinstance(states, list) and all(isinstance(state, str) for state in states)
    ):
        raise MappingError("mapping.pause_states: must be a list of text")


def _listed(names, most: int = 40) -> str:
    """Valid names for a message: all of them, or the first `most` and how many more."""
    names = list(names)
    more = f", … ({len(names) - most} more)" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _check(mapping: Mapping, header: list[str] | None) -> None:
    allowed = [*TICKET_FIELDS, *(EVENT_FIELDS if mapping.shape == "event" else ())]
    for name, column in mapping.columns.items():
        if name in EVENT_FIELDS and name not in allowed:
            raise MappingError(
                f'mapping.columns.{name}: a field of event logs only (set "event_log": true '
                f"to read each row as a ticket update); valid for {mapping.preset}: "
                f"{_listed(allowed)}"
            )
        if name not in allowed:
            raise MappingError(f"mapping.columns.{name}: unknown field; valid: {_listed(allowed)}")
        if header is not None and column not in header:
            raise MappingError(
                f"mapping.columns.{name}: the file has no column '{column}'; "
                f"its columns: {_listed(header)}"
            )
    for required in ("external_id", "created_at"):
        # An event log's first update stands in for its creation time (docs/imports.md).
        event_created = required == "created_at" and mapping.shape == "event"
        if required not in mapping.columns and not event_created:
            label = TICKET_FIELDS[required]
            raise MappingError(f"mapping.columns.{required}: required ({label}) but not mapped")
    if mapping.shape == "event" and "updated_at" not in mapping.columns:
        raise MappingError("mapping.columns.updated_at: an event-log export needs the update time")
    if "sub_status" in mapping.columns and "status" not in mapping.columns:
        raise MappingError("mapping.columns.sub_status: is read with the status; map the status")
    try:
        ZoneInfo(mapping.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"mapping.timezone: '{mapping.timezone}' is not an IANA time zone; "
            "valid: a name such as UTC, Europe/London or America/Chicago"
        ) from None
    if mapping.date_order not in (*DATE_ORDERS, "auto"):
        orders = ", ".join(("auto", *DATE_ORDERS))
        raise MappingError(f"mapping.date_order: '{mapping.date_order}' is not one of {orders}")
    for name, values in mapping.values.items():
        if name not in MAPPED_VALUE_FIELDS:
            raise MappingError(
                f"mapping.values.{name}: values of this field are not mapped; "
                f"valid: {', '.join(MAPPED_VALUE_FIELDS)}"
            )
        for raw, normalised in values.items():
            if normalised and normalised not in NORMALISED_VALUES[name]:
                allowed_values = ", ".join(NORMALISED_VALUES[name])
                raise MappingError(
                    f"mapping.values.{name}.{raw}: '{normalised}' is not one of {allowed_values}"
                )
    if mapping.paused_unit not in ("minutes", "hours"):
        raise MappingError(
            f"mapping.paused_unit: '{mapping.paused_unit}' is not one of minutes, hours"
        )
    if mapping.paused_time not in PAUSED_TIMES:
        raise MappingError(
            f"mapping.paused_time: '{mapping.paused_time}' is not one of {', '.join(PAUSED_TIMES)}"
        )
    if mapping.default_kind not in NORMALISED_VALUES["kind"]:
        raise MappingError(
            f"mapping.default_kind: '{mapping.default_kind}' is not one of "
            + ", ".join(NORMALISED_VALUES["kind"])
        )
