"""Plotly figures of the KPIs, as plain dicts: the dashboard hands them to plotly.js, the QBR to
plotly.js on its web page and to kaleido for the PDF's SVG images, so all three draw the same
figure. Pure: data in (the shapes kpis.dashboard.selectors and reviews.context build), figures out.

Rates arrive as fractions (0.95) and are drawn as percentages; times arrive in minutes and are
drawn in hours on linear axes, which is how people read SLA targets. Colours come from
palette.py (one colour per measure everywhere); every target line carries its value in words.
"""

from __future__ import annotations

from typing import Any

from kpis.dashboard.palette import COLORWAY, GRID, TARGET, colour

TARGET_COLOUR = TARGET
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


def _percent(values: list) -> list:
    return [None if v is None else round(v * 100, 2) for v in values]


def _layout(**extra) -> dict:
    layout: dict[str, Any] = {
        "margin": {"t": 10, "r": 10, "b": 50, "l": 55},
        "height": 300,
        "legend": {"orientation": "h", "y": -0.22},
        # 13 px on a 300 px chart: still about 9 pt when the PDF prints it half a page wide.
        "font": {"family": FONT, "size": 13, "color": "#1f2937"},
        "colorway": COLORWAY,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "xaxis": {"gridcolor": GRID},
        "yaxis": {"gridcolor": GRID},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _target_line(target: float | None, scale: float = 100) -> list[dict]:
    if target is None:
        return []
    y = target * scale
    return [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": y,
            "y1": y,
            "line": {"dash": "dash", "color": TARGET_COLOUR, "width": 2},
        }
    ]


def _target_label(target: float | None, scale: float = 100) -> list[dict]:
    """The words on a target line, at its right end: a dashed line alone says nothing."""
    if target is None:
        return []
    value = f"{target * scale:.2f}".rstrip("0").rstrip(".")
    return [
        {
            "xref": "paper",
            "x": 1,
            "xanchor": "right",
            "y": target * scale,
            "yanchor": "bottom",
            "text": f"target {value}%",
            "showarrow": False,
            "font": {"color": TARGET_COLOUR, "size": 12},
            "bgcolor": "rgba(255,255,255,0.8)",
        }
    ]


def _line(name: str, measure: str, x: list, y: list, **extra) -> dict:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": x,
        "y": y,
        "line": {"color": colour(measure), **extra.pop("line", {})},
        "marker": {"color": colour(measure)},
        **extra,
    }


def _bar(name: str, measure: str, x: list, y: list, **extra) -> dict:
    return {
        "type": "bar",
        "name": name,
        "x": x,
        "y": y,
        "marker": {"color": colour(measure)},
        **extra,
    }


def priority_compliance(priority: dict, target: float | None) -> dict:
    """Response and resolution compliance per priority, with the contract's target line."""
    x = priority["priorities"]
    return {
        "data": [
            _bar("Response", "response", x, _percent(priority["response"])),
            _bar("Resolution", "resolution", x, _percent(priority["resolution"])),
        ],
        "layout": _layout(
            yaxis={"title": {"text": "% within target"}, "range": [0, 100]},
            shapes=_target_line(target),
            annotations=_target_label(target),
        ),
    }


def monthly_volume(trend: dict) -> dict:
    """Tickets created and resolved per month, and the backlog at each month's end."""
    months = trend["months"]
    return {
        "data": [
            _line("Created", "created", months, trend["created"]),
            _line("Resolved", "resolved", months, trend["resolved"]),
            _line("Open at month end", "backlog", months, trend["backlog"], line={"dash": "dot"}),
        ],
        "layout": _layout(yaxis={"title": {"text": "tickets"}}, xaxis={"type": "category"}),
    }


def monthly_compliance(trend: dict, target: float | None) -> dict:
    """Response and resolution SLA compliance per month against the target."""
    months = trend["months"]
    return {
        "data": [
            _line("Response", "response", months, _percent(trend["response_compliance"])),
            _line("Resolution", "resolution", months, _percent(trend["resolution_compliance"])),
        ],
        "layout": _layout(
            yaxis={"title": {"text": "% within target"}, "range": [0, 100]},
            xaxis={"type": "category"},
            shapes=_target_line(target),
            annotations=_target_label(target),
        ),
    }


def proactive_share(trend: dict) -> dict:
    """The share of tickets the MSP found itself (monitoring, alerts) against those reported."""
    proactive = _percent(trend["proactive"])
    reactive = [None if p is None else round(100 - p, 2) for p in proactive]
    return {
        "data": [
            _bar("Proactive", "proactive", trend["months"], proactive),
            _bar("Reactive", "reactive", trend["months"], reactive),
        ],
        "layout": _layout(
            barmode="stack",
            yaxis={"title": {"text": "% of incidents"}, "range": [0, 100]},
            xaxis={"type": "category"},
        ),
    }


