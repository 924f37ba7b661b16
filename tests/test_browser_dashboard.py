"""In real Chromium: the owner reads the dashboard (every chart drawn, no console error), clicks
the resolution-compliance figure and gets exactly the tickets behind it; a phone-width screen
needs no horizontal scrolling; an outsider gets 404. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kpis.models import KpiSnapshot

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page
from .test_recompute import import_sample

CHARTS = (
    "chart-priority",
    "chart-compliance",
    "chart-response-times",
    "chart-resolution-times",
    "chart-volume",
    "chart-proactive",
    "chart-tiers",
)


def row_missed(snapshot) -> int:
    figure = snapshot.figures["resolution.compliance"]
    return figure["denominator"] - figure["numerator"]


pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def test_the_owner_reads_the_dashboard_and_drills_into_resolution_compliance(
    world,
    browser,
    live_server,
):
    import_sample(world, "connectwise_service_tickets.csv")
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q4")
    denominator = snapshot.figures["resolution.compliance"]["denominator"]
    page, errors = logged_in_page(browser, live_server, world.owner)
    url = reverse("client_dashboard", args=[world.acme.slug])
    page.goto(f"{live_server.url}{url}?period=2025-Q4")
    for chart in CHARTS:
        page.wait_for_selector(f"#{chart} .main-svg", timeout=15_000)  # plotly drew it
    # No Plotly toolbar: no "share to the cloud" link for a client's data, no extra tab stops.
    assert page.locator(".modebar").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    page.click('a[data-figure="resolution.compliance"]')
    page.wait_for_selector("text=Resolution SLA compliance in 2025-Q4")
    strong = page.locator("#ticket-count strong").first.inner_text()
    assert strong in (f"{denominator} tickets", f"{row_missed(snapshot)} of {denominator} tickets")
    shown = page.locator("table.stack tbody tr").count()
    assert shown == min(denominator, 50)  # the first page of the list
    page.screenshot(path=str(SCREENSHOTS / "ticket-list.png"), full_page=True)
    assert errors == []


def test_the_dashboard_fits_a_phone_and_outsiders_get_404(
    world,
    browser,
    live_server,
):
    import_sample(world, "connectwise_service_tickets.csv")
    url = f"{live_server.url}{reverse('client_dashboard', args=[world.acme.slug])}?period=2025-Q4"
    page, errors = logged_in_page(browser, live_server, world.owner, width=390)
    page.goto(url)
    page.wait_for_selector("#chart-volume .main-svg", timeout=15_000)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.screenshot(path=str(SCREENSHOTS / "dashboard-390.png"), full_page=True)
    assert overflow <= 0
    assert errors == []
    outsider, _ = logged_in_page(browser, live_server, world.outsider)
    assert outsider.goto(url).status == 404


@pytest.mark.parametrize("width", [1366, 390])
def test_a_missed_figure_opens_exactly_its_breached_tickets(world, browser, live_server, width):
    from .test_drilldown_missed import _breached_clocks

    import_sample(world, "connectwise_service_tickets.csv")
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    figure = snapshot.figures["resolution.compliance"]
    missed = figure["denominator"] - figure["numerator"]
    breached = _breached_clocks(world)
    assert missed == len(breached) > 0
    page, errors = logged_in_page(browser, live_server, world.owner, width=width)
    url = reverse("client_dashboard", args=[world.acme.slug])
    page.goto(f"{live_server.url}{url}?period=2025-Q3")
    page.wait_for_selector("#chart-priority .main-svg", timeout=15_000)
    assert page.locator(".modebar").count() == 0
    link = page.locator('a[data-figure="resolution.compliance"]')
    assert link.get_attribute("data-missed") == str(missed)
    link.click()
    page.wait_for_selector("text=Tickets that missed: Resolution SLA compliance")
    count = page.locator("#ticket-count strong").inner_text()
    assert count == f"{missed} of {figure['denominator']} tickets"
    page.screenshot(path=str(SCREENSHOTS / f"missed-tickets-{width}.png"), full_page=True)
    # Every page of the list together: exactly the breached clocks, each once.
    shown: list[str] = []
    while True:
        shown += page.locator("table.stack tbody th[scope=row] a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        following = page.locator("nav.pager a", has_text="Next")
        if following.count() == 0:
            break
        following.click()
        page.wait_for_load_state()
    ids = [int(href.rstrip("/").rsplit("/", 1)[1]) for href in shown]
    assert len(ids) == len(set(ids)) and set(ids) == breached
    assert errors == []


def test_a_chart_bar_opens_its_tickets(world, browser, live_server):
    import_sample(world, "connectwise_service_tickets.csv")
    page, errors = logged_in_page(browser, live_server, world.owner, width=1366)
    url = reverse("client_dashboard", args=[world.acme.slug])
    page.goto(f"{live_server.url}{url}?period=2025-Q3")
    page.wait_for_selector("#chart-priority .main-svg", timeout=15_000)
    # The first Resolution bar (the second trace): that priority's resolution tickets.
    # Plotly listens on its drag layer above the bars: click where the tallest bar is drawn.
    page.locator("#chart-priority").scroll_into_view_if_needed()
    bars = page.locator("#chart-priority .trace.bars").nth(1).locator(".point path")
    boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
    box = max((b for b in boxes if b), key=lambda b: b["height"])
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(lambda address: "/tickets/?" in address, timeout=10_000)
    assert "figure=resolution.compliance" in page.url and "priority=P" in page.url
    assert " of " in page.locator("#ticket-count strong").inner_text()
    assert errors == []
