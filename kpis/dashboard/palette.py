"""The one palette of every chart (dashboard, QBR page, QBR PDF): each measure keeps its colour
wherever it is drawn, so a reader who learnt "Response is blue" on one chart is never misled on
the next. Colours from the Okabe–Ito set, which stays distinct for colour-blind readers and in
grey print. Green means a good thing (proactive detection, tickets resolved, first-time fix),
never reactive work; the target is always the same dashed dark red. Pure."""

from __future__ import annotations

TARGET = "#b42318"  # dashed, and labelled with its value: never a measure's colour
GRID = "#e5e7eb"

COLOURS: dict[str, str] = {
    # SLA clocks: Response and Resolution never swap.
    "response": "#0072b2",  # blue
    "resolution": "#e69f00",  # orange
    # Volumes.
    "created": "#56b4e9",  # sky blue
    "resolved": "#009e73",  # bluish green
    "backlog": "#4b5563",  # grey
    # Where work came from: found by the MSP (good) against reported by people.
    "proactive": "#009e73",  # bluish green
    "reactive": "#cc79a7",  # reddish purple, not green
    # Quality.
    "first_time_fix": "#56b4e9",
    "repeat": "#d55e00",  # vermillion
    "uptime": "#0072b2",
    # The tier a ticket was resolved at: light to dark as it climbs.
    "tier1": "#a6cee3",
    "tier2": "#1f78b4",
    "tier3": "#08306b",
    # A commitment measured from the MSP's tool reports (evidence/charts.py).
    "measured": "#009e73",  # bluish green
    # A measure with no colour of its own (ticket categories).
    "neutral": "#4b5563",
}

# The order Plotly falls back to for a trace given no colour: the measures' own, most used first.
COLORWAY = [
    COLOURS[name]
    for name in ("response", "resolution", "created", "resolved", "reactive", "repeat")
]


def colour(measure: str) -> str:
    """The colour of a measure; KeyError for one the palette does not know (a new chart picks
    its measure's colour here, so two charts cannot disagree)."""
    return COLOURS[measure]
