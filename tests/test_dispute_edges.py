"""Issue 22's review, round two: what an attacker or an unlucky export could do to disputes and
the MSP's reports, each answered with a clear refusal or the right outcome, never a server error
or an adjustment nobody agreed to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from contracts.models import Contract
from disputes.models import Dispute
from disputes.services import dispute_answer
from kpis.metrics.adjustments import adjustments_from
from kpis.metrics.recompute import kpis_recompute
from kpis.models import TicketClock

from .conftest import acme_ticket as _ticket
from .test_disputes import _open


def test_a_huge_reported_count_is_refused_with_a_message(world, client_for):
    staff = client_for(world.msp_staff)
    url = reverse("reported_figures", args=[world.acme.slug])
    page = staff.post(
        url,
        {"period": "2025-Q3", "tickets.created": "9" * 400, "resolution.mean_minutes": "9" * 40},
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "Tickets raised: write a whole number of tickets" in text
    assert "Mean time to resolve" in text


def test_a_dispute_form_with_dates_out_of_any_calendar_is_not_a_server_error(
    world, september, client_for
):
    _, breached = september
    url = reverse("dispute_ticket", args=[world.acme.slug, breached[0].pk])
    page = client_for(world.owner).get(
        url + "?subject=pause&start=0001-01-01T00:00:00&end=0001-01-01T00:00:00"
    )
    assert page.status_code in (200, 400)


def test_a_pause_dispute_stores_the_pause_it_matched_not_what_else_it_carried(world, september):
    paused = _ticket(
        world,
        10,
        300,
        paused_intervals=[["2025-09-10T16:00:00Z", "2025-09-10T18:00:00Z"]],
        paused_minutes=30,
        paused_time="calendar",
    )
    kpis_recompute(world.acme)
    dispute = _open(
        world,
        paused,
        subject="pause",
        requested={
            "start": "2025-09-10T16:00:00Z",
            "end": "2025-09-10T18:00:00Z",
            "exported_total": 1,  # smuggled: truthy, not True
        },
    )
    assert dispute.requested == {"start": "2025-09-10T16:00:00Z", "end": "2025-09-10T18:00:00Z"}
    # Even a stored truthy flag adjusts only what it says: an interval, not the whole total.
    smuggled = adjustments_from([("pause", paused.pk, None, {**dispute.requested, "x": 1})])
    assert smuggled.exported_pause_removed == set() and paused.pk in smuggled.pauses_removed
    assert (
        adjustments_from([("pause", paused.pk, None, {"exported_total": 1})]).exported_pause_removed
        == set()
    )


def test_an_exclusion_dispute_contests_only_the_exports_exclusion(world, september):
    customer_owned = _ticket(world, 10, 300, state="cancelled")
    kpis_recompute(world.acme)
    assert TicketClock.objects.get(ticket=customer_owned).no_verdict_reason == "cancelled or merged"
    with pytest.raises(ValidationError) as refused:
        _open(world, customer_owned, subject="exclusion", requested={"counted": True})
    assert "cancelled or merged" in str(refused.value)


def test_an_answer_after_the_window_is_too_late_and_the_contracts_rule_decides(world, september):
    _, breached = september
    dispute = _open(world, breached[0])
    Dispute.objects.filter(pk=dispute.pk).update(due_at=timezone.now() - timedelta(hours=1))
    dispute.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        dispute_answer(dispute=dispute, actor=world.msp_staff, accept=False, reason="Too late.")
    assert refused.value.message_dict == {"status": ["this dispute is already accepted"]}
    dispute.refresh_from_db()
    assert (dispute.status, dispute.settled_by_rule) == ("accepted", True)


def test_an_escalated_dispute_is_still_answered_in_the_portal(world, september):
    _, breached = september
    Contract.objects.filter(pk=world.acme_contract.pk).update(dispute_unanswered="escalated")
    world.acme_contract.refresh_from_db()
    dispute = _open(world, breached[0])
    Dispute.objects.filter(pk=dispute.pk).update(due_at=timezone.now() - timedelta(hours=1))
    dispute.refresh_from_db()
    dispute_answer(
        dispute=dispute, actor=world.msp_staff, accept=True, reason="Agreed at the meeting."
    )
    dispute.refresh_from_db()
    # Past its window it escalated first; the people it went to then settled it here.
    assert (dispute.status, dispute.settled_by_rule) == ("accepted", False)


def test_a_title_with_line_breaks_still_mails_the_msp(
    world, september, django_capture_on_commit_callbacks
):
    _, breached = september
    breached[0].title = "Printer\nBcc: someone@else.example"
    breached[0].save()
    breached[0].refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        dispute = _open(world, breached[0])
    assert dispute.pk and len(mail.outbox) == 1
    assert "\n" not in mail.outbox[0].subject
    assert mail.outbox[0].to == ["staff@northwind.test"]
