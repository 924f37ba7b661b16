"""The trend of a measured commitment as a Plotly figure: its headline rate (the share of
patches installed on time, say) per measured period, with the contract's target or limit as
the dashed line every chart of the portal draws. Pure: plain values in, a figure dict out,
built with the dashboard's own helpers (kpis/dashboard/charts.py) and palette, so it looks
and reads like every other chart."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kpis.dashboard.charts import _layout, _line, _percent, _target_label, _target_line


@dataclass(frozen=True)
class TrendPoint:
    """One measured period: its label ("Aug 2025"), its headline rate (0..1, None when nothing
    was counted), kept or missed, and what the reports show in words."""

    label: str
    rate: float | None
    kept: bool
    words: str


@dataclass(frozen=True)
class Bound:
    """The line a rate is held to: at least `value` (a target) or at most (a limit), 0..1."""

    value: float
    is_limit: bool = False


def commitment_bound(target_percent: Decimal | None, limit_percent: Decimal | None) -> Bound:
    """A limit where the contract sets one (the phishing click rate), else its target, else
    every one (100 %): a measured commitment with no target is kept only in full."""
    if limit_percent is not None:
        return Bound(float(limit_percent) / 100, is_limit=True)
    return Bound(float(target_percent if target_percent is not None else 100) / 100)


def measured_trend(points: list[TrendPoint], headline_words: str, bound: Bound) -> dict:
    """The headline rate per period as a line; a missed period's marker is a cross, so the
    verdict does not rest on colour alone; each point's hover text says the reports' words."""
    labels = [p.label for p in points]
    annotations = _target_label(bound.value)
    if bound.is_limit:
        for note in annotations:
            note["text"] = note["text"].replace("target", "limit", 1)
    trace = _line(
        headline_words,
        "measured",
        labels,
        _percent([p.rate for p in points]),
        hovertext=[f"{p.label}: {'kept' if p.kept else 'missed'}. {p.words}" for p in points],
        hoverinfo="text",
    )
    trace["marker"] = {
        **trace["marker"],
        "size": 9,
        "symbol": ["circle" if p.kept else "x" for p in points],
    }
    return {
        "data": [trace],
        "layout": _layout(
            xaxis={"type": "category"},
            yaxis={"title": {"text": f"% {headline_words.lower()}"}, "range": [0, 105]},
            shapes=_target_line(bound.value),
            annotations=annotations,
            showlegend=False,
        ),
    }