def tier_mix(trend: dict) -> dict:
    """The tier resolved tickets were resolved at, per month (shares of 1, 2 and 3): a climbing
    dark band means more work escalated."""
    months = trend["months"]
    tiers = trend.get("tiers") or [None] * len(months)
    data = []
    for tier in ("1", "2", "3"):
        shares = [None if mix is None else mix.get(tier) for mix in tiers]
        data.append(_bar(f"Tier {tier}", f"tier{tier}", months, _percent(shares)))
    return {
        "data": data,
        "layout": _layout(
            barmode="stack",
            yaxis={"title": {"text": "% of resolved tickets"}, "range": [0, 100]},
            xaxis={"type": "category"},
        ),
    }


def quarterly_quality(quarters: dict) -> dict:
    """First-time fix, repeat incidents and proactive detection over the last quarters."""
    labels = quarters["labels"]
    series = [
        ("First-time fix", "first_time_fix", quarters["first_time_fix"]),
        ("Repeat incidents", "repeat", quarters["repeat_rate"]),
        ("Proactive detection", "proactive", quarters["proactive"]),
        ("Resolution SLA compliance", "resolution", quarters["resolution_compliance"]),
    ]
    return {
        "data": [
            _line(name, measure, labels, _percent(values)) for name, measure, values in series
        ],
        "layout": _layout(
            yaxis={"title": {"text": "%"}, "range": [0, 100]}, xaxis={"type": "category"}
        ),
    }


def categories(by_category: dict) -> dict:
    """Tickets raised per category (the largest first) with each one's resolution compliance."""
    names = list(reversed(by_category["names"]))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": "Tickets raised",
                "y": names,
                "x": list(reversed(by_category["created"])),
                "marker": {"color": colour("neutral")},
            },
        ],
        "layout": _layout(
            height=max(220, 40 + 28 * len(names)),
            margin={"l": 140},
            xaxis={"title": {"text": "tickets"}},
            yaxis={"type": "category", "automargin": True},
            showlegend=False,
        ),
    }


def _time_boxes(times: dict, measure: str, axis_title: str) -> dict:
    """Each ticket's business time per priority as a box, in hours on a linear scale (owners
    read a linear axis; a log one made a 40-hour breach look close to a 4-hour target), with
    each priority's target as a labelled mark."""
    data = [
        {
            "type": "box",
            "name": priority,
            "y": [round(m / 60, 4) for m in minutes],
            "boxpoints": "outliers",
            "marker": {"color": colour(measure)},
            "line": {"color": colour(measure)},
            "showlegend": False,
        }
        for priority, minutes in zip(times["priorities"], times["minutes"], strict=True)
    ]
    targets = [(p, t) for p, t in zip(times["priorities"], times["targets"], strict=True) if t]
    if targets:
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": "Target",
                "x": [p for p, _ in targets],
                "y": [round(t / 60, 2) for _, t in targets],
                # The legend says "Target"; the mark carries its value, above it so that it
                # never runs into the next priority's box.
                "text": [_hours(t) for _, t in targets],
                "textposition": "top center",
                "textfont": {"color": TARGET_COLOUR, "size": 12},
                "marker": {
                    "symbol": "line-ew-open",
                    "size": 40,
                    "color": TARGET_COLOUR,
                    "line": {"width": 3, "color": TARGET_COLOUR},
                },
            }
        )
    return {
        "data": data,
        "layout": _layout(
            yaxis={"title": {"text": axis_title}, "rangemode": "tozero"},
            xaxis={"type": "category"},
        ),
    }


def _hours(minutes: float) -> str:
    hours = minutes / 60
    return f"{hours:.0f} h" if hours >= 1 else f"{minutes:.0f} min"


def resolution_times(times: dict) -> dict:
    """How long tickets took to resolve, in business hours, per priority, against targets."""
    return _time_boxes(times, "resolution", "business hours to resolve")


def response_times(times: dict) -> dict:
    """How long tickets waited for a first response, in business hours, per priority."""
    return _time_boxes(times, "response", "business hours to respond")


def uptime(services: list[dict]) -> dict:
    """Each service's uptime in the period against its target."""
    names = [s["service"] for s in services]
    shown = [v * 100 for s in services for v in (s["value"], s["target"]) if v is not None]
    low = max(0.0, min(shown, default=99.0) - 0.5)  # a 99.9% target is invisible on 0–100
    return {
        "data": [
            _bar(
                "Uptime",
                "uptime",
                names,
                [None if s["value"] is None else round(s["value"] * 100, 3) for s in services],
            ),
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Target",
                "x": names,
                "y": [
                    None if s["target"] is None else round(s["target"] * 100, 3) for s in services
                ],
                "marker": {
                    "symbol": "line-ew-open",
                    "size": 40,
                    "color": TARGET_COLOUR,
                    "line": {"width": 3, "color": TARGET_COLOUR},
                },
            },
        ],
        "layout": _layout(yaxis={"title": {"text": "% of the period up"}, "range": [low, 100.05]}),
    }
