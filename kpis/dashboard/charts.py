"""Plotly figures of the KPIs, as plain dicts: the dashboard hands them to plotly.js, the QBR to
plotly.js on its web page and to kaleido for the PDF's SVG images, so all three draw the same
figure. Pure: data in (the shapes kpis.dashboard.selectors and reviews.context build), figures out.

Rates arrive as fractions (0.95) and are drawn as percentages; times arrive in minutes and are
drawn in hours, which is how people read SLA targets.
"""

from __future__ import annotations

TARGET_COLOUR = "#b42318"
PALETTE = ["#1f4e8c", "#2e8540", "#b8860b", "#6f42c1", "#d9480f", "#0b7285"]
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


# Log-scale ticks people can read: minutes to a month of business hours.
HOUR_TICKS = [
    (1 / 60, "1 min"),
    (0.25, "15 min"),
    (1, "1 h"),
    (4, "4 h"),
    (8, "8 h"),
    (24, "24 h"),
    (72, "72 h"),
    (240, "240 h"),
    (720, "720 h"),
]


def _percent(values: list) -> list:
    return [None if v is None else round(v * 100, 2) for v in values]


def _layout(**extra) -> dict:
    layout = {
        "margin": {"t": 10, "r": 10, "b": 50, "l": 55},
        "height": 300,
        "legend": {"orientation": "h", "y": -0.22},
        "font": {"family": FONT, "size": 12},
        "colorway": PALETTE,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "xaxis": {"gridcolor": "#e5e7eb"},
        "yaxis": {"gridcolor": "#e5e7eb"},
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


def priority_compliance(priority: dict, target: float | None) -> dict:
    """Response and resolution compliance per priority, with the contract's target line."""
    return {
        "data": [
            {
                "type": "bar",
                "name": "Response",
                "x": priority["priorities"],
                "y": _percent(priority["response"]),
            },
            {
                "type": "bar",
                "name": "Resolution",
                "x": priority["priorities"],
                "y": _percent(priority["resolution"]),
            },
        ],
        "layout": _layout(
            yaxis={"title": {"text": "% within target"}, "range": [0, 100]},
            shapes=_target_line(target),
        ),
    }


def monthly_volume(trend: dict) -> dict:
    """Tickets created and resolved per month, and the backlog at each month's end."""
    months = trend["months"]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Created",
                "x": months,
                "y": trend["created"],
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Resolved",
                "x": months,
                "y": trend["resolved"],
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Open at month end",
                "x": months,
                "y": trend["backlog"],
                "line": {"dash": "dot"},
            },
        ],
        "layout": _layout(yaxis={"title": {"text": "tickets"}}, xaxis={"type": "category"}),
    }


def monthly_compliance(trend: dict, target: float | None) -> dict:
    """Response and resolution SLA compliance per month against the target."""
    months = trend["months"]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Resolution",
                "x": months,
                "y": _percent(trend["resolution_compliance"]),
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Response",
                "x": months,
                "y": _percent(trend["response_compliance"]),
            },
        ],
        "layout": _layout(
            yaxis={"title": {"text": "% within target"}, "range": [0, 100]},
            xaxis={"type": "category"},
            shapes=_target_line(target),
        ),
    }


def proactive_share(trend: dict) -> dict:
    """The share of tickets the MSP found itself (monitoring, alerts) against those reported."""
    proactive = _percent(trend["proactive"])
    reactive = [None if p is None else round(100 - p, 2) for p in proactive]
    return {
        "data": [
            {"type": "bar", "name": "Proactive", "x": trend["months"], "y": proactive},
            {"type": "bar", "name": "Reactive", "x": trend["months"], "y": reactive},
        ],
        "layout": _layout(
            barmode="stack",
            yaxis={"title": {"text": "% of tickets raised"}, "range": [0, 100]},
            xaxis={"type": "category"},
        ),
    }


def quarterly_quality(quarters: dict) -> dict:
    """First-time fix, repeat incidents and proactive detection over the last quarters."""
    labels = quarters["labels"]
    series = [
        ("First-time fix", quarters["first_time_fix"]),
        ("Repeat incidents", quarters["repeat_rate"]),
        ("Proactive detection", quarters["proactive"]),
        ("Resolution SLA compliance", quarters["resolution_compliance"]),
    ]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": labels,
                "y": _percent(values),
            }
            for name, values in series
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


def resolution_times(times: dict) -> dict:
    """How long tickets took to resolve, in business hours, per priority: each ticket's time as
    a box per priority, with the priority's target as a red mark. The scale is logarithmic (from
    minutes to weeks), which has no zero: a ticket resolved in under a minute of business time
    is drawn at one minute."""
    data = [
        {
            "type": "box",
            "name": priority,
            "y": [round(max(m, 1) / 60, 4) for m in minutes],
            "boxpoints": "outliers",
            "marker": {"color": PALETTE[0]},
            "showlegend": False,
        }
        for priority, minutes in zip(times["priorities"], times["minutes"], strict=True)
    ]
    targets = [(p, t) for p, t in zip(times["priorities"], times["targets"], strict=True) if t]
    if targets:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Target",
                "x": [p for p, _ in targets],
                "y": [round(t / 60, 2) for _, t in targets],
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
            yaxis={
                "title": {"text": "business time to resolve"},
                "type": "log",
                "tickvals": [h for h, _ in HOUR_TICKS],
                "ticktext": [label for _, label in HOUR_TICKS],
            },
            xaxis={"type": "category"},
        ),
    }


def uptime(services: list[dict]) -> dict:
    """Each service's uptime in the period against its target."""
    names = [s["service"] for s in services]
    shown = [v * 100 for s in services for v in (s["value"], s["target"]) if v is not None]
    low = max(0.0, min(shown, default=99.0) - 0.5)  # a 99.9% target is invisible on 0–100
    return {
        "data": [
            {
                "type": "bar",
                "name": "Uptime",
                "x": names,
                "y": [None if s["value"] is None else round(s["value"] * 100, 3) for s in services],
            },
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
