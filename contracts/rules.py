"""Pure rules of the contract domain: no ORM, plain values in and out, tested exhaustively.

- weekly business-hours windows parsed from "mon-fri: 08:00-17:00" notation;
- the periods and due dates of a recurring commitment;
- the gaps of a responsibility matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# --- Business-hours windows -------------------------------------------------------------------

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_day_spec(spec: str) -> list[str]:
    """'mon-fri' → [mon..fri]; 'sat,sun' → [sat, sun]; 'fri-mon' wraps over the weekend."""
    days: list[str] = []
    for part in spec.lower().replace(" ", "").split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            if first not in WEEKDAYS or last not in WEEKDAYS:
                raise ValueError(f"'{spec}' is not a weekday or range of weekdays (mon … sun)")
            i = WEEKDAYS.index(first)
            while True:
                days.append(WEEKDAYS[i])
                if WEEKDAYS[i] == last:
                    break
                i = (i + 1) % 7
        elif part in WEEKDAYS:
            days.append(part)
        else:
            raise ValueError(f"'{spec}' is not a weekday or range of weekdays (mon … sun)")
    return days


def _minutes(hours: str, minutes: str, day_spec: str, window: str) -> int:
    h, m = int(hours), int(minutes)
    if m >= 60 or h > 24 or (h == 24 and m != 0):
        raise ValueError(f"{day_spec}: '{window}' is not a time window like 08:00-17:00")
    return h * 60 + m


def _hhmm(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def parse_weekly_hours(spec: dict[str, list[str]]) -> dict[str, list[list[str]]]:
    """Normalise {"mon-fri": ["08:00-17:00"]} into {"mon": [["08:00", "17:00"]], ...}.

    An overnight window ("22:00-06:00") is split at midnight into the day and the next day;
    24:00 is a valid end. Overlapping windows on one day are merged. Raises ValueError with a
    message naming the offending key or window.
    """
    minutes_by_day: dict[str, list[tuple[int, int]]] = {day: [] for day in WEEKDAYS}
    for day_spec, windows in spec.items():
        days = parse_day_spec(str(day_spec))
        if isinstance(windows, str):
            windows = [windows]
        for window in windows:
            match = _WINDOW.match(str(window))
            if not match:
                raise ValueError(f"{day_spec}: '{window}' is not a time window like 08:00-17:00")
            start = _minutes(match[1], match[2], day_spec, window)
            end = _minutes(match[3], match[4], day_spec, window)
            if start == 24 * 60:
                raise ValueError(f"{day_spec}: '{window}' starts at 24:00")
            if start == end:
                raise ValueError(f"{day_spec}: '{window}' is empty")
            for day in days:
                if end > start:
                    minutes_by_day[day].append((start, end))
                else:  # overnight: split at midnight
                    minutes_by_day[day].append((start, 24 * 60))
                    if end > 0:
                        next_day = WEEKDAYS[(WEEKDAYS.index(day) + 1) % 7]
                        minutes_by_day[next_day].append((0, end))
    result: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        merged: list[list[int]] = []
        for start, end in sorted(minutes_by_day[day]):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        if merged:
            result[day] = [[_hhmm(a), _hhmm(b)] for a, b in merged]
    return result


# --- Commitment periods -----------------------------------------------------------------------

CADENCE_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def commitment_periods(
    cadence: str, starts: date, ends: date | None, until: date
) -> list[tuple[date, date]]:
    """(period start, due date) for every period from the contract's start up to `until`.

    Periods follow the calendar (a quarterly commitment is due at each quarter's end); the first
    is the one containing the start date, the last the one containing `until`, and none begins
    after the contract ends. Due date = the period's last day.
    """
    months = CADENCE_MONTHS[cadence]
    first_month = ((starts.month - 1) // months) * months + 1
    period_start = date(starts.year, first_month, 1)
    stop = until if ends is None else min(until, ends)
    periods = []
    while period_start <= stop:
        following = _add_months(period_start, months)
        periods.append((period_start, following - timedelta(days=1)))
        period_start = following
    return periods


# --- Responsibility matrix gaps ---------------------------------------------------------------

# The standard areas every matrix must assign, with the other names contracts use for them.
STANDARD_AREAS: dict[str, tuple[str, ...]] = {
    "Monitoring and alerting": ("monitoring",),
    "Incident response and escalation": ("incident response", "escalation"),
    "Routine maintenance and patching": ("patching", "patch management", "routine maintenance"),
    "Service reporting": ("reporting",),
    "Security operations": ("security",),
    "Business-critical applications": ("line-of-business applications", "applications"),
    "Change management": ("changes",),
    "Backups and restore tests": ("backups", "backup and restore", "backup"),
    "User training and phishing simulation": ("user training", "security awareness training"),
    "Vendor management": ("vendors",),
    "Data ownership and access approvals": ("data ownership", "access approvals"),
    "Compliance accountability": ("compliance",),
    "Major-incident authority": ("major incident authority", "major incidents"),
    "Business strategy and risk decisions": ("business strategy", "risk decisions"),
}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


_ALIASES = {
    _norm(alias): name for name, aliases in STANDARD_AREAS.items() for alias in (name, *aliases)
}


def standard_area_for(area: str) -> str | None:
    """The standard area this name stands for, if it is one (case and punctuation ignored)."""
    return _ALIASES.get(_norm(area))


@dataclass(frozen=True)
class AreaRow:
    area: str
    owner: str  # msp | shared | customer | unassigned
    split: str = ""


@dataclass(frozen=True)
class Gap:
    kind: str  # unassigned | no_split | not_approved
    area: str | None
    message: str


def matrix_gaps(rows: list[AreaRow], client_approved: bool, msp_approved: bool) -> list[Gap]:
    """What is missing before the matrix can be relied on, in the order a reader should fix it."""
    gaps: list[Gap] = []
    covered = {standard_area_for(row.area) for row in rows if row.owner != "unassigned"}
    for standard in STANDARD_AREAS:
        if standard not in covered:
            gaps.append(Gap("unassigned", standard, f"{standard}: nobody is assigned"))
    for row in rows:
        if row.owner == "unassigned" and standard_area_for(row.area) is None:
            gaps.append(Gap("unassigned", row.area, f"{row.area}: nobody is assigned"))
        if row.owner == "shared" and not row.split.strip():
            gaps.append(
                Gap("no_split", row.area, f"{row.area}: shared, but the split is not written down")
            )
    missing = [
        side for side, ok in (("the client", client_approved), ("the MSP", msp_approved)) if not ok
    ]
    if missing:
        gaps.append(
            Gap("not_approved", None, "This version is not approved by " + " or ".join(missing))
        )
    return gaps
