"""Formsets of the setup pages: calendars, the responsibility matrix and commitments.

Like contracts/setup_forms.py they only parse; `section()` gives the formset's part of the
contract file. A row left blank is no row; a row marked for removal is left out of the file.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal

from django import forms

from contracts.models import Commitment
from contracts.rules import STANDARD_AREAS, WEEKDAYS, standard_area_for

from .setup_forms import check_zone

DAY_WORDS = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def day_windows(text: str) -> list[tuple[int, int]]:
    """'08:00-12:00, 13:00-17:00' → minute spans; an overnight window runs to midnight here
    (the file carries it on to the next day). Raises ValidationError naming the window."""
    spans = []
    for window in [w.strip() for w in re.split(r"[,;]", text or "") if w.strip()]:
        match = _WINDOW.match(window)
        hours = [int(match[1]), int(match[3])] if match else []
        mins = [int(match[2]), int(match[4])] if match else []
        if not match or max(hours) > 24 or max(mins) > 59:
            raise forms.ValidationError(f"“{window}” is not a time window like 08:00-17:00.")
        start, end = hours[0] * 60 + mins[0], hours[1] * 60 + mins[1]
        if start == end or start >= 24 * 60 or end > 24 * 60:
            raise forms.ValidationError(f"“{window}” is not a time window like 08:00-17:00.")
        spans.append((start, end if end > start else 24 * 60, window))
    spans.sort()
    for (_, first_end, first), (second_start, _, second) in itertools.pairwise(spans):
        if second_start < first_end:
            raise forms.ValidationError(f"“{first}” and “{second}” overlap.")
    return [(a, b) for a, b, _ in spans]


class CalendarForm(forms.Form):
    """One calendar: 24x7, or windows per weekday in a time zone, minus holidays."""

    key = forms.RegexField(
        label="Calendar name",
        regex=r"^[a-z0-9_-]+$",
        max_length=40,
        error_messages={"invalid": "Use lower-case letters, digits and hyphens, e.g. business."},
    )
    always = forms.BooleanField(label="Around the clock (24x7)", required=False)
    timezone = forms.CharField(
        label="Time zone",
        required=False,
        max_length=64,
        validators=[check_zone],
        help_text="empty: the contract's",
    )
    holiday_country = forms.RegexField(
        label="Public holidays of (country code)",
        regex=r"^[A-Z]{2}$",
        required=False,
        error_messages={"invalid": "Two capital letters, e.g. US or GB."},
    )
    holiday_subdivision = forms.CharField(
        label="State or region code", required=False, max_length=10
    )
    extra_holidays = forms.CharField(
        label="Other days off", required=False, help_text="Dates like 2025-12-24, comma-separated"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day in WEEKDAYS:
            self.fields[day] = forms.CharField(label=DAY_WORDS[day], required=False)

    def day_fields(self):
        return [self[day] for day in WEEKDAYS]

    def clean(self):
        data = super().clean()
        for day in WEEKDAYS:
            try:
                day_windows(data.get(day, ""))
            except forms.ValidationError as exc:
                self.add_error(day, exc)
        if not data.get("key"):
            return data
        closed = not data.get("always") and not any(data.get(day) for day in WEEKDAYS)
        if closed and not self.errors:
            self.add_error(None, "Give the hours of at least one day, or tick 24x7.")
        country, region = data.get("holiday_country"), data.get("holiday_subdivision")
        if country:
            import holidays

            supported = holidays.list_supported_countries()
            if country not in supported:
                self.add_error("holiday_country", f"We have no public holidays for {country}.")
            elif region and region not in supported[country]:
                self.add_error("holiday_subdivision", f"{region} is not a region of {country}.")
        elif region:
            self.add_error("holiday_country", "Give the country of this region.")
        extra = []
        for text in [t.strip() for t in (data.get("extra_holidays") or "").split(",") if t.strip()]:
            try:
                extra.append(date.fromisoformat(text))
            except ValueError:
                self.add_error("extra_holidays", f"“{text}” is not a date like 2025-12-24.")
        data["extra"] = extra
        return data

    def block(self) -> dict:
        d = self.cleaned_data
        holidays = {
            "country": d["holiday_country"] or None,
            "subdivision": d["holiday_subdivision"] or None,
            "extra": d["extra"],
        }
        if d["always"]:
            return {"always": True, "holidays": holidays}
        hours = {
            day: [w.strip() for w in re.split(r"[,;]", d[day]) if w.strip()]
            for day in WEEKDAYS
            if d[day]
        }
        return {"timezone": d["timezone"], "hours": hours, "holidays": holidays}

    @staticmethod
    def initial_from(key: str, block: dict) -> dict:
        holidays = block.get("holidays") or {}
        initial = {
            "key": key,
            "always": bool(block.get("always")),
            "timezone": block.get("timezone") or "",
            "holiday_country": holidays.get("country") or "",
            "holiday_subdivision": holidays.get("subdivision") or "",
            "extra_holidays": ", ".join(str(d) for d in holidays.get("extra", [])),
        }
        for day, windows in (block.get("hours") or {}).items():
            initial[day] = ", ".join(windows)
        return initial


class _Sections(forms.BaseFormSet):
    """A formset whose filled rows (not marked for removal) make one section of the file."""

    main_field = "name"  # a row without it is a blank row

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove"

    def kept(self):
        return [
            f
            for f in self.forms
            if f.is_valid()
            and f.cleaned_data.get(self.main_field)
            and not f.cleaned_data.get("DELETE")
        ]

    def _unique(self, field: str, words: str):
        seen: set[str] = set()
        for form in self.kept():
            value = form.cleaned_data[field].casefold()
            if value in seen:
                form.add_error(field, f"This {words} appears twice.")
            seen.add(value)


class CalendarFormSet(_Sections):
    main_field = "key"

    def clean(self):
        if any(self.errors):
            return
        self._unique("key", "calendar name")
        if not self.kept():
            raise forms.ValidationError("Keep at least one calendar.")

    def keys(self) -> list[str]:
        """The calendar names as posted (or shown), for the SLA form's choices."""
        if not self.is_bound:
            return [f.initial["key"] for f in self.forms if f.initial.get("key")]
        names = (self.data.get(f"{f.prefix}-key", "").strip() for f in self.forms)
        return [name for name in names if name]

    def section(self, contract_zone: str) -> dict:
        blocks = {}
        for form in self.kept():
            block = form.block()
            if not block.get("always") and not block.get("timezone"):
                block["timezone"] = contract_zone
            blocks[form.cleaned_data["key"]] = block
        return blocks


