"""In real Chromium: Acme's owner disputes a breached verdict from the ticket page, Northwind's
staff reject one dispute and accept another on the dispute page, a real Celery worker
recomputes, and the dispute page reads the agreed figure beside the measured one; an
unanswered dispute past its window follows the contract's rule (both rules).

Hand-computed (tests/test_disputes.py): eight P1 tickets met and two breached in September
2025: 80% resolution compliance, USD 841.00 credit; one breach accepted as met: 90%, USD 420.50.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from playwright.sync_api import expect

from contracts.models import Contract
from disputes.models import Dispute
from kpis.metrics.recompute import kpis_recompute
from kpis.models import KpiSnapshot
from msp_portal.celery import app

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page
from .conftest import acme_ticket as _ticket

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def _september(world):
    for n in range(8):
        _ticket(world, n, 60)
    breached = [_ticket(world, n, 300) for n in (8, 9)]
    kpis_recompute(world.acme)
    return breached


def _dispute_from_the_ticket_page(page, live_server, world, ticket, reason: str) -> None:
    page.goto(f"{live_server.url}{reverse('client_ticket', args=[world.acme.slug, ticket.pk])}")
    expect(page.locator("#disputes-heading")).to_be_visible()
    page.click("text=Dispute this")
    page.click("text=The resolution time verdict (breached)")
    expect(page.locator("main")).to_contain_text("As measured")
    page.fill("#reason", reason)
    page.click("button:has-text('Open the dispute')")
    page.wait_for_url("**/disputes/*/")
    expect(page.locator("main")).to_contain_text("has until")


def _answer(page, live_server, world, dispute, decision: str, reason: str) -> None:
    url = reverse("dispute_detail", args=[world.acme.slug, dispute.pk])
    page.goto(f"{live_server.url}{url}")
    page.fill("#answer_reason", reason)
    page.click(f"button[value={decision}]")
    page.wait_for_url(f"**{url}")


def test_the_owner_disputes_staff_answer_and_the_agreed_figure_is_read(world, live_server, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    breached = _september(world)
    owner, owner_errors = logged_in_page(browser, live_server, world.owner)
    staff, staff_errors = logged_in_page(browser, live_server, world.msp_staff)
    _dispute_from_the_ticket_page(owner, live_server, world, breached[1], "Fixed within the hour.")
    _dispute_from_the_ticket_page(owner, live_server, world, breached[0], "Fixed in 60 minutes.")
    owner.screenshot(path=str(SCREENSHOTS / "dispute-opened.png"), full_page=True)
    second, first = Dispute.objects.order_by("-pk")[:2]
    assert (first.ticket, second.ticket) == (breached[1], breached[0])

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        # Rejected: nothing changes, the page has no agreed figures to show.
        _answer(staff, live_server, world, first, "reject", "The log shows 300 minutes.")
        expect(staff.locator("main")).to_contain_text("Rejected")
        assert staff.locator("#effect-heading").count() == 0
        assert KpiSnapshot.objects.get(client=world.acme, period_label="2025-09").agreed == {}
        # Accepted: the worker recomputes; the owner reads the agreed figure on the page.
        _answer(staff, live_server, world, second, "accept", "Our log agrees.")
        detail = f"{live_server.url}{reverse('dispute_detail', args=[world.acme.slug, second.pk])}"
        for _ in range(120):
            owner.goto(detail)
            if owner.locator("#effect-heading").count():
                break
            owner.wait_for_timeout(500)
        table = owner.locator("#effect-2025-09")
        expect(table).to_contain_text("Resolution SLA compliance")
        row = table.locator("tr", has_text="Resolution SLA compliance")
        expect(row.locator("td[data-label='As measured']")).to_have_text("80.0%")
        expect(row.locator("[data-field=agreed]")).to_have_text("90.0%")
        expect(table.locator("[data-field=agreed-credit]")).to_have_text("USD 420.50")
        expect(table).to_contain_text("USD 841.00")
        owner.screenshot(path=str(SCREENSHOTS / "dispute-accepted.png"), full_page=True)
    month = KpiSnapshot.objects.get(client=world.acme, period_label="2025-09")
    assert month.values["resolution.compliance"] == pytest.approx(0.8)  # measured unchanged
    listing = f"{live_server.url}{reverse('dispute_list', args=[world.acme.slug])}?show=answered"
    owner.goto(listing)
    expect(owner.locator("main")).to_contain_text("Answered (2)")
    assert owner_errors == [] and staff_errors == []


@pytest.mark.parametrize(("rule", "words"), [("accepted", "Accepted"), ("escalated", "Escalated")])
def test_an_unanswered_dispute_past_its_window_follows_the_contracts_rule(
    world, live_server, browser, rule, words
):
    breached = _september(world)
    Contract.objects.filter(pk=world.acme_contract.pk).update(dispute_unanswered=rule)
    owner, errors = logged_in_page(browser, live_server, world.owner)
    _dispute_from_the_ticket_page(owner, live_server, world, breached[0], "Fixed in 60 minutes.")
    dispute = Dispute.objects.get()
    Dispute.objects.filter(pk=dispute.pk).update(due_at=dispute.opened_at - timedelta(seconds=1))
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        owner.goto(
            f"{live_server.url}{reverse('dispute_list', args=[world.acme.slug])}?show=overdue"
        )
        expect(owner.locator("main")).to_contain_text("Overdue (1)")
        expect(owner.locator("main table")).to_contain_text(words)
        detail = f"{live_server.url}{reverse('dispute_detail', args=[world.acme.slug, dispute.pk])}"
        if rule == "accepted":
            for _ in range(120):
                owner.goto(detail)
                if owner.locator("#effect-heading").count():
                    break
                owner.wait_for_timeout(500)
            row = owner.locator("#effect-2025-09 tr", has_text="Resolution SLA compliance")
            expect(row.locator("[data-field=agreed]")).to_have_text("90.0%")
            expect(owner.locator("main")).to_contain_text("by the contract's rule")
        else:
            owner.goto(detail)
            expect(owner.locator("main")).to_contain_text("Escalated")
            assert owner.locator("#effect-heading").count() == 0
    assert errors == []
