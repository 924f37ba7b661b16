"""The contract-as-a-file format (see docs/contract-file.md): parse, validate, name every bad key.

`contract_file_parse(text)` returns a validated `ContractFile` or raises `ContractFileError`
whose messages each start with the key path, e.g.
"sla.targets.P2.resolution_minutes: must be a positive integer".
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from .rules import parse_weekly_hours

CREDIT_MEASURES = ("resolution.compliance", "response.compliance")

# The measures a contract may set a target for (`contract.targets`), with how the target is
# written: a rate as a fraction (0.7 for 70%), a time in business minutes. Which way is better
# comes from the KPI registry (kpis/metrics/registry.py; a test keeps the two in step): a
# higher-is-better target is a floor ("at least"), a lower-is-better one a ceiling ("at most").
TARGET_UNITS = {
    "resolution.compliance": "rate",
    "response.compliance": "rate",
    "response.median_minutes": "minutes",
    "resolution.median_minutes": "minutes",
    "response.mean_minutes": "minutes",
    "resolution.mean_minutes": "minutes",
    "first_time_fix_rate": "rate",
    "repeat_incident_rate": "rate",
    "proactive_ratio": "rate",
    "reopen_rate": "rate",
    "escalation.rate": "rate",
    "commitments.kept_rate": "rate",
}


class ContractFileError(Exception):
    """A contract file that cannot be applied; `problems` lists 'key.path: message' lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
PositiveInt = Annotated[StrictInt, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]
Percent = Annotated[float, Field(gt=0, le=100)]


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"'{value}' is not an IANA time zone (e.g. America/Chicago)")
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError:
        raise ValueError(f"'{value}' is not an IANA time zone") from None
    return value


class Seats(_Strict):
    users: Annotated[StrictInt, Field(ge=0)] = 0
    devices: Annotated[StrictInt, Field(ge=0)] = 0


class OrganisationRef(_Strict):
    slug: Slug
    name: Name


class ClientRef(OrganisationRef):
    seats: Seats = Seats()


class Pricing(_Strict):
    model: Literal["per_user", "per_device", "flat_fee"]
    unit_price: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)] | None = None
    monthly_fee: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"

    @model_validator(mode="after")
    def _price_matches_model(self):
        if self.model == "flat_fee" and self.monthly_fee is None:
            raise ValueError("a flat_fee contract needs monthly_fee")
        if self.model != "flat_fee" and self.unit_price is None:
            raise ValueError(f"a {self.model} contract needs unit_price")
        return self


class CreditTier(_Strict):
    below: Fraction
    credit_percent: Percent


class ServiceCredits(_Strict):
    measure: Literal[CREDIT_MEASURES]  # type: ignore[valid-type]
    period: Literal["month", "quarter"] = "month"
    tiers: Annotated[list[CreditTier], Field(min_length=1)]
    cap_percent: Percent | None = None


class Disputes(_Strict):
    """How a dispute is answered (issue 22): the MSP's window in business days of the
    contract's calendar, and what an unanswered dispute becomes when it ends."""

    response_window_business_days: Annotated[int, Field(ge=1, le=60)] = 10
    unanswered: Literal["accepted", "escalated"] = "accepted"


class ContractBlock(_Strict):
    name: Name
    starts: date
    ends: date | None = None
    timezone: str
    pricing: Pricing
    in_scope: list[Name] = []
    exclusions: list[Name] = []
    service_credits: ServiceCredits | None = None
    disputes: Disputes = Disputes()
    targets: dict[str, float] = {}

    _zone = field_validator("timezone")(_check_zone)

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value):
        """Each key a measure that takes a target; a rate a fraction, a time whole minutes."""
        if not isinstance(value, dict):
            return value
        problems = []
        for key, target in value.items():
            unit = TARGET_UNITS.get(key)
            if unit is None:
                problems.append(
                    f"'{key}' is not a measure that takes a target "
                    f"(one of: {', '.join(TARGET_UNITS)})"
                )
            elif isinstance(target, bool) or not isinstance(target, int | float):
                problems.append(f"{key} must be a number, not {target!r}")
            elif unit == "rate" and not 0 <= target <= 1:
                problems.append(f"{key} is a fraction between 0 and 1 (0.7 for 70%), not {target}")
            elif unit == "minutes" and (not float(target).is_integer() or target <= 0):
                problems.append(f"{key} is a positive whole number of minutes, not {target}")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _term(self):
        if self.ends is not None and self.ends < self.starts:
            raise ValueError("ends is before starts")
        return self


