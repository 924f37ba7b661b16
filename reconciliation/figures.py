"""The figures an MSP's report states: which KPIs they may be, how people type them ("94.5%",
"4h 30m", "212"), and how each reads beside the portal's own ("MSP reported 98%, measured
91%"). Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass

from kpis.metrics.registry import KPI
from msp_portal.units import duration, duration_minutes

# The figures an MSP's monthly or quarterly report usually states, under the registry's keys.
REPORTED_KEYS = (
    "resolution.compliance",
    "response.compliance",
    "resolution.mean_minutes",
    "response.mean_minutes",
    "tickets.created",
    "tickets.resolved",
)

# How each kind of figure is typed on the entry page.
LARGEST = 1e9  # minutes or tickets: far past any real report, and well inside a float
EXAMPLES = {"rate": "e.g. 94.5%", "minutes": "e.g. 4h 30m", "count": "e.g. 212"}


def reported_value_parse(key: str, text: str) -> float:
    """An entered value in the unit the portal stores: a rate as a fraction ('94.5%' → 0.945),
    a duration in minutes ('4h 30m' → 270), a count as a whole number. ValueError says what
    is wrong in words, naming the figure."""
    kpi = KPI[key]
    text = str(text).strip()
    if kpi.unit == "rate":
        try:
            percent = float(text.removesuffix("%").strip().replace(",", "."))
        except ValueError:
            raise ValueError(f"{kpi.label}: write a percentage, like 94.5%") from None
        if not 0 <= percent <= 100:
            raise ValueError(f"{kpi.label}: a percentage between 0% and 100%, not {text}")
        if not text.endswith("%") and 0 < percent <= 1:
            # 0.98 may be a fraction (98%) or 0.98%: asked again rather than guessed.
            raise ValueError(
                f"{kpi.label}: write {text} with its % sign ({percent * 100:g}% or {text}%)"
            )
        return round(percent / 100, 6)
    if kpi.unit == "minutes":
        try:
            minutes = float(duration_minutes(text))
        except (ValueError, OverflowError):
            raise ValueError(f"{kpi.label}: write a duration, like 4h 30m or 95 min") from None
        if minutes > LARGEST:
            raise ValueError(f"{kpi.label}: {text} is longer than any report's time")
        return minutes
    digits = text.replace(",", "")
    if len(digits) > 12 or not digits.lstrip("-").isascii():
        raise ValueError(f"{kpi.label}: write a whole number of tickets, like 212")
    try:
        count = int(digits)
    except ValueError:
        raise ValueError(f"{kpi.label}: write a whole number of tickets, like 212") from None
    if count < 0:
        raise ValueError(f"{kpi.label}: a number of tickets cannot be negative")
    if count > LARGEST:
        raise ValueError(f"{kpi.label}: {text} is more tickets than any report counts")
    return float(count)


def reported_value_check(key: str, value: float | None) -> None:
    """A value given in the stored unit (the API's): a known figure, in its range (None, which
    removes the figure, is always in range)."""
    if key not in REPORTED_KEYS:
        raise ValueError(f"'{key}' is not a figure an MSP's report is entered under")
    if value is None:
        return
    unit = KPI[key].unit
    if unit == "rate" and not 0 <= value <= 1:
        raise ValueError(f"{key}: a fraction between 0 and 1 (0.945 for 94.5%)")
    if value < 0:
        raise ValueError(f"{key}: cannot be negative")
    if value > LARGEST:
        raise ValueError(f"{key}: at most {LARGEST:.0f}")
    if unit == "count" and value != int(value):
        raise ValueError(f"{key}: a whole number of tickets")


def value_words(key: str, value: float | None) -> str:
    """A figure as people read it: '94.5%', '4 h 30 min', '212'; '—' for none."""
    if value is None:
        return "—"
    unit = KPI[key].unit
    if unit == "rate":
        return f"{value * 100:.1f}".rstrip("0").rstrip(".") + "%"
    if unit == "minutes":
        return duration(value)
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def value_typed(key: str, value: float | None) -> str:
    """A stored value as the entry page shows it back, in the form it is typed."""
    if value is None:
        return ""
    unit = KPI[key].unit
    if unit == "rate":
        return f"{value * 100:.4f}".rstrip("0").rstrip(".") + "%"
    if unit == "minutes":
        hours, minutes = divmod(round(value), 60)
        return f"{hours}h {minutes}m" if hours else f"{minutes}m"
    return str(int(value))


@dataclass(frozen=True)
class FigureComparison:
    """One figure the MSP reported, beside the portal's measure of the same period."""

    key: str
    reported: float
    measured: float | None

    @property
    def label(self) -> str:
        return KPI[self.key].label

    @property
    def words(self) -> str:
        """'MSP reported 98%, measured 91%'."""
        return (
            f"MSP reported {value_words(self.key, self.reported)}, "
            f"measured {value_words(self.key, self.measured)}"
        )

    @property
    def differs(self) -> bool:
        if self.measured is None:
            return True
        # Compared as people read them: 94.5% reported and 94.52% measured agree.
        return value_words(self.key, self.reported) != value_words(self.key, self.measured)

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "reported": self.reported,
            "measured": self.measured,
            "words": self.words,
        }


def figures_compared(reported: dict[str, float], measured: dict) -> list[FigureComparison]:
    """Each reported figure (in REPORTED_KEYS order) beside the measured value of its key."""
    return [
        FigureComparison(key, reported[key], measured.get(key))
        for key in REPORTED_KEYS
        if key in reported
    ]
