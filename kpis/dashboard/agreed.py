"""A period's figures as the two sides agreed them: the measured ones changed by accepted
disputes (kpis/metrics/adjustments.py). The contract's promises and its credits are judged on
these; the measured ones stay beside them, and pages say which figures disputes moved."""

from __future__ import annotations

from dataclasses import dataclass

from kpis.metrics.registry import KPI, SCORECARD, Kpi


@dataclass(frozen=True)
class Agreed:
    values: dict
    figures: dict
    breakdowns: dict
    changed: bool  # whether accepted disputes moved any figure of the period


def as_agreed(snapshot) -> Agreed:
    """The snapshot's agreed figures, or its measured ones where no dispute moved them."""
    agreed = snapshot.agreed or {}
    if not agreed.get("values"):
        return Agreed(snapshot.values, snapshot.figures, snapshot.breakdowns, False)
    return Agreed(
        agreed["values"],
        agreed.get("figures") or snapshot.figures,
        agreed.get("breakdowns") or snapshot.breakdowns,
        True,
    )


def moved_by_disputes(measured: dict, agreed: dict) -> list[tuple[Kpi, object, object]]:
    """(KPI, measured, agreed) of the scorecard figures and the credits that accepted disputes
    moved, in the scorecard's order; a credit as its amount."""
    moved = []
    for kpi in (*SCORECARD, KPI["service_credits"]):
        before, after = measured.get(kpi.key), agreed.get(kpi.key)
        if kpi.key == "service_credits":
            before, after = ((v or {}).get("amount") for v in (before, after))
        if before != after:
            moved.append((kpi, before, after))
    return moved
