"""In real Chromium at desktop (1366 px) and phone (390 px) widths: the owner of Birch & Cole
(tickets stop in July 2026, one ticket raised that month) lands on the verdict strip first,
for 2026-Q2, the last complete quarter with data, not the one-ticket quarter after it; the
dashboard opens on the same quarter with its charts drawn and no Plotly toolbar; axe-core finds
no serious violation. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page
from .test_accessibility import serious_violations

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]

BIRCH_TICKETS = Path(__file__).resolve().parents[1] / "kpis" / "demo" / "birch-cole-law-halopsa.csv"


def _import_birch(world) -> None:
    call_command(
        "import_tickets",
        str(BIRCH_TICKETS),
        "--client",
        world.birch.slug,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


FIRST_IN_MAIN = """() => {
    // The first element of the page's content after its title and the client's tabs.
    const main = document.querySelector('main');
    const nav = main.querySelector('nav');
    let next = nav.nextElementSibling;
    while (next && next.tagName === 'SCRIPT') next = next.nextElementSibling;
    return next ? next.id : null;
}"""


@pytest.mark.parametrize("width", [1366, 390])
def test_the_owner_lands_on_the_verdict_strip_of_the_last_complete_quarter(
    world, browser, live_server, width
):
    _import_birch(world)
    page, errors = logged_in_page(
        browser, live_server, world.outsider, width=width, bypass_csp=True
    )
    page.goto(f"{live_server.url}{reverse('client_home', args=[world.birch.slug])}")
    strip = page.locator("#verdict-strip")
    assert page.evaluate(FIRST_IN_MAIN) == "verdict-strip"
    box = strip.bounding_box()
    assert box is not None and box["y"] < 900  # seen without scrolling
    heading = strip.locator("h2").inner_text()
    assert heading.startswith("2026-Q2: ")
    assert "Tickets up to 21 Jul 2026" in strip.inner_text()
    # Every promise says met or missed: the quarter is complete with enough tickets.
    verdicts = strip.locator(".promises li .status").all_inner_texts()
    assert verdicts and "no verdict" not in verdicts
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"landing-verdicts-{width}.png"), full_page=True)
    assert overflow <= 0
    assert serious_violations(page) == []

    # The dashboard opens on the same quarter, the strip first, charts drawn, no toolbar.
    page.goto(f"{live_server.url}{reverse('client_dashboard', args=[world.birch.slug])}")
    page.wait_for_selector("#chart-volume .main-svg", timeout=15_000)
    assert page.locator("#period option:checked").inner_text() == "2026-Q2"
    assert page.evaluate(FIRST_IN_MAIN) == "verdict-strip"
    assert page.locator(".modebar").count() == 0
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-verdicts-{width}.png"), full_page=True)
    assert serious_violations(page) == []
    assert errors == []


def test_a_one_ticket_quarter_is_labelled_partial_and_never_coloured(world, browser, live_server):
    _import_birch(world)
    page, errors = logged_in_page(browser, live_server, world.outsider, width=1366)
    url = reverse("client_dashboard", args=[world.birch.slug])
    page.goto(f"{live_server.url}{url}?period=2026-Q3")
    strip = page.locator("#verdict-strip")
    assert "partial period" in strip.inner_text()
    # No promise coloured met or missed (the commitments overdue today are a fact of today).
    assert strip.locator(".promises .status-kept, .promises .status-overdue").count() == 0
    assert strip.locator(".promises .status").first.inner_text() == "no verdict"
    assert (
        page.locator("table.scorecard .status-overdue, table.scorecard .status-kept").count() == 0
    )
    page.screenshot(path=str(SCREENSHOTS / "dashboard-partial-quarter.png"), full_page=True)
    assert errors == []
