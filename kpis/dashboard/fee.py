"""What the fee buys, for the dashboard's card and the QBR's section: the fee per ticket,
incident, seat and resolved incident this period and over the periods before, reactive
incidents against the proactive share, the fee net of the agreed service credits, and what
per-ticket pricing would have cost (docs/kpis.md, "What the fee buys").

`fee_buys` is pure: it reads the stored values of the periods it needs, as agreed
(kpis/dashboard/agreed.py), and returns a JSON-ready dict, so a published review can freeze
it. `fee_load` fetches those values.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from functools import cached_property

from kpis.dashboard.agreed import as_agreed
from kpis.dashboard.selectors import previous_label
from kpis.dashboard.verdicts import credit_labels, credits_for, money_text
from kpis.metrics.period import Period, period_key, period_label
from kpis.metrics.registry import KPI

# How many periods the trend shows, the chosen one included.
TREND_LENGTH = {"month": 12, "quarter": 5, "year": 3}
# The fee figures shown per period, each with the ticket figure its count is (drill-down).
PER_FIGURES = (
    ("cost.per_ticket", "tickets.created"),
    ("cost.per_incident", "incidents.created"),
    ("cost.per_seat", None),
    ("cost.per_resolved_incident", "incidents.resolved"),
)
AVERAGE_MONTHS = 12
PRICE_MAX = Decimal("1000000")
CENT = Decimal("0.01")


def ticket_price_parse(text: str) -> tuple[Decimal | None, str]:
    """A per-ticket price typed on the dashboard card (`ticket_price`): (price, "") or
    (None, what is wrong with it, naming the field)."""
    text = (text or "").strip().replace(",", "")
    if not text:
        return None, ""
    try:
        price = Decimal(text)
    except InvalidOperation:
        return None, f"Price per ticket: '{text[:20]}' is not an amount; give one like 45.00."
    # Checked to the cent it is shown at: 0.000001 is no price, it would show as 0.00.
    if not price.is_finite() or price > PRICE_MAX or price.quantize(CENT) <= 0:
        return None, f"Price per ticket: give an amount of at least 0.01 and at most {PRICE_MAX:,}."
    return price.quantize(CENT), ""


def trend_labels(label: str) -> list[str]:
    """The chosen period and those before it, oldest first."""
    labels = [label]
    while len(labels) < TREND_LENGTH[Period.parse(label, "UTC").kind]:
        labels.insert(0, previous_label(labels[0]))
    return labels


def average_months(label: str) -> list[str]:
    """The 12 months ending with the period's last month: the per-ticket price's basis."""
    last = period_key(Period.parse(label, "UTC").months[-1])
    return [period_label(key) for key in range(last - AVERAGE_MONTHS + 1, last + 1)]


def labels_needed(label: str) -> list[str]:
    """Every period the card reads: the trend, the price's months and the credits' periods."""
    labels = [*trend_labels(label), *average_months(label), *credit_labels(label)]
    return list(dict.fromkeys(labels))


def _figure(values: dict, figures: dict, key: str, count_key: str | None) -> dict:
    figure = figures.get(key) or {}
    return {
        "label": KPI[key].label,
        "value": values.get(key),
        "denominator": figure.get("denominator"),
        "figure": count_key,  # the ticket figure its count opens ("" for seats)
    }


def _reactive(values: dict, figures: dict) -> int | None:
    """Incidents reported to the MSP (not found by it): those of known origin, less the
    proactive ones; None when the export carries no origin."""
    figure = figures.get("proactive_ratio") or {}
    if values.get("proactive_ratio") is None or figure.get("denominator") is None:
        return None
    return int(figure["denominator"]) - int(figure.get("numerator") or 0)


def _trend_row(label: str, stored: tuple[dict, dict]) -> dict:
    values, figures = stored
    return {
        "period": label,
        "fee": values.get("cost.fee"),
        **{key.split(".")[1]: values.get(key) for key, _count in PER_FIGURES},
        "tickets": values.get("tickets.created"),
        "reactive": _reactive(values, figures),
        "proactive": values.get("proactive_ratio"),
        "compliance": values.get("resolution.compliance"),
    }


def _scenario(contract, label: str, stored: dict, price: Decimal | None) -> dict | None:
    """What the period would have cost at a price per ticket: the one typed, else the monthly
    fee over the average tickets a month of the 12 months ending with the period (the months
    with figures)."""
    values = stored[label][0]
    tickets, fee = values.get("tickets.created"), values.get("cost.fee")
    months = [stored[m][0].get("tickets.created") for m in average_months(label) if m in stored]
    months = [m for m in months if m is not None]
    average = Decimal(sum(months)) / len(months) if months else None
    typed = price is not None
    if price is None:
        if not contract.monthly_fee or not average:
            return None
        price = (contract.monthly_fee / average).quantize(CENT)
    if tickets is None:
        return None
    cost = price * tickets
    scenario = {
        "price": float(price),
        "typed": typed,
        "average": float(average.quantize(CENT)) if average is not None else None,
        "months": len(months),
        "tickets": tickets,
        "cost": float(cost),
        "fee": fee,
        "difference": float(cost - Decimal(str(fee))) if fee is not None else None,
    }
    scenario["sentence"] = scenario_sentence(scenario, label, contract.currency)
    return scenario


def scenario_sentence(s: dict, label: str, currency: str) -> str:
    said = (
        f"At {money_text(s['price'], currency)} a ticket, the {s['tickets']:,} tickets raised "
        f"in {label} would have cost {money_text(s['cost'], currency)}"
    )
    if s["fee"] is None:
        return said + "."
    gap = abs(Decimal(str(s["difference"])))
    if not gap:
        return said + ", the same as the fee."
    side = "more" if s["difference"] > 0 else "less"
    return (
        f"{said}: {money_text(gap, currency)} {side} than the fee of "
        f"{money_text(s['fee'], currency)}. Priced per ticket, the MSP earns more when there "
        "are more tickets; a fixed fee pays it the same and rewards preventing them."
    )


def fee_buys(contract, label: str, stored: dict, price: Decimal | None = None) -> dict | None:
    """The card's content for `label`; `stored`: period label → (values, figures) as agreed,
    for labels_needed(label). None when the period has no figures."""
    if label not in stored:
        return None
    values, figures = stored[label]
    fee = values.get("cost.fee")
    credits = credits_for(contract, label, {lbl: v for lbl, (v, _f) in stored.items()})
    net = None
    if fee is not None and credits is not None:
        net = float((Decimal(str(fee)) - credits).quantize(CENT))
    return {
        "period": label,
        "currency": contract.currency,
        "fee": fee,
        "credits": float(credits) if credits is not None else None,
        "net": net,
        "figures": [_figure(values, figures, key, count) for key, count in PER_FIGURES],
        "compliance": values.get("resolution.compliance"),
        # The periods with figures only: before the contract or the first import there are none.
        "trend": [_trend_row(lbl, stored[lbl]) for lbl in trend_labels(label) if lbl in stored],
        "scenario": _scenario(contract, label, stored, price),
    }


def fee_load(client, contract, label: str, price: Decimal | None = None) -> dict | None:
    """fee_buys over the client's stored snapshots, as agreed."""
    from kpis.models import KpiSnapshot

    stored = {}
    snapshots = KpiSnapshot.objects.filter(client=client, period_label__in=labels_needed(label))
    for snapshot in snapshots:
        agreed = as_agreed(snapshot)
        stored[snapshot.period_label] = (agreed.values, agreed.figures)
    return fee_buys(contract, label, stored, price)


class FeeOnDemand:
    """The dashboard card, read only when the page's cached block is rendered again. `key`
    names what it shows: the stored periods it reads (by when each was computed) and the
    price typed, so the cached page changes whenever either does."""

    def __init__(self, client, contract, label: str, stored, price_text: str):
        self._args = (client, contract, label)
        self.price, self.error = ticket_price_parse(price_text)
        self.typed = (price_text or "").strip()[:20]
        needed = set(labels_needed(label))
        stamps = sorted((s.period_label, s.computed_at) for s in stored if s.period_label in needed)
        # The text typed too: the form shows it back, so "45" and "45.000" are two pages.
        shown = (stamps, self.price, self.error, self.typed)
        digest = hashlib.md5(repr(shown).encode(), usedforsecurity=False)
        self.key = digest.hexdigest()

    @cached_property
    def card(self) -> dict | None:
        return fee_load(*self._args, price=self.price)
