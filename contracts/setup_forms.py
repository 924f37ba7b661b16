"""Forms of the setup pages: each reads its part of a contract file from plain words.

A form only parses: `section()` gives its part of the contract file, and the service rebuilds
the whole file and applies it (contracts/services/contract_setup.py). Errors name the field in
plain words; what only the whole file can tell is said at the top of the page.
"""

from __future__ import annotations

from datetime import date

from django import forms

from contracts.contract_file import _zones
from contracts.models import Contract
from contracts.rules import WEEKDAYS
from msp_portal.units import duration, duration_minutes

PRIORITIES = ("P1", "P2", "P3", "P4")
PRIORITY_WORDS = {"P1": "P1 (critical)", "P2": "P2 (high)", "P3": "P3 (medium)", "P4": "P4 (low)"}
CREDIT_MEASURES = [
    ("", "No service credits"),
    ("resolution.compliance", "Resolution within target (share of tickets)"),
    ("response.compliance", "Response within target (share of tickets)"),
]
TIERS = 3


def lines(text: str) -> list[str]:
    """One item a line, blank lines and surrounding spaces dropped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def exact_words(minutes: int) -> str:
    """Minutes as words that read back to the same number ('1 day 2 h 15 min'), for a field;
    `duration` rounds, which is right for reading a figure but would change a target."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{mins} min"] if mins or not parts else []
    return " ".join(parts)


def check_zone(value: str) -> str:
    if value not in _zones():
        raise forms.ValidationError(
            f"“{value}” is not a time zone we know: write it like America/Chicago or Europe/London."
        )
    return value


class DurationField(forms.CharField):
    """A time in minutes, written as '90', '4h', '1d 2h' or '2 days 2 h'."""

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            minutes = duration_minutes(text)
        except ValueError:
            raise forms.ValidationError(
                "Write a time like 30 min, 4h or 1d 2h (a day is 24 hours of the calendar)."
            ) from None
        if minutes <= 0:
            raise forms.ValidationError("The time must be more than zero.")
        return minutes

    def prepare_value(self, value):
        return exact_words(value) if isinstance(value, int) else value


