"""axe-core in real Chromium: no serious or critical accessibility violation on the dashboard,
the ticket list, the contract page and its history, the responsibility matrix and a quarterly
review (as the advisor writing it, with its forms). axe-core's script comes from
the axe-playwright-python wheel and is injected into each page, so nothing is fetched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.urls import reverse

from .browser import CHROMIUM, logged_in_page
from .test_recompute import import_sample

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def axe_script() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def serious_violations(page) -> list[str]:
    page.add_script_tag(content=axe_script())
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    violations = json.loads(result)["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def test_the_main_pages_have_no_serious_accessibility_violations(world, browser, live_server):
    import_sample(world, "connectwise_service_tickets.csv")
    slug, pk = world.acme.slug, world.acme_contract.pk
    pages = {
        "landing page": reverse("client_home", args=[slug]),  # the verdict strip first
        "dashboard": reverse("client_dashboard", args=[slug]) + "?period=2025-Q4",
        "ticket list": reverse("client_tickets", args=[slug])
        + "?period=2025-Q4&figure=resolution.compliance",
        "contract": reverse("contract_detail", args=[slug, pk]),
        "matrix": reverse("contract_matrix", args=[slug, pk]),
        "outages": reverse("contract_outages", args=[slug, pk]),
        "history": reverse("contract_history", args=[slug, pk]),  # the SLA and matrix tables
    }
    page, errors = logged_in_page(browser, live_server, world.owner, bypass_csp=True)
    found = {}
    for name, url in pages.items():
        page.goto(live_server.url + url)
        if name == "dashboard":
            page.wait_for_selector("#chart-volume .main-svg", timeout=15_000)
        found[name] = serious_violations(page)
    assert found == {name: [] for name in pages}
    assert errors == []


def test_a_review_being_written_has_no_serious_accessibility_violations(
    world, browser, live_server
):
    from reviews import services

    import_sample(world, "connectwise_service_tickets.csv")
    review, _ = services.review_draft_ensure(contract=world.acme_contract, quarter="2025-Q3")
    services.action_item_add(
        review=review,
        title="Replace the firewall",
        owner_side="msp",
        due_on=None,
        actor=world.advisor,
    )
    page, errors = logged_in_page(browser, live_server, world.advisor, bypass_csp=True)
    found = {}
    for name, url in {
        "review": reverse("review_detail", args=[world.acme.slug, review.pk]),
        "reviews": reverse("review_list", args=[world.acme.slug]),
    }.items():
        page.goto(live_server.url + url)
        if name == "review":
            page.wait_for_selector("#chart-quality .main-svg", timeout=15_000)
        found[name] = serious_violations(page)
    assert found == {"review": [], "reviews": []}
    assert errors == []


def test_the_dispute_pages_have_no_serious_accessibility_violations(world, browser, live_server):
    from disputes.services import dispute_open
    from kpis.models import Ticket

    import_sample(world, "connectwise_service_tickets.csv")
    ticket = Ticket.objects.filter(client=world.acme, clock__resolution_verdict="breached").first()
    dispute = dispute_open(
        contract=world.acme_contract,
        actor=world.owner,
        subject="verdict",
        requested={"clock": "resolution", "verdict": "met"},
        reason="Resolved within the hour by the engineer's own note.",
        ticket=ticket,
    )
    slug = world.acme.slug
    pages = {
        "disputes": reverse("dispute_list", args=[slug]),
        "dispute": reverse("dispute_detail", args=[slug, dispute.pk]),
        "dispute a ticket": reverse("dispute_ticket", args=[slug, ticket.pk]),
    }
    found = {}
    # The owner sees the withdraw form and may dispute; MSP staff see the answer form.
    for user, names in ((world.owner, pages), (world.msp_staff, ["disputes", "dispute"])):
        page, errors = logged_in_page(browser, live_server, user, bypass_csp=True)
        for name in names:
            page.goto(live_server.url + pages[name])
            found[f"{name} ({user.email})"] = serious_violations(page)
        assert errors == []
        page.context.close()
    assert found == {name: [] for name in found} and len(found) == 5
