"""A recurring risk in plain words, from the fingerprint its incidents share (repeats.py builds
them: `ci:<item>|<category>`, `user:<requester>|<category>`, `title:<category>|<title>`, all
lower case). Pages and the QBR name a risk by its device, person or problem and its category,
never by the fingerprint: "SRV-FILE01 — backup, 11 incidents since 6 Jan 2026". Pure."""

from __future__ import annotations

import re
from datetime import date, datetime

# Device names are written in capitals by most PSAs and monitoring tools; the fingerprint keeps
# them in lower case so that "NAS-01" and "nas-01" are one device.
_LOGIN = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)+$")


def _person(requester: str) -> str:
    """'eli.lopez' or 'eli.lopez@acme.example' → 'Eli Lopez'; a written name is kept as is."""
    login = requester.split("@", 1)[0]
    if _LOGIN.match(login):
        return " ".join(part.capitalize() for part in re.split(r"[._-]", login))
    return requester.title() if requester.islower() else requester


def _problem(title: str) -> str:
    """A normalised title ('printer # offline'; digits became '#') read as a quotation."""
    words = [w for w in title.split() if w != "#"]
    return f"“{' '.join(words)}”" if words else "untitled incidents"


def risk_name(fingerprint: str) -> tuple[str, str]:
    """(what the incidents are about, their category) of a fingerprint; an unknown shape is
    returned whole as the name, with no category."""
    kind, _, rest = fingerprint.partition(":")
    first, bar, second = rest.partition("|")
    if not bar or kind not in ("ci", "user", "title"):
        return fingerprint, ""
    if kind == "ci":
        return first.upper(), second
    if kind == "user":
        return _person(first), second
    return _problem(second), first


def _day(value: str | date | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _since(first: date, last: date | None) -> str:
    """'6 Jan' within the last date's year, '6 Jan 2025' across years."""
    text = f"{first.day} {first:%b}"
    return text if last is not None and last.year == first.year else f"{text} {first.year}"


def risk_words(
    fingerprint: str, count: int, first: str | date | None = None, last: str | date | None = None
) -> str:
    """'SRV-FILE01 — backup, 11 incidents since 6 Jan' (the year when `first` and `last`
    differ or `last` is unknown)."""
    name, category = risk_name(fingerprint)
    about = f"{name} — {category}" if category else name
    incidents = f"{count} incident{'s' if count != 1 else ''}"
    start = _day(first)
    if start is None:
        return f"{about}, {incidents}"
    return f"{about}, {incidents} since {_since(start, _day(last))}"