class ListField(forms.CharField):
    """A list written one item a line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value):
        return lines(super().to_python(value))

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value


class ContractForm(forms.Form):
    """The client and the contract's terms: seats, term, zone, price, scope, service credits."""

    client_name = forms.CharField(label="Client name", max_length=200)
    name = forms.CharField(label="Contract name", max_length=200)
    seats_users = forms.IntegerField(label="Users covered", min_value=0, initial=0)
    seats_devices = forms.IntegerField(label="Devices covered", min_value=0, initial=0)
    starts = forms.DateField(label="Starts", widget=forms.DateInput(attrs={"type": "date"}))
    ends = forms.DateField(
        label="Ends", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    timezone = forms.CharField(
        label="Time zone", max_length=64, help_text="e.g. America/Chicago", validators=[check_zone]
    )
    pricing_model = forms.ChoiceField(label="Pricing", choices=Contract.Pricing.choices)
    unit_price = forms.DecimalField(
        label="Price per user or device a month", required=False, min_value=0, decimal_places=2
    )
    monthly_fee = forms.DecimalField(
        label="Flat fee a month", required=False, min_value=0, decimal_places=2
    )
    currency = forms.RegexField(
        label="Currency",
        regex=r"^[A-Z]{3}$",
        initial="USD",
        error_messages={"invalid": "Write the three capital letters of the currency, e.g. USD."},
    )
    in_scope = ListField(label="In scope", required=False, help_text="One service a line")
    exclusions = ListField(label="Excluded", required=False, help_text="One item a line")
    credit_measure = forms.ChoiceField(
        label="Service credits are earned on", choices=CREDIT_MEASURES, required=False
    )
    credit_period = forms.ChoiceField(
        label="Credits counted per", choices=Contract.CreditPeriod.choices, initial="month"
    )
    credit_cap_percent = forms.DecimalField(
        label="Credits at most (% of the fee)", required=False, min_value=0, max_value=100
    )
    dispute_window_days = forms.IntegerField(
        label="The MSP answers a dispute within (business days)",
        min_value=1,
        max_value=60,
        initial=10,
        required=False,
        help_text="Left empty: 10",
    )
    dispute_unanswered = forms.ChoiceField(
        label="A dispute left unanswered by then is",
        choices=Contract.UnansweredDispute.choices,
        initial=Contract.UnansweredDispute.ACCEPTED,
        required=False,
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(1, TIERS + 1):
            self.fields[f"tier_{n}_below"] = forms.DecimalField(
                label=f"Tier {n}: when below (%)", required=False, min_value=0, max_value=100
            )
            self.fields[f"tier_{n}_credit"] = forms.DecimalField(
                label=f"Tier {n}: credit (% of the fee)", required=False, min_value=0, max_value=100
            )
        if editing:
            # A contract is known by its client, MSP and name: a new name is a new contract.
            self.fields["name"].disabled = True

    def clean(self):
        data = super().clean()
        ends, starts = data.get("ends"), data.get("starts")
        if ends and starts and ends < starts:
            self.add_error("ends", "The contract cannot end before it starts.")
        model = data.get("pricing_model")
        if model == Contract.Pricing.FLAT_FEE and not data.get("monthly_fee"):
            self.add_error("monthly_fee", "A flat-fee contract needs its fee a month.")
        if model and model != Contract.Pricing.FLAT_FEE and not data.get("unit_price"):
            self.add_error("unit_price", "This pricing needs the price per user or device.")
        tiers = []
        for n in range(1, TIERS + 1):
            below, credit = data.get(f"tier_{n}_below"), data.get(f"tier_{n}_credit")
            if (below is None) != (credit is None):
                self.add_error(f"tier_{n}_credit" if below else f"tier_{n}_below", "Give both.")
            elif below is not None and (below <= 0 or credit <= 0):
                self.add_error(f"tier_{n}_below", "Both percentages must be more than zero.")
            elif below is not None:
                tiers.append({"below": float(below) / 100, "credit_percent": float(credit)})
        if data.get("credit_measure") and not tiers:
            self.add_error("tier_1_below", "Service credits need at least one tier.")
        data["tiers"] = tiers
        return data

    def section(self) -> dict:
        """The client's name and seats and the `contract` block of the file."""
        d = self.cleaned_data
        pricing = {"model": d["pricing_model"], "currency": d["currency"]}
        if d["pricing_model"] == Contract.Pricing.FLAT_FEE:
            pricing["monthly_fee"] = d["monthly_fee"]
        else:
            pricing["unit_price"] = d["unit_price"]
        block = {
            "name": d["name"],
            "starts": d["starts"],
            "ends": d["ends"],
            "timezone": d["timezone"],
            "pricing": pricing,
            "in_scope": d["in_scope"],
            "exclusions": d["exclusions"],
            "disputes": {
                "response_window_business_days": d["dispute_window_days"] or 10,
                "unanswered": d["dispute_unanswered"] or Contract.UnansweredDispute.ACCEPTED,
            },
        }
        if d["credit_measure"]:
            block["service_credits"] = {
                "measure": d["credit_measure"],
                "period": d["credit_period"],
                "tiers": d["tiers"],
                "cap_percent": d["credit_cap_percent"],
            }
        seats = {"users": d["seats_users"], "devices": d["seats_devices"]}
        return {"client_name": d["client_name"], "seats": seats, "contract": block}

    @staticmethod
    def initial_from(document: dict) -> dict:
        block, credits = document["contract"], document["contract"].get("service_credits") or {}
        disputes = block.get("disputes") or {}
        initial = {
            "client_name": document["client"]["name"],
            "name": block["name"],
            "seats_users": document["client"]["seats"]["users"],
            "seats_devices": document["client"]["seats"]["devices"],
            "starts": block["starts"],
            "ends": block["ends"],
            "timezone": block["timezone"],
            "pricing_model": block["pricing"]["model"],
            "unit_price": block["pricing"].get("unit_price"),
            "monthly_fee": block["pricing"].get("monthly_fee"),
            "currency": block["pricing"]["currency"],
            "in_scope": block["in_scope"],
            "exclusions": block["exclusions"],
            "credit_measure": credits.get("measure", ""),
            "credit_period": credits.get("period", "month"),
            "credit_cap_percent": credits.get("cap_percent"),
            "dispute_window_days": disputes.get("response_window_business_days", 10),
            "dispute_unanswered": disputes.get("unanswered", "accepted"),
        }
        for n, tier in enumerate(credits.get("tiers", [])[:TIERS], start=1):
            initial[f"tier_{n}_below"] = round(tier["below"] * 100, 2)
            initial[f"tier_{n}_credit"] = tier["credit_percent"]
        return initial


class EffectiveForm(forms.Form):
    """From when changed calendars or SLA terms apply: a new SLA version starts that day. It is
    a proposal both sides approve; a correction of agreed terms may reach back (agreement.py)."""

    effective_from = forms.DateField(
        label="Applies to tickets created from", widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(
        label="Why the change (shown to whoever approves it)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    correction = forms.BooleanField(
        label="This corrects an error in the agreed terms: it may change verdicts already given",
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("correction") and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Say which error the correction puts right.")
        return cleaned

    def agreement(self) -> dict:
        """What contract_apply takes about the change: its reason, or the correction's."""
        reason = (self.cleaned_data.get("reason") or "").strip()
        if self.cleaned_data.get("correction"):
            return {"correction": reason}
        return {"reason": reason}


class SlaForm(EffectiveForm):
    """Targets per priority, each on a calendar; pause states, repeat window, uptime targets."""

    pause_states = ListField(
        label="The resolution clock pauses while a ticket is",
        required=False,
        help_text="One ticket status a line, as your ticket system writes it",
    )
    repeat_window_days = forms.IntegerField(
        label="A ticket repeats an earlier one within (days)",
        min_value=30,
        max_value=60,
        initial=30,
    )
    uptime = ListField(
        label="Uptime targets",
        required=False,
        help_text="One service a line: Email and collaboration: 99.9%",
    )

    def __init__(self, *args, calendars: list[str], with_effective: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_effective:
            # A new contract's SLA starts with the contract; nothing was agreed to correct.
            for name in ("effective_from", "reason", "correction"):
                del self.fields[name]
        choices = [(key, key) for key in calendars]
        for p in PRIORITIES:
            words = PRIORITY_WORDS[p]
            # In a table row: each input carries its label for screen readers.
            for name, words_after, field in (
                ("response", "respond within", DurationField),
                ("resolution", "resolve within", DurationField),
            ):
                label = f"{words}: {words_after}"
                self.fields[f"{p}_{name}"] = field(
                    label=label, widget=forms.TextInput({"aria-label": label, "size": 10})
                )
            label = f"{words}: clock runs on"
            self.fields[f"{p}_calendar"] = forms.ChoiceField(
                label=label, choices=choices, widget=forms.Select({"aria-label": label})
            )

    def priority_rows(self):
        """(priority words, response, resolution, calendar) bound fields, a row per priority."""
        return [
            (
                PRIORITY_WORDS[p],
                self[f"{p}_response"],
                self[f"{p}_resolution"],
                self[f"{p}_calendar"],
            )
            for p in PRIORITIES
        ]

    def in_words(self) -> list[tuple[str, str, str]]:
        """The saved targets read back as words, so a typo of a unit shows at once."""
        if not self.is_bound or not self.is_valid():
            return []
        d = self.cleaned_data
        return [
            (PRIORITY_WORDS[p], duration(d[f"{p}_response"]), duration(d[f"{p}_resolution"]))
            for p in PRIORITIES
        ]

    def clean_uptime(self):
        services = []
        for line in self.cleaned_data["uptime"]:
            service, _, target = line.rpartition(":")
            try:
                percent = float(target.strip().rstrip("%"))
            except ValueError:
                percent = -1
            if not service.strip() or not 0 < percent <= 100:
                raise forms.ValidationError(
                    f"“{line}”: write a service and its target, like Email: 99.9%"
                )
            services.append({"service": service.strip(), "target": round(percent / 100, 5)})
        return services

    def section(self) -> dict:
        d = self.cleaned_data
        return {
            "effective_from": d.get("effective_from"),
            "pause_states": d["pause_states"],
            "repeat_window_days": d["repeat_window_days"],
            "targets": {
                p: {
                    "response_minutes": d[f"{p}_response"],
                    "resolution_minutes": d[f"{p}_resolution"],
                    "calendar": d[f"{p}_calendar"],
                }
                for p in PRIORITIES
            },
            "uptime": d["uptime"],
        }

    @staticmethod
    def initial_from(sla: dict) -> dict:
        initial = {
            "effective_from": sla["effective_from"],
            "pause_states": sla["pause_states"],
            "repeat_window_days": sla["repeat_window_days"],
            "uptime": [f"{u['service']}: {u['target'] * 100:g}%" for u in sla["uptime"]],
        }
        for p, target in sla["targets"].items():
            initial[f"{p}_response"] = target["response_minutes"]
            initial[f"{p}_resolution"] = target["resolution_minutes"]
            initial[f"{p}_calendar"] = target["calendar"]
        return initial


def new_contract_initial(today: date) -> tuple[dict, list[dict], dict]:
    """What the new-client page starts from: a contract from today, business hours on weekdays
    and 24x7, and common targets; every value is the consultant's to change."""
    contract = {"starts": today, "currency": "USD", "pricing_model": "per_user"}
    calendars = [
        {"key": "business", **{day: "08:00-17:00" for day in WEEKDAYS[:5]}},
        {"key": "always", "always": True},
    ]
    targets = {"P1": (30, 240, "always"), "P2": (60, 480), "P3": (240, 1440), "P4": (480, 2880)}
    sla = {"effective_from": today, "repeat_window_days": 30}
    for p, (response, resolution, *calendar) in targets.items():
        sla[f"{p}_response"], sla[f"{p}_resolution"] = response, resolution
        sla[f"{p}_calendar"] = calendar[0] if calendar else "business"
    return contract, calendars, sla
