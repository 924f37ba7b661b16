"""Disputes through the API: opened by the client's admin, answered by the MSP's staff, the
agreed figures recomputed by a real Celery worker; a rejected one changes nothing; an overdue
one follows the contract's rule. Under the tenancy rules: a read-only member may not dispute
(403), the other MSP never sees the disputes (not listed, 404 by id).

The hand-computed figures are those of tests/test_disputes.py: eight P1 tickets met, two
breached in September 2025 (80%, USD 841.00); one breach accepted as met: 90%, USD 420.50."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from contracts.models import Contract
from disputes.models import Dispute
from kpis.models import KpiSnapshot
from msp_portal.celery import app

from .conftest import acme_ticket as _ticket
from .test_disputes import REASON
from .test_import_api import token_client

VERDICT = {"clock": "resolution", "verdict": "met"}


def _create(api, ticket, requested=None, subject="verdict"):
    return api.post(
        reverse("dispute-list"),
        {
            "subject": subject,
            "ticket": ticket.pk,
            "requested": requested or VERDICT,
            "reason": REASON,
        },
        format="json",
    )


def _agreed_when_recomputed(world, timeout: float = 60) -> dict:
    """The month's agreed values once the worker has stored them (empty if it never does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        month = KpiSnapshot.objects.get(client=world.acme, period_label="2025-09")
        if month.agreed:
            return month.agreed["values"]
        time.sleep(0.2)
    return {}


def test_opened_listed_and_answered_under_the_tenancy_rules(world, september):
    _, breached = september
    owner, staff, viewer = (token_client(u) for u in (world.owner, world.msp_staff, world.viewer))
    rival, outsider = token_client(world.rival_staff), token_client(world.outsider)
    # Neither a read-only member nor the MSP side opens a dispute; another client finds no
    # such ticket. Nothing is stored by any of them.
    assert _create(viewer, breached[0]).status_code == 403
    assert _create(staff, breached[0]).status_code == 403
    refused = _create(outsider, breached[0])
    assert (refused.status_code, refused.json()) == (400, {"ticket": ["no such ticket"]})
    assert Dispute.objects.count() == 0
    bad = _create(owner, breached[0], requested={"clock": "resolution", "verdict": "breached"})
    assert bad.status_code == 400
    assert bad.json() == {"requested": ["the resolution time verdict is already breached"]}

    created = _create(owner, breached[0])
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["measured"] == {"clock": "resolution", "verdict": "breached"}
    assert (body["status"], body["client"], body["overdue"]) == ("open", "acme-dental", False)
    pk = body["id"]
    # The other MSP and the other client never see it, listed or by id.
    for api in (rival, outsider):
        assert api.get(reverse("dispute-list")).json()["count"] == 0
        assert api.get(reverse("dispute-detail", args=[pk])).status_code == 404
        accept = api.post(reverse("dispute-accept", args=[pk]), {"reason": "x"}, format="json")
        assert accept.status_code == 404
    listed = staff.get(reverse("dispute-list"), {"client": "acme-dental", "status": "open"})
    assert [d["id"] for d in listed.json()["results"]] == [pk]
    assert staff.get(reverse("dispute-list"), {"status": "accepted"}).json()["count"] == 0
    # The client side neither answers its own dispute; the viewer does not withdraw it.
    assert owner.post(reverse("dispute-accept", args=[pk]), {"reason": "x"}).status_code == 403
    assert viewer.post(reverse("dispute-withdraw", args=[pk])).status_code == 403
    assert staff.post(reverse("dispute-withdraw", args=[pk])).status_code == 403
    no_reason = staff.post(reverse("dispute-reject", args=[pk]), {"reason": ""}, format="json")
    assert no_reason.status_code == 400
    rejected = staff.post(reverse("dispute-reject", args=[pk]), {"reason": "No."}, format="json")
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    again = staff.post(reverse("dispute-accept", args=[pk]), {"reason": "Yes."}, format="json")
    assert again.json() == {"status": ["this dispute is already rejected"]}
    assert Dispute.objects.get(pk=pk).status == "rejected"


def test_the_opener_withdraws_by_the_api(world, september):
    _, breached = september
    owner = token_client(world.owner)
    pk = _create(owner, breached[0]).json()["id"]
    withdrawn = owner.post(reverse("dispute-withdraw", args=[pk]))
    assert (withdrawn.status_code, withdrawn.json()["status"]) == (200, "withdrawn")
    assert owner.post(reverse("dispute-withdraw", args=[pk])).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_accepted_moves_the_agreed_figures_rejected_does_not_with_a_real_worker(world):
    for n in range(8):
        _ticket(world, n, 60)
    breached = [_ticket(world, n, 300) for n in (8, 9)]
    from kpis.metrics.recompute import kpis_recompute

    kpis_recompute(world.acme)
    owner, staff = token_client(world.owner), token_client(world.msp_staff)
    rejected = _create(owner, breached[1]).json()["id"]
    staff.post(reverse("dispute-reject", args=[rejected]), {"reason": "No."}, format="json")
    accepted = _create(owner, breached[0]).json()["id"]
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        answer = staff.post(
            reverse("dispute-accept", args=[accepted]), {"reason": "Agreed."}, format="json"
        )
        assert answer.status_code == 200
        agreed = _agreed_when_recomputed(world)
    # One breach accepted as met, the other rejected: 9 of 10 = 90%, USD 420.50; measured
    # stays 80%, USD 841.00.
    assert agreed["resolution.compliance"] == pytest.approx(0.9)
    assert agreed["service_credits"]["amount"] == 420.5
    month = KpiSnapshot.objects.get(client=world.acme, period_label="2025-09")
    assert month.values["resolution.compliance"] == pytest.approx(0.8)
    assert month.values["service_credits"]["amount"] == 841.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("rule", "compliance"), [("accepted", 0.9), ("escalated", None)])
def test_an_overdue_dispute_follows_the_contracts_rule_when_the_api_lists_it(
    world, rule, compliance
):
    for n in range(8):
        _ticket(world, n, 60)
    breached = [_ticket(world, n, 300) for n in (8, 9)]
    from kpis.metrics.recompute import kpis_recompute

    kpis_recompute(world.acme)
    Contract.objects.filter(pk=world.acme_contract.pk).update(dispute_unanswered=rule)
    owner, staff = token_client(world.owner), token_client(world.msp_staff)
    pk = _create(owner, breached[0]).json()["id"]
    dispute = Dispute.objects.get(pk=pk)
    Dispute.objects.filter(pk=pk).update(due_at=dispute.opened_at - timedelta(seconds=1))
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        listed = staff.get(reverse("dispute-list"), {"client": "acme-dental"}).json()
        agreed = _agreed_when_recomputed(world, timeout=60 if compliance else 3)
    (row,) = listed["results"]
    assert row["status"] == rule
    assert row["settled_by_rule"] is (rule == "accepted")
    if compliance is None:
        assert agreed == {}
    else:
        assert agreed["resolution.compliance"] == pytest.approx(compliance)
        assert agreed["service_credits"]["amount"] == 420.5
