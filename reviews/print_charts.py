"""The dashboard's figures laid out for paper: drawn narrower with larger type so the text is
about 10 pt once the SVG is scaled to the page's column, no logarithmic axes (a board reads a
linear scale), and every target line labelled. Pure: a figure dict in, a new one out; the
figures themselves (kpis/dashboard/charts.py) are not changed.
"""

from __future__ import annotations

import copy
import math

# Drawn at this size in CSS pixels, then scaled to the column (about 180 mm on A4 and Letter):
# 15 px type comes out near 10 pt, tick labels near 9 pt.
PRINT_WIDTH, PRINT_HEIGHT = 720, 330
FONT_SIZE, TICK_SIZE = 15, 13
TARGET_COLOUR = "#b42318"
# On a linear scale a few very long tickets would flatten every box: the axis stops at the
# 95th percentile (or the highest target) and says how many tickets are beyond it.
CLIP_PERCENTILE = 0.95


def print_figure(figure: dict) -> dict:
    """A copy of the figure for print: larger type, linear axes, labelled targets."""
    fig = copy.deepcopy(figure)
    layout = fig.setdefault("layout", {})
    layout["width"], layout["height"] = PRINT_WIDTH, PRINT_HEIGHT
    layout["font"] = {**layout.get("font", {}), "size": FONT_SIZE, "color": "#1a1a1a"}
    layout["margin"] = {"t": 30, "r": 20, "b": 70, "l": 70}
    layout["legend"] = {
        **layout.get("legend", {}),
        "orientation": "h",
        "y": -0.25,
        "font": {"size": TICK_SIZE},
    }
    for name in [key for key in layout if key.startswith(("xaxis", "yaxis"))]:
        axis = layout[name]
        axis["tickfont"] = {**axis.get("tickfont", {}), "size": TICK_SIZE}
        axis["automargin"] = True
        if axis.get("type") == "log":
            _linear(fig, name)
    _label_target_lines(layout)
    for trace in fig.get("data", []):
        if trace.get("name") == "Target":  # target marks say so in the legend
            trace["showlegend"] = True
    return fig


def _linear(fig: dict, axis_name: str) -> None:
    """A log axis made linear, clipped above the bulk of the values with a note of what is off
    the scale."""
    axis = fig["layout"][axis_name]
    axis["type"] = "linear"
    for key in ("tickvals", "ticktext", "range"):
        axis.pop(key, None)
    letter = axis_name[0]
    values = sorted(
        v
        for trace in fig.get("data", [])
        if trace.get("type") == "box"
        for v in trace.get(letter) or []
        if isinstance(v, int | float)
    )
    marks = [
        v
        for trace in fig.get("data", [])
        if trace.get("name") == "Target"
        for v in trace.get(letter) or []
        if isinstance(v, int | float)
    ]
    if not values:
        return
    cut = values[min(len(values) - 1, math.ceil(CLIP_PERCENTILE * len(values)) - 1)]
    top = max([cut, *marks]) * 1.1
    beyond = [v for v in values if v > top]
    if not beyond:
        return
    axis["range"] = [0, top]
    fig["layout"].setdefault("annotations", []).append(
        {
            "xref": "paper",
            "yref": "paper",
            "x": 1,
            "y": 1.06,
            "xanchor": "right",
            "showarrow": False,
            "font": {"size": TICK_SIZE, "color": "#555555"},
            "text": f"{len(beyond)} ticket{'s' if len(beyond) != 1 else ''} above the scale "
            f"(longest {beyond[-1]:,.0f} h)",
        }
    )


def _label_target_lines(layout: dict) -> None:
    """A horizontal dashed line across the plot is a target: write its value on it."""
    notes = layout.setdefault("annotations", [])
    if any("Target" in str(note.get("text", "")) for note in notes):
        return
    for shape in layout.get("shapes", []):
        if shape.get("type") != "line" or shape.get("y0") != shape.get("y1"):
            continue
        y = shape["y0"]
        notes.append(
            {
                "xref": "paper",
                "yref": shape.get("yref", "y"),
                "x": 1,
                "y": y,
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "bgcolor": "rgba(255,255,255,0.85)",
                "font": {"size": TICK_SIZE, "color": TARGET_COLOUR},
                "text": f"Target {y:g}%",
            }
        )
