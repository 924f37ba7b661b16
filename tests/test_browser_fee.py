"""In real Chromium: the owner reads "What the fee buys" on the dashboard, types a price per
ticket and sees the quarter priced at it, is told in words when the price is not an amount,
and follows a fee figure's count to the tickets behind it. Screenshots go to
artifacts/screenshots/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page
from .test_recompute import import_sample

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def test_the_owner_prices_the_quarter_per_ticket_on_the_card(world, browser, live_server):
    import_sample(world, "connectwise_service_tickets.csv")
    page, errors = logged_in_page(browser, live_server, world.owner)
    url = reverse("client_dashboard", args=[world.acme.slug])
    page.goto(f"{live_server.url}{url}?period=2025-Q3")
    card = page.locator("#fee")
    assert "Fee for 2025-Q3: USD 25,230.00" in card.inner_text()
    # 8,410 a month / 188 tickets a month = 44.73; 564 tickets × 44.73 = 25,227.72.
    assert "would have cost USD 25,227.72" in card.inner_text()
    page.fill("#ticket-price", "50")
    page.click("#fee button[type=submit]")
    page.wait_for_selector("text=At USD 50.00 a ticket")
    # 564 × 50 = 28,200.00: 2,970.00 over the fee.
    assert "USD 28,200.00: USD 2,970.00 more than the fee" in page.locator("#fee").inner_text()
    assert page.input_value("#ticket-price") == "50"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#fee").screenshot(path=str(SCREENSHOTS / "fee-card.png"))
    page.fill("#ticket-price", "a lot")
    page.click("#fee button[type=submit]")
    alert = page.locator("#ticket-price-error")
    alert.wait_for()
    assert alert.inner_text() == "Price per ticket: 'a lot' is not an amount; give one like 45.00."
    page.click("#fee a:has-text('538 incidents resolved')")
    page.wait_for_selector("#ticket-count")
    assert "538 tickets" in page.locator("#ticket-count").inner_text()
    assert errors == []