class MatrixRowForm(forms.Form):
    """One area of the matrix: its owner, how a shared one is split, its ticket categories."""

    OWNERS = [
        ("", "Not assigned yet"),
        ("msp", "MSP"),
        ("shared", "Shared"),
        ("customer", "Client"),
    ]
    area = forms.CharField(label="Area", max_length=200)
    owner = forms.ChoiceField(label="Owner", choices=OWNERS, required=False)
    split = forms.CharField(
        label="How a shared area is split", required=False, widget=forms.Textarea({"rows": 2})
    )
    categories = forms.CharField(
        label="Ticket categories in this area",
        required=False,
        help_text="Comma-separated, as your ticket system writes them",
    )

    def clean_categories(self):
        text = self.cleaned_data["categories"]
        return [c.strip() for c in text.split(",") if c.strip()]


class MatrixFormSet(_Sections):
    main_field = "area"

    def clean(self):
        if any(self.errors):
            return
        self._unique("area", "area")
        owner_of: dict[str, str] = {}
        for form in self.kept():
            for category in form.cleaned_data["categories"]:
                other = owner_of.setdefault(category.casefold(), form.cleaned_data["area"])
                if other != form.cleaned_data["area"]:
                    form.add_error("categories", f"“{category}” is already in {other}.")

    def section(self) -> list[dict]:
        """The assigned areas; an area without an owner stays a gap and is not written."""
        return [
            {
                "area": f.cleaned_data["area"],
                "owner": f.cleaned_data["owner"],
                "split": f.cleaned_data["split"] or None,
                "categories": f.cleaned_data["categories"],
            }
            for f in self.kept()
            if f.cleaned_data["owner"]
        ]

    def flags(self) -> list[str]:
        """What may be saved but is not settled: shared areas without a written split."""
        return [
            f"{f.cleaned_data['area']}: shared, but the split is not written down."
            for f in self.kept()
            if f.cleaned_data["owner"] == "shared" and not f.cleaned_data["split"]
        ]


def matrix_initial(rows: list[dict]) -> list[dict]:
    """The stored areas, then every standard area not yet among them, unassigned."""
    initial = [
        {
            "area": r["area"],
            "owner": r["owner"],
            "split": r.get("split") or "",
            "categories": ", ".join(r.get("categories") or []),
        }
        for r in rows
    ]
    covered = {standard_area_for(r["area"]) for r in rows}
    initial += [{"area": area, "owner": ""} for area in STANDARD_AREAS if area not in covered]
    return initial


