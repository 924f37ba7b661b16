"""Template filters for figures: fractions shown as percentages, minutes as hours and days,
money with its currency, KPIs and risks by their names (never a key or a fingerprint)."""

from decimal import Decimal, InvalidOperation

from django import template

from kpis.metrics.registry import KPI
from kpis.metrics.risk_words import risk_name as _risk_name
from kpis.metrics.risk_words import risk_words as _risk_words
from msp_portal.units import duration, state_once
from msp_portal.units import money as _money

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
    if unit == "ratio" and isinstance(value, int | float):
        return f"{value:,.2f}"
    if unit == "shares" and isinstance(value, dict):
        # The tier mix: {"1": 0.7, "2": 0.25, "3": 0.05} → "tier 1 70%, tier 2 25%, tier 3 5%".
        return ", ".join(f"tier {tier} {percent(share)}" for tier, share in sorted(value.items()))
    if unit == "money" and isinstance(value, dict):
        return _money(value.get("amount"), value.get("currency", ""))
    return str(value)


@register.filter
def money(amount, currency: str = "") -> str:
    """{{ credits.amount|money:credits.currency }} → 'USD 841.00'."""
    return _money(amount, currency or "")


@register.filter
def kpi_label(key: str) -> str:
    """A KPI by its name on the scorecard: 'resolution.compliance' → 'Resolution SLA
    compliance'; an unknown key is left as it came."""
    kpi = KPI.get(key)
    return kpi.label if kpi else key


@register.simple_tag
def risk(cluster: dict) -> str:
    """A recurring risk in plain words (kpis/metrics/risk_words.py)."""
    return _risk_words(
        cluster.get("fingerprint", ""),
        cluster.get("count", 0),
        cluster.get("first"),
        cluster.get("last"),
    )


@register.filter
def risk_name(fingerprint: str) -> str:
    """What a fingerprint is about and its category: 'SRV-FILE01 — backup'."""
    name, category = _risk_name(fingerprint or "")
    return f"{name} — {category}" if category else name


@register.simple_tag
def ticket_state(ticket) -> str:
    """The ticket's state once (the export's word only when it adds something)."""
    return state_once(ticket.get_state_display(), ticket.status_raw)


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
