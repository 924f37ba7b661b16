"""How figures read to people, shared by pages, PDFs and the QBR narrative (pure)."""

from __future__ import annotations


def duration(minutes: float) -> str:
    """Business minutes for people: 42 → '42 min', 135 → '2 h 15 min', 3000 → '50 h'."""
    total = round(float(minutes))
    hours, rest = divmod(total, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest and hours < 10 else f"{hours + (rest >= 30)} h"
