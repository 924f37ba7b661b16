"""The mapping step of a browser import as a Django form: the page's fields (preset, time zone,
date order, a column per ticket field, a meaning per value seen, pause states, a client per
company, the name to save it as) checked field by field, then turned into mapping JSON for
`mapping_from_json`, which checks the mapping as a whole."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms

from kpis.imports.ingest.mapping import mapping_for_preset
from kpis.imports.ingest.presets import (
    DATE_ORDERS,
    EVENT_FIELDS,
    MAPPED_VALUE_FIELDS,
    NORMALISED_VALUES,
    PRESETS,
    TICKET_FIELDS,
    preset_columns,
    value_guess,
    value_key,
)
from kpis.imports.ingest.value_counts import MAX_LISTED as VALUE_LIMIT

# The fields whose raw values the user maps to normalised ones, in the page's order.
VALUE_FIELDS = MAPPED_VALUE_FIELDS
SAVE_AS_MAX_LENGTH = 100
MAX_LISTED = VALUE_LIMIT  # values of one field a page lists at the most
SKIP = "-skip-"  # the company choice that skips its tickets (no slug has this shape)


class MappingForm(forms.Form):
    """One import's mapping. The column, value and company fields depend on the file: they are
    made from the preview the page shows (its header, the values seen, the companies)."""

    preset = forms.ChoiceField(choices=[(p.name, p.label) for p in PRESETS.values()])
    # The preset the page was showing: a different `preset` is a switch (see mapping_json).
    shown_preset = forms.ChoiceField(
        choices=[(p.name, p.label) for p in PRESETS.values()], required=False
    )
    timezone = forms.CharField(label="Time zone of times without an offset")
    date_order = forms.ChoiceField(
        choices=[("auto", "Detect from the data"), *[(o, o) for o in DATE_ORDERS]],
        required=False,
    )
    # What a row of the file is: any preset can read an event log (docs/imports.md).
    rows_are = forms.ChoiceField(
        choices=[("tickets", "A ticket"), ("updates", "An update of a ticket (an event log)")],
        required=False,
    )
    # The reading the page was showing: a different `rows_are` is the person's choice.
    shown_rows_are = forms.ChoiceField(
        choices=[("tickets", "A ticket"), ("updates", "An update")], required=False
    )
    pause_states = forms.MultipleChoiceField(required=False)
    save_as = forms.CharField(required=False, max_length=SAVE_AS_MAX_LENGTH, strip=True)

    def __init__(self, data, *, preview, client_slugs: list[str]):
        super().__init__(data)
        self.preview = preview
        columns = [("", "— not in this file —"), *[(c, c) for c in preview.table.columns]]
        for name, label in {**TICKET_FIELDS, **EVENT_FIELDS}.items():
            self.fields[f"col__{name}"] = forms.ChoiceField(
                label=label, choices=columns, required=False
            )
        # The values and companies the page listed come back beside the choices made for them
        # (raw__…, rawco__…): the page may have shown another column's values than a fresh
        # preview of the saved mapping would.
        self._values: list[tuple[str, str, str]] = []  # (field, raw, form field name)
        for field_name in VALUE_FIELDS:
            choices = [("", "— unmapped —"), *[(v, v) for v in NORMALISED_VALUES[field_name]]]
            for index, raw in self._listed(data, field_name, "raw"):
                name = f"val__{field_name}__{index}"
                self.fields[name] = forms.ChoiceField(label=raw, choices=choices, required=False)
                self._values.append((field_name, raw, name))
        statuses = [raw for field_name, raw, _ in self._values if field_name == "status"]
        self.fields["pause_states"].choices = [(s, s) for s in statuses]
        self._companies: list[tuple[str, str]] = []  # (company, form field name)
        slugs = [("", "Not chosen"), (SKIP, "Skip these tickets"), *[(s, s) for s in client_slugs]]
        for index, company in self._listed(data, "company", "rawco"):
            name = f"company__{index}"
            self.fields[name] = forms.ChoiceField(label=company, choices=slugs, required=False)
            self._companies.append((company, name))

    @staticmethod
    def _listed(data, group: str, prefix: str) -> list[tuple[int, str]]:
        """(index, raw text) of the values the page listed for a group."""
        try:
            count = min(int(data.get(f"count__{group}") or 0), MAX_LISTED)
        except ValueError:
            count = 0
        key = (
            (lambda i: f"{prefix}__{i}")
            if group == "company"
            else (lambda i: f"{prefix}__{group}__{i}")
        )
        return [(i, data[key(i)]) for i in range(count) if data.get(key(i)) is not None]

    def clean_timezone(self) -> str:
        zone = self.cleaned_data["timezone"].strip()
        if zone not in available_timezones():
            raise forms.ValidationError(
                f"'{zone}' is not a time zone: choose one such as Europe/London or America/Chicago."
            )
        return zone

    def mapping_json(self) -> dict:
        """The mapping the form describes (call after is_valid()). A preset other than the one
        shown keeps the columns chosen on the page for the fields it can fill and brings its
        own guesses for the others; of the value meanings it keeps those the user changed."""
        data = self.cleaned_data
        shown = PRESETS[data.get("shown_preset") or self.preview.mapping.preset]
        preset = PRESETS[data["preset"]]
        header = set(self.preview.table.columns)
        switched = data["preset"] != shown.name
        rows_are = data.get("rows_are") or self._rows_shown()
        if switched and rows_are == self._rows_shown():
            updates = preset.shape == "event"  # a new preset brings its own reading
        else:
            updates = rows_are == "updates"
        # Said only where it differs from how the preset reads its tool's export.
        event_log = updates if updates != (preset.shape == "event") else None
        fields = {**TICKET_FIELDS, **(EVENT_FIELDS if updates else {})}
        chosen = {
            name: data[f"col__{name}"] for name in fields if data.get(f"col__{name}") in header
        }
        # On a switch, a field the page left empty takes the new preset's guess; rows newly read
        # as updates take the guessed update-time, assignee and group columns the page lacked.
        columns = (
            {**preset_columns(preset, self.preview.table.columns), **chosen} if switched else chosen
        )
        if updates and self._rows_shown() != "updates":
            guessed = mapping_for_preset(
                preset, self.preview.table.columns, timezone="UTC", event_log=True
            ).columns
            columns = {**{f: c for f, c in guessed.items() if f in EVENT_FIELDS}, **columns}
        values: dict[str, dict[str, str]] = {}
        for field_name, raw, name in self._values:
            meaning = data.get(name, "")
            if not switched or meaning != (value_guess(field_name, raw, shown) or ""):
                values.setdefault(field_name, {})[value_key(raw)] = meaning
        return {
            "preset": data["preset"],
            "event_log": event_log,
            "timezone": data["timezone"],
            "date_order": data.get("date_order") or "auto",
            "columns": columns,
            "values": values,
            "clients": self.company_choices(),
            "pause_states": list(data.get("pause_states") or []),
        }

    def _rows_shown(self) -> str:
        shown = self.cleaned_data.get("shown_rows_are")
        return shown or ("updates" if self.preview.mapping.shape == "event" else "tickets")

    def company_choices(self) -> dict[str, str | None]:
        """Company → client slug, or None to skip it; a company left unchosen is left out."""
        chosen: dict[str, str | None] = {}
        for company, name in self._companies:
            choice = self.cleaned_data.get(name) or ""
            if choice:
                chosen[company] = None if choice == SKIP else choice
        return chosen

    def companies_unchosen(self) -> list[str]:
        """The companies the page listed that were given neither a client nor "skip"."""
        return [c for c, name in self._companies if not self.cleaned_data.get(name)]

    def errors_by_field(self) -> dict[str, str]:
        """Form field name → its errors as one sentence."""
        return {name: " ".join(errors) for name, errors in self.errors.items()}

    def errors_in_words(self) -> str:
        """Every field error as one sentence per field, named by its label."""
        parts = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            parts.append(f"{label or name.replace('_', ' ').capitalize()}: {' '.join(errors)}")
        return " ".join(parts)
