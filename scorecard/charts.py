"""The incumbent's measured history on the comparison page as a Plotly figure: each rate the
scorecard scores it on, quarter by quarter. Pure, built with the dashboard's own helpers and
palette (kpis/dashboard/charts.py), so it reads like every other chart of the portal."""

from __future__ import annotations

from kpis.dashboard.charts import _layout, _line, _percent


def history_figure(history: dict) -> dict:
    """`history` as scorecard.measured.measured_history gives it."""
    return {
        "data": [
            _line(title, colour, history["labels"], _percent(values))
            for title, colour, values in history["series"]
        ],
        "layout": _layout(
            yaxis={"title": {"text": "%"}, "range": [0, 105]}, xaxis={"type": "category"}
        ),
    }
