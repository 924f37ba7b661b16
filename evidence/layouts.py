"""What a kind of tool report holds (its fields, which are needed, their words) and the
column names common tools give them (presets). Each kind's module declares one `Layout`
(patches in evidence/presets.py); the reader (evidence/read.py) and the pages work from it.
docs/evidence.md says where each column name comes from and how sure we are of it. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from kpis.imports.ingest.presets import header_key


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    columns: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Layout:
    """One kind of report: its fields in the order the pages list them, those a file must have
    a column for, the words naming each field on pages and in problems, the fields read as
    dates, and the tools' presets ("generic" among them: one column named as the field)."""

    kind: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    field_words: dict[str, str]
    date_fields: tuple[str, ...]
    presets: dict[str, Preset]

    def preset(self, name: str) -> Preset | None:
        return self.presets.get(name)


def presets_of(*presets: Preset) -> dict[str, Preset]:
    return {p.name: p for p in presets}


def columns_found(
    layout: Layout, preset: Preset, header: list[str], mapping: dict[str, str]
) -> dict[str, str]:
    """Field → the file's column for it: the mapping given (column names per field) first,
    then the preset's names, compared without case or punctuation."""
    present = {header_key(h): h for h in header}
    found = {}
    for field_name in layout.fields:
        candidates = [mapping[field_name]] if mapping.get(field_name) else []
        candidates += list(preset.columns.get(field_name, ()))
        for candidate in candidates:
            if header_key(candidate) in present:
                found[field_name] = present[header_key(candidate)]
                break
    return found
