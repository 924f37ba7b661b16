"""In real Chromium: the MSP proposes a faster P3 resolution (24 h → 12 h) from 1 Aug 2025. The
client's owner sees it beside the agreed terms and approves: nothing changes, the SLA page still
says the agreed terms of 1 Jul 2025. The MSP's staff approve: from then on it is the SLA for
tickets created from 1 Aug 2025, and the tickets imported next are measured against it."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from contracts.models import SlaPolicyVersion
from kpis.models import TicketClock

from .browser import CHROMIUM, logged_in_page
from .conftest import demo_document
from .test_api import document, token_client
from .test_recompute import SAMPLES, import_sample

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.skipif(not SAMPLES.exists(), reason="../shared is not beside the clone"),
    pytest.mark.django_db(transaction=True),
]


def test_a_proposed_sla_changes_nothing_until_the_second_side_approves(world, browser, live_server):
    doc = demo_document("acme-dental.yaml")
    doc["sla"]["effective_from"] = "2025-08-01"
    doc["sla"]["targets"]["P3"]["resolution_minutes"] = 720
    proposed = token_client(world.msp_staff).post(
        reverse("contract-file-apply"), document(doc), format="json"
    )
    assert proposed.status_code == 200
    contract = world.acme_contract
    proposal = SlaPolicyVersion.objects.get(contract=contract, effective_from="2025-08-01")
    rules_url = live_server.url + reverse("contract_rules", args=[world.acme.slug, contract.pk])
    contract_url = live_server.url + reverse("contract_detail", args=[world.acme.slug, contract.pk])

    owner, errors = logged_in_page(browser, live_server, world.owner)
    owner.goto(contract_url)
    assert "waiting for approval" in owner.locator("main").inner_text()
    owner.goto(rules_url)
    card = owner.locator(f"[data-proposal='sla-{proposal.pk}']")
    row = card.locator("tr", has_text="P3 – medium: resolution")
    assert row.locator("del").inner_text() == "1 day (business hours)"
    assert row.locator("ins").inner_text() == "12 h (business hours)"
    assert card.get_by_role("button", name=f"Approve for {contract.msp.name}").count() == 0
    card.get_by_role("button", name=f"Approve for {contract.client.name}").click()
    assert "once the other side approves it too" in owner.locator(".messages").inner_text()

    # One side approved: the SLA in force for August is still the one agreed from 1 July.
    assert contract.current_policy(on=date(2025, 8, 15)) != proposal
    owner.goto(contract_url)
    assert "in force since 1 Jul 2025" in owner.locator("#sla").inner_text()

    staff, staff_errors = logged_in_page(browser, live_server, world.msp_staff)
    staff.goto(rules_url)
    card = staff.locator(f"[data-proposal='sla-{proposal.pk}']")
    assert "approved by" in card.locator(".approval.done").inner_text()
    card.get_by_role("button", name=f"Approve for {contract.msp.name}").click()
    assert "Both sides have agreed" in staff.locator(".messages").inner_text()
    assert contract.current_policy(on=date(2025, 8, 15)) == proposal

    import_sample(world, "halopsa_tickets.csv")
    august = TicketClock.objects.filter(
        ticket__priority="P3", ticket__created_at__gte="2025-08-02T00:00:00Z", no_verdict_reason=""
    )
    july = TicketClock.objects.filter(
        ticket__priority="P3", ticket__created_at__lt="2025-08-01T00:00:00Z", no_verdict_reason=""
    )
    assert set(august.values_list("resolution_target_seconds", flat=True)) == {720 * 60}
    assert set(july.values_list("resolution_target_seconds", flat=True)) == {1440 * 60}
    assert errors == [] and staff_errors == []
