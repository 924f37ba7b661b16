"""How figures read to people, shared by pages, PDFs and the QBR narrative (pure): durations,
money and a ticket's state, never a raw number of minutes or an internal code."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def duration(minutes: float) -> str:
    """Minutes for people: hours under a day, days and hours past 24 h.
    42 → '42 min', 135 → '2 h 15 min', 600 → '10 h', 1440 → '1 day', 3000 → '2 days 2 h'.
    A day is 24 hours of the clock's own time (business time for an SLA clock)."""
    total = round(float(minutes))
    hours, rest = divmod(total, 60)
    if not hours:
        return f"{rest} min"
    if hours < 10:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    hours = (total + 30) // 60  # to the nearest hour, half up
    if hours < 24:
        return f"{hours} h"
    days, hours = divmod(hours, 24)
    text = f"{days} day{'s' if days != 1 else ''}"
    return f"{text} {hours} h" if hours else text


_DURATION_PART = re.compile(r"(\d+)\s*(days?|d|hours?|h|minutes?|mins?|m)?", re.IGNORECASE)
_DURATION_UNITS = {"d": 24 * 60, "h": 60, "m": 1}


def duration_minutes(text: str) -> int:
    """What `duration` writes, read back: '90' (minutes), '4h', '1d 2h', '2 days 2 h',
    '1 h 30 min' → minutes (a day is 24 hours). Raises ValueError for anything else."""
    rest, total = str(text).strip(), 0
    if not rest:
        raise ValueError("empty")
    while rest:
        match = _DURATION_PART.match(rest)
        if match is None:
            raise ValueError(text)
        unit = (match[2] or "m")[0].lower()
        total += int(match[1]) * _DURATION_UNITS[unit]
        rest = rest[match.end() :].strip()
    return total


def money(amount, currency: str = "") -> str:
    """An amount with two decimals, thousands separated, after its currency code:
    (841, 'USD') → 'USD 841.00'; None → '—'."""
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return "—"
    text = f"{value:,.2f}"
    return f"{currency} {text}" if currency else text


def state_once(name: str, raw: str) -> str:
    """A ticket's state said once: the portal's name for it, with the export's own word only
    when that adds something. ('Closed', 'Closed (resolved)') → 'Closed';
    ('Paused', 'Awaiting customer') → 'Paused (Awaiting customer)'; ('', 'Gone') → 'Gone'."""
    name, raw = (name or "").strip(), (raw or "").strip()
    if not name:
        return raw or "—"
    if not raw or name.lower() in raw.lower() or raw.lower() in name.lower():
        return name
    return f"{name} ({raw})"