class Holidays(_Strict):
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    subdivision: str | None = None
    extra: list[date] = []

    @model_validator(mode="after")
    def _known(self):
        if self.country is None:
            if self.subdivision:
                raise ValueError("subdivision given without country")
            return self
        import holidays

        supported = holidays.list_supported_countries()
        if self.country not in supported:
            raise ValueError(f"country '{self.country}' is not supported by the holidays package")
        if self.subdivision and self.subdivision not in supported[self.country]:
            raise ValueError(
                f"subdivision '{self.subdivision}' is not a subdivision of {self.country}"
            )
        return self


class CalendarBlock(_Strict):
    always: bool = False
    timezone: str | None = None
    hours: dict[str, list[str] | str] = {}
    holidays: Holidays = Holidays()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value):
        if value == "24x7":
            return {"always": True}
        if isinstance(value, str):
            raise ValueError(f"'{value}' is neither 24x7 nor a calendar block")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value):
        return None if value is None else _check_zone(value)

    @field_validator("hours")
    @classmethod
    def _windows(cls, value):
        parse_weekly_hours(value)  # raises ValueError naming the day key and window
        return value

    @model_validator(mode="after")
    def _complete(self):
        if not self.always:
            if not self.timezone:
                raise ValueError("a business-hours calendar needs timezone")
            if not parse_weekly_hours(self.hours):
                raise ValueError(
                    "a business-hours calendar needs hours (e.g. mon-fri: [08:00-17:00])"
                )
        return self

    @property
    def weekly_hours(self) -> dict[str, list[list[str]]]:
        return {} if self.always else parse_weekly_hours(self.hours)


class Target(_Strict):
    response_minutes: PositiveInt
    resolution_minutes: PositiveInt
    calendar: Name


class Uptime(_Strict):
    service: Name
    target: Fraction


class SlaBlock(_Strict):
    effective_from: date
    pause_states: list[Name] = []
    repeat_window_days: Annotated[StrictInt, Field(ge=30, le=60)] = 30
    targets: dict[Literal["P1", "P2", "P3", "P4"], Target]
    uptime: list[Uptime] = []

    @model_validator(mode="after")
    def _all_priorities(self):
        missing = [p for p in ("P1", "P2", "P3", "P4") if p not in self.targets]
        if missing:
            raise ValueError(f"targets for {', '.join(missing)} are missing")
        return self


class Responsibility(_Strict):
    area: Name
    owner: Literal["msp", "shared", "customer"]
    split: str | None = None
    categories: list[Name] = []  # ticket categories in this area (matched case-insensitively)


class MeasuredBlock(_Strict):
    """A commitment kept or missed by the MSP's tool reports (docs/evidence.md)."""

    by: Literal["patches", "backups", "restores", "phishing", "mfa"]
    # patches: installed within N days of release; backups: no device N days without a
    # successful backup.
    within_days: int | None = Field(default=None, ge=0, le=3650)
    severities: list[Annotated[str, Field(min_length=1, max_length=50)]] = ["critical"]
    # At least (patches on time, backup jobs succeeded, phishing reported).
    target_percent: float | None = Field(default=None, gt=0, le=100)
    # At most (the phishing click rate).
    limit_percent: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _days_where_needed(self):
        if self.by in ("patches", "backups") and self.within_days is None:
            raise ValueError(f"within_days: a commitment measured by {self.by} needs it")
        return self


class CommitmentBlock(_Strict):
    name: Name
    cadence: Literal["monthly", "quarterly", "semiannual", "annual"]
    owner: Literal["msp", "customer", "shared"] = "msp"
    evidence: Literal["required", "optional"] = "optional"
    measured: MeasuredBlock | None = None
    # A missed occurrence credits this share of the monthly fee, in the credit period of the
    # contract's service_credits in which it fell due (within its cap).
    credit_percent: Percent | None = None


