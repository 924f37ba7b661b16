"""What the fee buys, by hand: the fee for a period (whole months, and a month the contract
starts or ends in by its days) and the fee per ticket, incident, resolved incident and seat,
null where there is nothing to divide by or no fee (kpis/metrics/cost.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from contracts.models import Contract
from kpis.metrics.cost import COST_KEYS, cost_figures, months_covered, term_of
from kpis.metrics.formulas import Figure
from kpis.metrics.period import Period
from kpis.metrics.registry import KEYS_IN_ORDER, KPI

Q3 = Period.parse("2025-Q3", "America/Chicago")


def counts(tickets: int, incidents: int, resolved_incidents: int) -> dict[str, Figure]:
    return {
        "tickets.created": Figure(tickets),
        "incidents.created": Figure(incidents),
        "incidents.resolved": Figure(resolved_incidents),
    }


def flat(fee: str | None, starts=date(2025, 1, 1), ends=None, seats=25) -> Contract:
    return Contract(
        pricing_model=Contract.Pricing.FLAT_FEE,
        flat_monthly_fee=None if fee is None else Decimal(fee),
        starts=starts,
        ends=ends,
        seats_users=seats,
    )


def values(contract: Contract, figures: dict, period: Period = Q3) -> dict:
    return {k: f.value for k, f in cost_figures(term_of(contract), figures, period).items()}


def test_a_flat_fee_over_a_quarter_divided_by_each_count():
    # 2,000 a month × 3 = 6,000; / 80 tickets = 75; / 50 incidents = 120; / 40 resolved
    # incidents = 150; / 25 seats = 240.
    got = cost_figures(term_of(flat("2000.00")), counts(80, 50, 40), Q3)
    assert {k: f.value for k, f in got.items()} == {
        "cost.fee": 6000.0,
        "cost.per_ticket": 75.0,
        "cost.per_incident": 120.0,
        "cost.per_resolved_incident": 150.0,
        "cost.per_seat": 240.0,
    }
    # Each with what it is made of, like every other figure.
    assert (got["cost.per_ticket"].numerator, got["cost.per_ticket"].denominator) == (6000.0, 80)
    assert (got["cost.per_seat"].numerator, got["cost.per_seat"].denominator) == (6000.0, 25)
    assert got["cost.fee"].note == "2000.00 a month × 3 month(s) of the contract"


def test_a_per_user_fee_is_the_unit_price_times_the_seats():
    # The demo's pricing: 145.00 × 58 users = 8,410.00 a month; a quarter 25,230.00; per seat
    # 25,230 / 58 = 435.00 (the unit price × 3 months); / 97 tickets = 260.103… → 260.10.
    contract = Contract(
        pricing_model=Contract.Pricing.PER_USER,
        unit_price=Decimal("145.00"),
        seats_users=58,
        seats_devices=50,
        starts=date(2025, 7, 1),
        ends=date(2027, 6, 30),
    )
    got = values(contract, counts(97, 60, 0))
    assert got["cost.fee"] == 25230.0
    assert got["cost.per_seat"] == 435.0
    assert got["cost.per_ticket"] == 260.10
    assert got["cost.per_incident"] == 420.5
    assert got["cost.per_resolved_incident"] is None  # none resolved: no fee per one


def test_a_partial_first_and_last_month_count_by_their_days():
    # Starts 16 September 2025: 15 of September's 30 days → half of 3,000 = 1,500 for the
    # quarter. Ends 10 November: 10 of 30 days → 1,000 for November; December nothing.
    contract = flat("3000.00", starts=date(2025, 9, 16), ends=date(2025, 11, 10))
    assert months_covered(term_of(contract), Q3) == Decimal("0.5")
    got = values(contract, counts(12, 6, 5))
    assert got["cost.fee"] == 1500.0 and got["cost.per_ticket"] == 125.0
    assert got["cost.per_incident"] == 250.0 and got["cost.per_resolved_incident"] == 300.0
    assert values(contract, counts(4, 0, 0), Period.parse("2025-11", "UTC"))["cost.fee"] == 1000.0
    # Q4: October whole and 10 days of November: 3,000 + 1,000.
    assert values(contract, counts(4, 0, 0), Period.parse("2025-Q4", "UTC"))["cost.fee"] == 4000.0
    december = cost_figures(term_of(contract), counts(4, 1, 1), Period.parse("2025-12", "UTC"))
    assert all(f.value is None for f in december.values())
    assert december["cost.fee"].note == "the contract does not cover this period"


def test_zero_tickets_or_no_fee_give_null_never_zero_or_infinity():
    got = cost_figures(term_of(flat("2000.00", seats=0)), counts(0, 0, 0), Q3)
    assert got["cost.fee"].value == 6000.0
    for key in ("cost.per_ticket", "cost.per_incident", "cost.per_resolved_incident"):
        assert got[key].value is None and got[key].denominator == 0
    assert got["cost.per_seat"].value is None
    assert got["cost.per_ticket"].note == "no tickets raised: no fee per one"
    unpriced = cost_figures(term_of(flat(None)), counts(80, 50, 40), Q3)
    assert all(f.value is None for f in unpriced.values())
    assert unpriced["cost.per_ticket"].note == "the contract sets no fee"
    per_user_without_price = Contract(
        pricing_model=Contract.Pricing.PER_USER, seats_users=10, starts=date(2025, 1, 1)
    )
    assert values(per_user_without_price, counts(5, 5, 5))["cost.fee"] is None


def test_the_fee_figures_are_in_the_registry_with_words():
    for key in COST_KEYS:
        assert key in KEYS_IN_ORDER and KPI[key].unit == "money"
        assert not {".", "_"} & set(KPI[key].label)  # words, not keys
    assert KPI["cost.per_ticket"].label == "Fee per ticket"


def test_a_period_covered_whole_counts_its_months_exactly():
    # Whole periods take a short path (every client's every period, nightly); it must give the
    # very Decimal the day count gives, for the fee's note and its cents. Q3 2025, contract
    # 1 July – 30 September: 3 whole months → 3, the note says "× 3 month(s)". A day short
    # (ends 29 September): 1 + 1 + 29/30. The year 2025 from 1 January, open-ended: 12.
    whole = flat("3000.00", starts=date(2025, 7, 1), ends=date(2025, 9, 30))
    assert str(months_covered(term_of(whole), Q3)) == "3"
    fee = cost_figures(term_of(whole), counts(10, 5, 5), Q3)["cost.fee"]
    assert fee.value == 9000.0 and "× 3 month(s)" in fee.note
    short = flat("3000.00", starts=date(2025, 7, 1), ends=date(2025, 9, 29))
    assert months_covered(term_of(short), Q3) == 2 + Decimal(29) / 30
    year = flat("100.00", starts=date(2025, 1, 1))
    assert str(months_covered(term_of(year), Period.parse("2025", "UTC"))) == "12"


@given(
    starts=st.dates(date(2024, 1, 1), date(2026, 12, 31)),
    length=st.one_of(st.none(), st.integers(0, 900)),
    label=st.sampled_from(["2025-02", "2025-07", "2025-Q1", "2025-Q4", "2024", "2025", "2026"]),
)
def test_months_covered_is_each_months_covered_days_over_its_days(starts, length, label):
    # The definition, day by day: for each month of the period, the days of it the contract
    # covers (first and last day included) / the month's days.
    ends = None if length is None else starts + timedelta(days=length)
    period = Period.parse(label, "UTC")
    expected = Decimal(0)
    for month in period.months:
        first = date(int(month[:4]), int(month[5:]), 1)
        days = [first + timedelta(days=i) for i in range(31)]
        days = [d for d in days if d.month == first.month]
        covered = [d for d in days if starts <= d and (ends is None or d <= ends)]
        if covered:
            expected += Decimal(len(covered)) / len(days)
    got = months_covered(term_of(flat("1.00", starts=starts, ends=ends)), period)
    assert got == expected and str(got) == str(expected)
