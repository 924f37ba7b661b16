"""What the fee buys, end to end: the fee figures in every snapshot and in kpi_report, the
dashboard's card (with a price typed as a query parameter) and the QBR's section, on its page
and in its PDF (kpis/dashboard/fee.py)."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from kpis.models import KpiSnapshot

from .reviews_support import draft, needs_pdf_tools, qbr_pdf_text

QUARTER = "2025-Q3"
# The demo contract: 145.00 a user × 58 users = 8,410.00 a month, from 1 July 2025: the whole
# of Q3, 25,230.00.
MONTHLY_FEE, QUARTER_FEE = 8410, 25230


def _text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def _dashboard(client, world, **query) -> str:
    url = reverse("client_dashboard", args=[world.acme.slug])
    return _text(client.get(url, {"period": QUARTER, **query}))


def _report(world, fmt: str) -> str:
    out = io.StringIO()
    call_command(
        "kpi_report", "--client", world.acme.slug, "--period", QUARTER, "--format", fmt, stdout=out
    )
    return out.getvalue()


def test_every_snapshot_holds_the_fee_figures_of_its_counts(acme):
    quarter = KpiSnapshot.objects.get(client=acme.acme, period_label=QUARTER)
    values, figures = quarter.values, quarter.figures
    assert values["cost.fee"] == QUARTER_FEE
    assert figures["cost.per_ticket"]["denominator"] == values["tickets.created"]
    assert figures["cost.per_incident"]["denominator"] == values["incidents.created"]
    assert figures["cost.per_resolved_incident"]["denominator"] == values["incidents.resolved"]
    assert figures["cost.per_seat"]["denominator"] == 58
    assert values["cost.per_seat"] == 435.0  # 25,230 / 58: the unit price × 3 months
    # The sample's Q3: 564 tickets raised, all incidents; 538 resolved.
    assert (values["tickets.created"], values["incidents.created"]) == (564, 564)
    assert values["incidents.resolved"] == 538
    assert values["cost.per_ticket"] == 44.73  # 25,230 / 564 = 44.734…
    assert values["cost.per_incident"] == 44.73
    assert values["cost.per_resolved_incident"] == 46.90  # 25,230 / 538 = 46.895…
    # July alone: one month of the fee.
    july = KpiSnapshot.objects.get(client=acme.acme, period_label="2025-07")
    assert july.values["cost.fee"] == MONTHLY_FEE


def test_kpi_report_prints_the_fee_figures_as_money(acme):
    report = json.loads(_report(acme, "json"))
    stored = KpiSnapshot.objects.get(client=acme.acme, period_label=QUARTER).values
    for key in ("cost.per_ticket", "cost.per_incident", "cost.per_seat"):
        assert report[key] == stored[key] and report[key] is not None
    text = _report(acme, "text")
    assert re.search(r"cost\.per_seat\s+USD 435\.00  \(USD 25,230\.00 / 58\)", text), text
    assert re.search(r"cost\.per_ticket\s+USD [\d,]+\.\d\d  \(USD 25,230\.00 / \d+\)", text)


def test_the_dashboard_card_says_what_the_fee_buys_in_words(acme, client_for):
    text = _dashboard(client_for(acme.owner), acme)
    card = text.split("What the fee buys", 1)[1].split("Price per ticket (USD)")[0]
    assert "Fee for 2025-Q3: USD 25,230.00" in card
    assert "Fee per ticket USD 44.73 564 tickets raised" in card
    assert "Fee per seat USD 435.00 58 seats" in card
    assert "Fee per resolved incident USD 46.90 538 incidents resolved" in card
    # The default price: 8,410 a month / (564 tickets / 3 months with figures = 188) = 44.73;
    # 564 × 44.73 = 25,227.72, 2.28 under the fee.
    assert (
        "At USD 44.73 a ticket, the 564 tickets raised in 2025-Q3 would have cost "
        "USD 25,227.72: USD 2.28 less than the fee of USD 25,230.00." in card
    )
    assert "average of 188 tickets a month in the 3 months with figures" in card
    # Net of the credits the contract's terms give for the quarter's months (10% of the fee).
    assert "net of the service credits due (USD 2,523.00): USD 22,707.00" in card
    for key in ("cost.", "per_ticket", "incidents.created", "tickets.created"):
        assert key not in card.replace("figure=", "")  # words, not keys


def test_a_price_typed_on_the_card_prices_the_quarter(acme, client_for):
    owner = client_for(acme.owner)
    text = _dashboard(owner, acme, ticket_price="50")
    # 564 × 50 = 28,200.00; 2,970.00 over the fee.
    assert (
        "At USD 50.00 a ticket, the 564 tickets raised in 2025-Q3 would have cost "
        "USD 28,200.00: USD 2,970.00 more than the fee of USD 25,230.00." in text
    )
    assert "At the price typed below." in text
    refused = _dashboard(owner, acme, ticket_price="fifty")
    assert "Price per ticket: 'fifty' is not an amount; give one like 45.00." in refused
    assert "At USD 44.73 a ticket" in refused  # the page still answers, at the default price
    too_small = "Price per ticket: give an amount of at least 0.01"
    assert too_small in _dashboard(owner, acme, ticket_price="-3")
    assert too_small in _dashboard(owner, acme, ticket_price="0.00001")  # shown as 0.00: no price
    # The form shows back what was typed: "45" and "45.000" are two cached pages, not one.
    url = reverse("client_dashboard", args=[acme.acme.slug])
    for typed in ("45.000", "45"):
        page = owner.get(url, {"period": QUARTER, "ticket_price": typed}).content.decode()
        assert f'name="ticket_price" inputmode="decimal" value="{typed}"' in page


def test_the_card_links_its_counts_to_their_tickets(acme, client_for):
    owner = client_for(acme.owner)
    page = owner.get(reverse("client_dashboard", args=[acme.acme.slug]), {"period": QUARTER})
    body = page.content.decode()
    link = f"?period={QUARTER}&amp;figure=incidents.resolved"
    assert link in body
    listed = owner.get(
        reverse("client_tickets", args=[acme.acme.slug]),
        {"period": QUARTER, "figure": "incidents.resolved"},
    )
    assert "538 tickets the figure was computed over" in _text(listed)


def test_the_qbr_has_the_section_on_its_page(acme, client_for):
    review = draft(acme)
    page = client_for(acme.owner).get(reverse("review_detail", args=[acme.acme.slug, review.pk]))
    text = _text(page)
    section = text.split("What the fee buys", 1)[1].split("Responsibility matrix")[0]
    assert "Fee for 2025-Q3: USD 25,230.00" in section
    assert "Fee per incident USD 44.73 564 incidents raised" in section
    assert "would have cost USD 25,227.72" in section


@needs_pdf_tools
def test_the_qbr_pdf_prints_what_the_fee_buys(acme, tmp_path):
    text = qbr_pdf_text(acme.acme.slug, QUARTER, tmp_path)
    assert "Uptime, service credits and what the fee buys" in text  # the contents
    assert "What the fee buys" in text  # the section's heading
    for said in (
        "Fee for 2025-Q3: USD 25,230.00",
        "USD 435.00",
        "USD 46.90",
        "Priced per ticket instead",
        "would have cost USD 25,227.72",
    ):
        assert said in text, said
    assert "cost.per" not in text and "incidents.resolved" not in text


def test_the_trend_lists_the_quarters_with_figures_up_to_the_chosen_one(acme):
    from kpis.dashboard.fee import fee_load

    card = fee_load(acme.acme, acme.acme_contract, "2026-Q2")
    # Five quarters back from 2026-Q2 reach 2025-Q2, before the contract and the sample: left out.
    assert [row["period"] for row in card["trend"]] == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    for row in card["trend"]:
        stored = KpiSnapshot.objects.get(client=acme.acme, period_label=row["period"])
        proactive = stored.figures["proactive_ratio"]
        assert row["fee"] == QUARTER_FEE  # every quarter of the term is three whole months
        assert row["per_ticket"] == round(QUARTER_FEE / stored.values["tickets.created"], 2)
        # Reactive: incidents of known origin that were not found by the MSP.
        assert row["reactive"] == proactive["denominator"] - proactive["numerator"]
    assert card["trend"][0]["reactive"] == 411 and card["trend"][0]["proactive"] == pytest.approx(
        1 - 411 / 564
    )


def test_a_page_for_a_typed_price_is_kept_a_minute_not_a_day(acme, client_for):
    """Each typed price renders its own page: kept in the cache for a minute only, so typing
    prices cannot fill Redis with a day's copy each; the plain page is kept a day."""
    from django.core.cache import cache

    client = cache._cache.get_client()  # the real Redis behind the cache
    owner = client_for(acme.owner)
    url = reverse("client_dashboard", args=[acme.acme.slug])

    def fragment_ttls() -> dict:
        return {
            key: client.ttl(key)
            for key in client.scan_iter(match="*template.cache.dashboard-page*")
        }

    cache.clear()
    owner.get(url, {"period": QUARTER})
    plain = fragment_ttls()
    assert len(plain) == 1 and all(ttl > 3600 for ttl in plain.values())
    owner.get(url, {"period": QUARTER, "ticket_price": "51.25"})
    typed = {k: ttl for k, ttl in fragment_ttls().items() if k not in plain}
    assert len(typed) == 1 and all(0 < ttl <= 60 for ttl in typed.values())