class ContractFile(_Strict):
    client: ClientRef
    msp: OrganisationRef
    advisor: OrganisationRef | None = None
    contract: ContractBlock
    calendars: dict[Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")], CalendarBlock]
    sla: SlaBlock
    responsibilities: list[Responsibility] = []
    commitments: list[CommitmentBlock] = []

    @model_validator(mode="after")
    def _commitment_credits_need_terms(self):
        shared = [c.name for c in self.commitments if c.credit_percent and c.owner != "msp"]
        if shared:
            raise ValueError(
                f"commitments: {', '.join(shared)} credit the client when missed, but only a "
                "commitment the MSP owns (owner: msp) can"
            )
        if self.contract.service_credits is None:
            credited = [c.name for c in self.commitments if c.credit_percent is not None]
            if credited:
                raise ValueError(
                    f"commitments: a credit_percent is given for {', '.join(credited)}, but "
                    "contract.service_credits is missing (it sets the credit period and cap)"
                )
        return self


_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "string_pattern_mismatch": "has an invalid format",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "date_from_datetime_parsing": "must be a date like 2025-07-01",
    "date_parsing": "must be a date like 2025-07-01",
    "date_type": "must be a date like 2025-07-01",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
}


def _message(error: dict) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    loc = error["loc"]
    if kind == "greater_than" and ctx.get("gt") == 0 and loc and "minutes" in str(loc[-1]):
        return "must be a positive integer"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, not {error.get('input')!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {
            "greater_than": ">",
            "greater_than_equal": "≥",
            "less_than": "<",
            "less_than_equal": "≤",
        }[kind]
        limit = next(iter(ctx.values()))
        return f"must be {bound} {limit}, not {error.get('input')!r}"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "slug":
        return "must be a slug: lower-case letters, digits and hyphens"
    return _MESSAGES.get(kind, error["msg"][:1].lower() + error["msg"][1:])


def _path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-")) or "(top)"


def _cross_checks(parsed: ContractFile) -> list[str]:
    """Rules that span sections: targets name defined calendars, no duplicates in lists."""
    problems = []
    for priority, target in parsed.sla.targets.items():
        if target.calendar not in parsed.calendars:
            defined = ", ".join(sorted(parsed.calendars)) or "none"
            problems.append(
                f"sla.targets.{priority}.calendar: unknown calendar '{target.calendar}' "
                f"(defined: {defined})"
            )
    for section, items, key in (
        ("responsibilities", parsed.responsibilities, "area"),
        ("commitments", parsed.commitments, "name"),
        ("sla.uptime", parsed.sla.uptime, "service"),
    ):
        seen: set[str] = set()
        for index, item in enumerate(items):
            value = getattr(item, key).casefold()
            if value in seen:
                problems.append(f"{section}.{index}.{key}: '{getattr(item, key)}' appears twice")
            seen.add(value)
    slugs = [parsed.client.slug, parsed.msp.slug] + (
        [parsed.advisor.slug] if parsed.advisor else []
    )
    if len(set(slugs)) != len(slugs):
        problems.append("client.slug: client, msp and advisor must be different organisations")
    return problems


def contract_file_parse(text: str, *, filename: str = "") -> ContractFile:
    """Validate a contract file's text (YAML, or JSON when the name ends in .json)."""
    try:
        data = json.loads(text) if filename.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ContractFileError(
            [f"(file): not valid {'JSON' if filename.endswith('.json') else 'YAML'}: {exc}"]
        ) from None
    if not isinstance(data, dict):
        raise ContractFileError(
            ["(top): the file must hold a mapping of sections (client, msp, …)"]
        )
    try:
        parsed = ContractFile.model_validate(data)
    except ValidationError as exc:
        raise ContractFileError(
            [f"{_path(err['loc'])}: {_message(err)}" for err in exc.errors()]
        ) from None
    problems = _cross_checks(parsed)
    if problems:
        raise ContractFileError(problems)
    return parsed
