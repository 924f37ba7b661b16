"""Uptime per service from outage windows (kpis.md). Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kpis.metrics.formulas import Figure
from kpis.metrics.period import Period


@dataclass(frozen=True)
class OutageWindow:
    """A service down from `start` to `end` (UTC, naive; end None while still down)."""

    service: str
    start: datetime
    end: datetime | None
    planned: bool = False


def uptime_figure(
    outages: list[OutageWindow], targets: dict[str, float], period: Period, as_of: datetime
) -> Figure:
    """Per service: 1 − unplanned outage time in the period / the period's length (kpis.md).
    Overlapping windows count once; a window still open runs to the period's end or now."""
    period_seconds = (period.end - period.start).total_seconds()
    services = sorted(set(targets) | {o.service for o in outages})
    value = {}
    for service in services:
        spans = sorted(
            (max(o.start, period.start), min(o.end or as_of, period.end))
            for o in outages
            if o.service == service and not o.planned
        )
        down, reach = 0.0, period.start
        for start, end in spans:
            start = max(start, reach)
            if end > start:
                down += (end - start).total_seconds()
                reach = end
        uptime = 1 - down / period_seconds
        target = targets.get(service)
        value[service] = {
            "value": uptime,
            "target": target,
            "met": None if target is None else uptime >= target,
            "outage_minutes": down / 60,
        }
    return Figure(
        value,
        None,
        None,
        [],
        "1 − unplanned outage minutes in the period / minutes in the period",
    )
