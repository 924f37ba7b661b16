"""What the fee buys: the contract's fee for a period and the fee per ticket, incident, seat and
resolved incident. Pure: the contract's price and term and the period's ticket figures in,
figures out (docs/kpis.md, "What the fee buys").

A period's fee is the monthly fee times the months of the period the contract covers; a month
the contract starts or ends in counts by its days (the contract's first and last day both
count), so a contract starting on 16 September pays 15/30 of September's fee.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from kpis.metrics.formulas import Figure
from kpis.metrics.period import Period

CENT = Decimal("0.01")

# Each fee figure: the ticket figure its denominator is, and what the note says it is over.
PER = {
    "cost.per_ticket": ("tickets.created", "tickets raised"),
    "cost.per_incident": ("incidents.created", "incidents raised"),
    "cost.per_resolved_incident": ("incidents.resolved", "incidents resolved"),
}
COST_KEYS = ("cost.fee", *PER, "cost.per_seat")


@dataclass(frozen=True)
class Term:
    """What the fee figures read of a contract: its monthly fee, term and seats."""

    monthly_fee: Decimal | None
    starts: date
    ends: date | None
    seats: int


def term_of(contract) -> Term:
    return Term(contract.monthly_fee, contract.starts, contract.ends, contract.seats)


def months_covered(term: Term, period: Period) -> Decimal:
    """The months of the period the contract covers: whole months count 1, the month the
    contract starts or ends in its days covered / its days."""
    last_day = period.next_first_day - timedelta(days=1)
    if term.starts <= period.first_day and (term.ends is None or term.ends >= last_day):
        # Covered whole (most periods): each month's days / its days is exactly 1, so the sum
        # is the count of months, the same Decimal the loop below adds up, without the loop
        # (a nightly recompute asks this for every client's every period).
        return Decimal({"month": 1, "quarter": 3, "year": 12}[period.kind])
    total = Decimal(0)
    for label in period.months:
        year, month = int(label[:4]), int(label[5:7])
        days = calendar.monthrange(year, month)[1]
        first, last = date(year, month, 1), date(year, month, days)
        covered_from = max(first, term.starts)
        covered_to = min(last, term.ends) if term.ends else last
        if covered_to >= covered_from:
            total += Decimal((covered_to - covered_from + timedelta(days=1)).days) / days
    return total


def period_fee(term: Term, period: Period) -> Decimal | None:
    """The fee for the period, to the cent; None without a fee or when the contract covers
    none of the period."""
    if not term.monthly_fee:
        return None
    months = months_covered(term, period)
    if not months:
        return None
    return (term.monthly_fee * months).quantize(CENT)


def _count(value) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _months_text(months: Decimal) -> str:
    """3 → '3', 2.5 → '2.5', 15/31 → '0.484'."""
    return f"{months.quantize(Decimal('0.001')).normalize():f}"


def _money(amount: Decimal) -> float:
    return float(amount.quantize(CENT))


def cost_figures(term: Term, figures: dict[str, Figure], period: Period) -> dict[str, Figure]:
    """`cost.fee` and the fee per ticket, incident, resolved incident and seat: each the fee
    over its count, null (never 0 or infinity) when the count is 0 or there is no fee."""
    fee = period_fee(term, period)
    if fee is None:
        why = (
            "the contract sets no fee"
            if not term.monthly_fee
            else "the contract does not cover this period"
        )
        return {key: Figure(None, None, None, note=why) for key in COST_KEYS}
    months = months_covered(term, period)
    out = {
        "cost.fee": Figure(
            _money(fee),
            _money(fee),
            None,
            note=f"{term.monthly_fee} a month × {_months_text(months)} month(s) of the contract",
        )
    }
    # The counts are whole tickets (an int, also after the snapshot's JSON round trip).
    counts = {key: (_count(figures[source].value), words) for key, (source, words) in PER.items()}
    counts["cost.per_seat"] = (term.seats, "seats in the contract")
    for key, (count, words) in counts.items():
        value = _money(fee / count) if count else None
        note = f"fee / {words}" if count else f"no {words}: no fee per one"
        out[key] = Figure(value, _money(fee), count, note=note)
    return out
