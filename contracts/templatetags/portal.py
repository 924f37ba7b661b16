"""Template filters for figures: fractions shown as percentages, minutes as hours."""

from decimal import Decimal, InvalidOperation

from django import template

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
