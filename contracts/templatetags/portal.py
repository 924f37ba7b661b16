"""Template filters for figures: fractions shown as percentages, minutes as hours."""

from decimal import Decimal, InvalidOperation

from django import template

from msp_portal.units import duration

register = template.Library()


@register.filter
def percent(value, digits=1):
    """0.9985 → '99.85%' (trailing zeros dropped); None → '—'."""
    if value is None or value == "":
        return "—"
    try:
        scaled = Decimal(str(value)) * 100
    except InvalidOperation:
        return "—"
    text = f"{scaled:.{int(digits)}f}".rstrip("0").rstrip(".")
    return f"{text}%"


@register.filter
def get_item(mapping, key):
    """A dict value by a key held in a variable: {{ names|get_item:kind }}."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag
def figure_value(value, unit: str) -> str:
    """A KPI value as the dashboard shows it; '—' when there is none."""
    if value is None or value == "":
        return "—"
    if unit == "rate":
        return percent(value)
    if unit == "minutes":
        return duration(value)
    if unit == "count":
        return f"{value:,}" if isinstance(value, int) else str(value)
    return str(value)


@register.simple_tag
def minutes_of(seconds) -> str:
    """Business seconds as a duration for people."""
    return duration(seconds / 60)


@register.filter
def business_duration(minutes) -> str:
    """Business minutes as a duration for people; None → '—'."""
    return "—" if minutes is None else duration(minutes)


@register.filter
def get_index(sequence, index):
    """An item of a list by position: {{ values|get_index:forloop.counter0 }}."""
    try:
        return sequence[int(index)]
    except (IndexError, TypeError, ValueError):
        return None


@register.filter
def split(text: str) -> list[str]:
    return text.split()


@register.filter
def inert_figures(figures):
    """Plotly figures with every string escaped, for plotly.js: `{{ figures|inert_figures|
    json_script:"…" }}` (kpis/dashboard/chart_text.py says why)."""
    from kpis.dashboard.chart_text import figure_inert

    return figure_inert(figures)
