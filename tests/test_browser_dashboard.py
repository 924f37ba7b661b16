"""In real Chromium: the owner reads the dashboard (every chart drawn, no console error), clicks
the resolution-compliance figure and gets exactly the tickets behind it; a phone-width screen
needs no horizontal scrolling; an outsider gets 404. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kpis.models import KpiSnapshot

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page
from .test_recompute import import_sample

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
    for chart in ("chart-priority", "chart-volume"):
        page.wait_for_selector(f"#{chart} .main-svg", timeout=15_000)  # plotly drew it
    # No Plotly toolbar: no "share to the cloud" link for a client's data, no extra tab stops.
    assert page.locator(".modebar").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    page.click('a[data-figure="resolution.compliance"]')
    page.wait_for_selector("text=Tickets behind resolution.compliance")
    assert page.locator("p.meta strong").first.inner_text() == str(denominator)
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