class CommitmentForm(forms.Form):
    """A recurring promise: what, how often, whose, and whether evidence must be uploaded."""

    # The selects start on their first choice, so a blank row left alone is still unchanged.
    name = forms.CharField(label="Commitment", max_length=200)
    cadence = forms.ChoiceField(
        label="How often", choices=Commitment.Cadence.choices, initial="monthly"
    )
    owner = forms.ChoiceField(
        label="Whose",
        choices=[("msp", "MSP"), ("customer", "Client"), ("shared", "Shared")],
        initial="msp",
    )
    evidence = forms.BooleanField(label="Evidence required", required=False)
    # Measured from the MSP's tool reports instead of recorded by hand (docs/evidence.md).
    measured_by = forms.ChoiceField(
        label="Kept or missed by",
        choices=[("", "Recorded by hand")]
        + [
            (value, label)
            for value, label in Commitment._meta.get_field("measured_by").choices
            if value
        ],
        required=False,
    )
    within_days = forms.IntegerField(
        label="Within days",
        min_value=0,
        max_value=3650,
        required=False,
        help_text="patches: installed within; backups: longest time without a good backup",
    )
    severities = forms.CharField(
        label="Patch severities",
        max_length=200,
        required=False,
        help_text="separated by commas; blank: critical",
    )
    target_percent = forms.DecimalField(
        label="At least (%)",
        min_value=Decimal("0.01"),
        max_value=100,
        decimal_places=2,
        required=False,
    )
    limit_percent = forms.DecimalField(
        label="At most (%)",
        min_value=0,
        max_value=100,
        decimal_places=2,
        required=False,
        help_text="the phishing click rate",
    )
    credit_percent = forms.DecimalField(
        label="Credit when missed (% of the monthly fee)",
        min_value=0,
        max_value=100,
        decimal_places=2,
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("measured_by") in ("patches", "backups") and data.get("within_days") is None:
            self.add_error("within_days", "Give the number of days this measure allows.")
        if data.get("credit_percent") and data.get("owner") != "msp":
            self.add_error(
                "credit_percent", "Only a commitment the MSP owns credits the client when missed."
            )
        return data


def _measured_block(data: dict) -> dict | None:
    """The contract file's `measured` block from a commitment row, or None (by hand)."""
    if not data.get("measured_by"):
        return None
    block: dict = {"by": data["measured_by"]}
    if data.get("within_days") is not None:
        block["within_days"] = data["within_days"]
    if data["measured_by"] == "patches":
        block["severities"] = [
            s.strip() for s in (data.get("severities") or "critical").split(",") if s.strip()
        ]
    for bound in ("target_percent", "limit_percent"):
        if data.get(bound) is not None:
            block[bound] = float(data[bound])
    return block


def commitment_initial(block: dict) -> dict:
    """A commitment of the contract file as a row of the setup page."""
    measured = block.get("measured") or {}
    return {
        "name": block["name"],
        "cadence": block["cadence"],
        "owner": block["owner"],
        "evidence": block["evidence"] == "required",
        "measured_by": measured.get("by", ""),
        "within_days": measured.get("within_days"),
        "severities": ", ".join(measured.get("severities") or []),
        "target_percent": measured.get("target_percent"),
        "limit_percent": measured.get("limit_percent"),
        "credit_percent": block.get("credit_percent"),
    }


class CommitmentFormSet(_Sections):
    # Whether the contract has service-credit terms (its credit period and cap): a
    # commitment's credit needs them. Set by the page from the contract.
    has_credit_terms = True

    def clean(self):
        if not any(self.errors):
            self._unique("name", "commitment")
            if not self.has_credit_terms:
                for form in self.kept():
                    if form.cleaned_data.get("credit_percent"):
                        form.add_error(
                            "credit_percent",
                            "The contract has no service-credit terms (their period and cap): "
                            "set them on the contract's terms page first.",
                        )

    def section(self) -> list[dict]:
        rows = []
        for f in self.kept():
            data = f.cleaned_data
            row = {
                "name": data["name"],
                "cadence": data["cadence"],
                "owner": data["owner"],
                "evidence": "required" if data["evidence"] else "optional",
            }
            measured = _measured_block(data)
            if measured is not None:
                row["measured"] = measured
            if data.get("credit_percent"):
                row["credit_percent"] = float(data["credit_percent"])
            rows.append(row)
        return rows


def calendar_formset(**kwargs):
    return forms.formset_factory(CalendarForm, formset=CalendarFormSet, extra=1, can_delete=True)(
        prefix="cal", **kwargs
    )


def matrix_formset(**kwargs):
    return forms.formset_factory(MatrixRowForm, formset=MatrixFormSet, extra=3)(
        prefix="area", **kwargs
    )


def commitment_formset(**kwargs):
    factory = forms.formset_factory(
        CommitmentForm, formset=CommitmentFormSet, extra=2, can_delete=True
    )
    return factory(prefix="commitment", **kwargs)
