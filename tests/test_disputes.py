"""Disputes: the client side contests a measured fact, the MSP side answers within the contract's
window, an unanswered one follows the contract's rule; every step audited and mailed to the other
side; accepted ones change the agreed figures (the recompute's adjustments), never the measured.

Acme's contract (contracts/demo/acme-dental.yaml): P1 resolution target 240 minutes, 24x7;
credits monthly on resolution compliance (below 95% 5%, below 90% 10% of USD 8,410); business
calendar in America/Chicago with US-TX holidays and 24 December 2025.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from contracts.models import AuditEvent, CommitmentOccurrence, Contract
from disputes.models import Dispute
from disputes.review_part import review_disputes
from disputes.services import (
    dispute_answer,
    dispute_open,
    dispute_withdraw,
    disputes_settle_overdue,
)
from disputes.window import add_business_days, dispute_due_at
from kpis.metrics.recompute import kpis_recompute
from kpis.models import KpiSnapshot
from msp_portal.jobs import recompute_pending

from .conftest import acme_ticket as _ticket
from .reviews_support import needs_pdf_tools, qbr_pdf_text

CHICAGO = ZoneInfo("America/Chicago")
REASON = "The user confirmed the fix within the hour."


def _month(world, label: str = "2025-09") -> KpiSnapshot:
    return KpiSnapshot.objects.get(client=world.acme, period_label=label)


def _open(world, ticket, *, subject="verdict", requested=None, actor=None, **extra) -> Dispute:
    return dispute_open(
        contract=world.acme_contract,
        actor=actor or world.owner,
        subject=subject,
        requested=requested or {"clock": "resolution", "verdict": "met"},
        reason=REASON,
        ticket=ticket,
        **extra,
    )


# --- The window ------------------------------------------------------------------------------


def test_business_days_skip_weekends_and_holidays():
    # Wednesday 10 September 2025 + 10 weekdays: 11, 12, 15–19, 22, 23, 24 → Wednesday 24.
    assert add_business_days(date(2025, 9, 10), 10, frozenset()) == date(2025, 9, 24)
    # A holiday on Monday 15 pushes it a day: Thursday 25.
    assert add_business_days(date(2025, 9, 10), 10, frozenset({date(2025, 9, 15)})) == date(
        2025, 9, 25
    )


def test_the_window_ends_with_the_tenth_business_day_of_the_contracts_calendar(world):
    # Opened Monday 22 December 2025 at 23:30 in Chicago (05:30 UTC on the 23rd). Business days
    # after it: 23 (1); 24, 25, 26 are holidays (Christmas Eve, Christmas, the day after in
    # Texas); 29, 30, 31 (2–4); 1 January a holiday; 2 (5); 5–9 (6–10): due at the end of
    # Friday 9 January 2026 in Chicago.
    opened = datetime(2025, 12, 23, 5, 30, tzinfo=UTC)
    due = dispute_due_at(world.acme_contract, opened)
    assert due.astimezone(CHICAGO).date() == date(2026, 1, 9)
    assert due.astimezone(CHICAGO).hour == 23 and due.astimezone(CHICAGO).minute == 59
    Contract.objects.filter(pk=world.acme_contract.pk).update(dispute_window_days=3)
    world.acme_contract.refresh_from_db()
    # 23 (1), 29 (2), 30 (3).
    assert dispute_due_at(world.acme_contract, opened).astimezone(CHICAGO).date() == date(
        2025, 12, 30
    )


# --- Opening ---------------------------------------------------------------------------------


def test_opening_records_the_measured_fact_the_due_date_the_trail_and_mails_the_msp(
    world, september, django_capture_on_commit_callbacks
):
    _, breached = september
    with django_capture_on_commit_callbacks(execute=True):
        dispute = _open(world, breached[0])
    assert dispute.measured == {"clock": "resolution", "verdict": "breached"}
    assert dispute.requested == {"clock": "resolution", "verdict": "met"}
    assert dispute.status == Dispute.Status.OPEN
    assert dispute.due_at == dispute_due_at(world.acme_contract, dispute.opened_at)
    assert dispute.ticket_label == "test T8"
    event = AuditEvent.objects.get(object_model="disputes.dispute", object_id=str(dispute.pk))
    assert (event.action, event.kind, event.actor) == ("open", "disputes", world.owner)
    assert event.changes["contested"] == [
        "The resolution time verdict: breached",
        "The resolution time verdict: met",
    ]
    # The MSP's people with a write role hear of it; the client's own people do not.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["staff@northwind.test"]
    assert "Acme Dental Group disputes test T8" in message.subject
    assert "The resolution time verdict, as measured breached, asked met" in message.body
    assert REASON in message.body
    assert reverse("dispute_detail", args=[world.acme.slug, dispute.pk]) in message.body
    assert "resolution_verdict" not in message.body and "requested" not in message.body


def test_a_dispute_must_contest_a_fact_as_it_was_measured(world, september):
    met, breached = september
    refusals = [
        # Already met: nothing to contest.
        ({"ticket": met[0], "requested": {"clock": "resolution", "verdict": "met"}}, "requested"),
        ({"ticket": met[0], "requested": {"clock": "uptime", "verdict": "met"}}, "requested"),
        # The clock used no such pause.
        (
            {
                "ticket": met[0],
                "subject": "pause",
                "requested": {"start": "2025-09-10T15:00:00Z", "end": "2025-09-10T16:00:00Z"},
            },
            "requested",
        ),
        # No exported pause total on this ticket.
        (
            {"ticket": met[0], "subject": "pause", "requested": {"exported_total": True}},
            "requested",
        ),
        ({"ticket": met[0], "subject": "priority", "requested": {"priority": "P1"}}, "requested"),
        ({"ticket": met[0], "subject": "priority", "requested": {"priority": "P9"}}, "requested"),
        ({"ticket": met[0], "subject": "exclusion", "requested": {"counted": True}}, "requested"),
        ({"ticket": None}, "ticket"),
    ]
    for kwargs, field in refusals:
        with pytest.raises(ValidationError) as error:
            _open(world, **kwargs)
        assert field in error.value.message_dict, kwargs
    with pytest.raises(ValidationError) as error:
        dispute_open(
            contract=world.acme_contract,
            actor=world.owner,
            subject="verdict",
            requested={"clock": "resolution", "verdict": "met"},
            reason="   ",
            ticket=breached[0],
        )
    assert error.value.message_dict == {"reason": ["give the reason in a few words"]}
    # Another client's ticket is not this contract's to dispute.
    other = _ticket(world, 50, 300)
    other.client = world.birch
    other.save()
    with pytest.raises(ValidationError) as error:
        _open(world, other)
    assert error.value.message_dict == {"ticket": ["no such ticket of this client"]}
    # A second open dispute on the same fact is refused; nothing was stored by the refusals.
    _open(world, breached[0])
    with pytest.raises(ValidationError):
        _open(world, breached[0])
    assert Dispute.objects.count() == 1


def test_a_paused_interval_the_clock_used_is_disputable_and_the_request_keeps_its_shape(world):
    ticket = _ticket(
        world,
        20,
        300,
        paused_intervals=[["2025-09-10T16:00:00Z", "2025-09-10T17:00:00Z"]],
    )
    kpis_recompute(world.acme)
    dispute = _open(
        world,
        ticket,
        subject="pause",
        requested={
            "start": "2025-09-10T16:00:00+00:00",
            "end": "2025-09-10T17:00:00Z",
            "note": "dropped: not part of a pause request",
        },
    )
    assert dispute.measured == {"start": "2025-09-10T16:00:00Z", "end": "2025-09-10T17:00:00Z"}
    assert set(dispute.requested) == {"start", "end"}


# --- Answers and the rule --------------------------------------------------------------------


def test_an_accepted_dispute_moves_the_agreed_compliance_and_credits_never_the_measured(
    world, september, django_capture_on_commit_callbacks
):
    _, breached = september
    dispute = _open(world, breached[0])
    # Two things wait for the commit: the mail to the opener, and the client's recompute, once
    # per transaction (msp_portal/jobs.py): evidence recorded earlier in this same transaction
    # may have queued it already.
    already = recompute_pending(world.acme.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        dispute_answer(dispute=dispute, actor=world.msp_staff, accept=True, reason="Agreed.")
    assert len(callbacks) == (1 if already else 2)
    assert recompute_pending(world.acme.pk)
    kpis_recompute(world.acme)  # what the worker runs (tests/test_api_disputes.py runs one)
    month = _month(world)
    # Measured: 8 met of 10 = 80%, USD 841.00. Agreed: 9 of 10 = 90%, not below 90% but below
    # 95%: 5% of USD 8,410 = USD 420.50.
    assert month.values["resolution.compliance"] == pytest.approx(0.8)
    assert month.values["service_credits"]["amount"] == 841.0
    assert month.agreed["values"]["resolution.compliance"] == pytest.approx(0.9)
    assert month.agreed["values"]["service_credits"]["amount"] == 420.5
    dispute.refresh_from_db()
    assert (dispute.status, dispute.answered_by, dispute.settled_by_rule) == (
        "accepted",
        world.msp_staff,
        False,
    )
    # Answered once: a second answer is refused and changes nothing.
    with pytest.raises(ValidationError) as error:
        dispute_answer(dispute=dispute, actor=world.msp_staff, accept=False, reason="No.")
    assert error.value.message_dict == {"status": ["this dispute is already accepted"]}
    assert Dispute.objects.get(pk=dispute.pk).status == "accepted"


def test_a_rejected_dispute_changes_nothing_and_tells_the_client(
    world, september, django_capture_on_commit_callbacks
):
    _, breached = september
    dispute = _open(world, breached[0])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dispute_answer(
            dispute=dispute, actor=world.msp_staff, accept=False, reason="The log shows 300 min."
        )
    assert len(callbacks) == 1  # the mail only: no recompute
    kpis_recompute(world.acme)
    month = _month(world)
    assert month.agreed == {}
    assert month.values["service_credits"]["amount"] == 841.0
    assert [m.to for m in mail.outbox] == [["owner@acme.test"]]
    assert mail.outbox[0].subject == "Your dispute was rejected: test T8"
    assert "The log shows 300 min." in mail.outbox[0].body
    actions = AuditEvent.objects.filter(object_model="disputes.dispute").values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["open", "reject"]


@pytest.mark.parametrize(
    ("rule", "status", "compliance", "credit"),
    [("accepted", "accepted", 0.9, 420.5), ("escalated", "escalated", None, None)],
)
def test_an_unanswered_dispute_past_its_window_follows_the_contracts_rule(
    world, september, rule, status, compliance, credit
):
    Contract.objects.filter(pk=world.acme_contract.pk).update(dispute_unanswered=rule)
    world.acme_contract.refresh_from_db()
    _, breached = september
    dispute = _open(world, breached[0])
    # Not yet: on the last instant of the window it is still open.
    assert disputes_settle_overdue(now=dispute.due_at) == 0
    assert disputes_settle_overdue(now=dispute.due_at + timedelta(seconds=1)) == 1
    assert disputes_settle_overdue(now=dispute.due_at + timedelta(days=1)) == 0  # once only
    dispute.refresh_from_db()
    assert dispute.status == status
    assert dispute.settled_by_rule is (rule == "accepted")
    assert dispute.answered_by is None
    event = AuditEvent.objects.get(object_model="disputes.dispute", action="settle")
    assert event.actor is None and event.changes["status"] == ["open", status]
    kpis_recompute(world.acme)
    month = _month(world)
    assert month.values["resolution.compliance"] == pytest.approx(0.8)
    if compliance is None:
        assert month.agreed == {}
    else:
        assert month.agreed["values"]["resolution.compliance"] == pytest.approx(compliance)
        assert month.agreed["values"]["service_credits"]["amount"] == credit


def test_the_opener_withdraws_an_open_dispute_and_it_stays_on_record(world, september):
    _, breached = september
    dispute = _open(world, breached[0])
    dispute_withdraw(dispute=dispute, actor=world.owner)
    assert Dispute.objects.get(pk=dispute.pk).status == "withdrawn"
    with pytest.raises(ValidationError):
        dispute_withdraw(dispute=dispute, actor=world.owner)
    with pytest.raises(ValidationError):
        dispute_answer(dispute=dispute, actor=world.msp_staff, accept=True, reason="Late.")


def test_a_missed_commitment_occurrence_can_be_disputed_as_kept(world):
    today = world.acme_contract.today()
    occurrence = (
        CommitmentOccurrence.objects.filter(
            commitment__contract=world.acme_contract, completed_on__isnull=True, due_date__lt=today
        )
        .order_by("due_date")
        .first()
    )
    assert occurrence is not None
    dispute = dispute_open(
        contract=world.acme_contract,
        actor=world.advisor,
        subject="occurrence",
        requested={"status": "kept"},
        reason="Done on site; the report was emailed.",
        occurrence=occurrence,
    )
    assert dispute.measured == {"status": "missed"}
    assert dispute.ticket is None and dispute.occurrence == occurrence
    with pytest.raises(ValidationError) as error:
        dispute_open(
            contract=world.acme_contract,
            actor=world.advisor,
            subject="occurrence",
            requested={"status": "missed"},
            reason="x",
            occurrence=occurrence,
        )
    assert error.value.message_dict == {"requested": ["the occurrence is already missed"]}


# --- Pages -----------------------------------------------------------------------------------


def test_the_owner_disputes_from_the_ticket_page_and_staff_accept_on_the_dispute_page(
    world, september, client_for
):
    _, breached = september
    ticket = breached[0]
    owner, staff, viewer = (client_for(u) for u in (world.owner, world.msp_staff, world.viewer))
    page = owner.get(reverse("client_ticket", args=[world.acme.slug, ticket.pk])).content.decode()
    form_url = reverse("dispute_ticket", args=[world.acme.slug, ticket.pk])
    assert form_url in page and "No dispute about this ticket." in page
    choose = owner.get(form_url).content.decode()
    assert "The resolution time verdict (breached)" in choose
    assert "The response time verdict (met)" in choose
    assert "The priority (P1)" in choose
    query = "?subject=verdict&clock=resolution"
    form = owner.get(form_url + query).content.decode()
    assert "As measured</dt><dd>breached" in form and "Asked instead</dt><dd>met" in form
    # The read-only member sees the ticket but may not dispute it; nothing is stored.
    assert viewer.get(form_url + query).status_code == 403
    assert viewer.post(form_url + query, {"reason": REASON}).status_code == 403
    assert "Dispute this" not in viewer.get(
        reverse("client_ticket", args=[world.acme.slug, ticket.pk])
    ).content.decode().replace("Dispute this ticket", "")
    # Without a reason the form comes back saying so.
    refused = owner.post(form_url + query, {"reason": ""})
    assert (
        refused.status_code == 400 and "give the reason in a few words" in refused.content.decode()
    )
    opened = owner.post(form_url + query, {"reason": REASON})
    dispute = Dispute.objects.get()
    assert opened["Location"] == reverse("dispute_detail", args=[world.acme.slug, dispute.pk])
    listing = owner.get(reverse("dispute_list", args=[world.acme.slug])).content.decode()
    assert "The resolution time verdict: breached → met" in listing
    assert "Open (1)" in listing and "Answered (0)" in listing
    # The client side cannot answer its own dispute; the MSP side can.
    answer_url = reverse("dispute_answer", args=[world.acme.slug, dispute.pk])
    assert owner.post(answer_url, {"decision": "accept", "answer_reason": "x"}).status_code == 403
    detail = staff.get(reverse("dispute_detail", args=[world.acme.slug, dispute.pk]))
    assert 'name="decision" value="accept"' in detail.content.decode()
    assert "Withdraw this dispute" not in detail.content.decode()
    staff.post(answer_url, {"decision": "accept", "answer_reason": "The log agrees."})
    dispute.refresh_from_db()
    assert dispute.status == "accepted"
    kpis_recompute(world.acme)
    detail = owner.get(reverse("dispute_detail", args=[world.acme.slug, dispute.pk])).content
    text = detail.decode()
    assert 'Resolution SLA compliance</th><td data-label="As measured">80.0%' in text
    assert "90.0%" in text and "USD 841.00" in text and "USD 420.50" in text
    assert "Opened by owner@acme.test" in text and "Accepted by staff@northwind.test" in text
    ticket_page = owner.get(reverse("client_ticket", args=[world.acme.slug, ticket.pk]))
    assert "The resolution time verdict: breached → met" in ticket_page.content.decode()
    answered = owner.get(reverse("dispute_list", args=[world.acme.slug]), {"show": "answered"})
    assert "Answered (1)" in answered.content.decode()


def test_the_overdue_tab_lists_what_the_rule_settled_as_the_list_is_read(
    world, september, client_for
):
    _, breached = september
    dispute = _open(world, breached[0])
    Dispute.objects.filter(pk=dispute.pk).update(due_at=dispute.opened_at - timedelta(seconds=1))
    page = client_for(world.msp_staff).get(
        reverse("dispute_list", args=[world.acme.slug]), {"show": "overdue"}
    )
    text = page.content.decode()
    assert "Overdue (1)" in text and "Open (0)" in text
    assert "by the contract&#x27;s rule" in text or "by the contract's rule" in text
    assert Dispute.objects.get(pk=dispute.pk).status == "accepted"


def test_the_client_side_disputes_a_missed_occurrence_from_the_commitments_page(world, client_for):
    owner = client_for(world.owner)
    page = owner.get(
        reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])
    ).content.decode()
    assert "Dispute this" in page
    staff_page = client_for(world.msp_staff).get(
        reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])
    )
    assert "Dispute this</a>" not in staff_page.content.decode()


# --- The QBR ---------------------------------------------------------------------------------


@pytest.fixture
def q3_disputes(world, september):
    """Three disputes dated in September 2025, when the tickets were resolved (2025-Q3): one
    breach accepted as met, the other rejected, a priority still open."""
    met, breached = september
    accepted = _open(world, breached[0])
    dispute_answer(dispute=accepted, actor=world.msp_staff, accept=True, reason="Agreed.")
    rejected = _open(world, breached[1])
    dispute_answer(dispute=rejected, actor=world.msp_staff, accept=False, reason="No.")
    _open(world, met[0], subject="priority", requested={"priority": "P2"})
    september_15 = datetime(2025, 9, 15, 15, tzinfo=UTC)
    Dispute.objects.update(opened_at=september_15)
    Dispute.objects.exclude(status="open").update(answered_at=september_15 + timedelta(days=2))
    kpis_recompute(world.acme)


def test_the_quarters_review_counts_disputes_and_the_credits_they_moved(
    world, q3_disputes, client_for
):
    part = review_disputes(world.acme_contract, "2025-Q3", date(2025, 7, 1), date(2025, 10, 1))
    assert {k: part[k] for k in ("opened", "accepted", "rejected", "by_rule", "outstanding")} == {
        "opened": 3,
        "accepted": 1,
        "rejected": 1,
        "by_rule": 0,
        "outstanding": 1,
    }
    assert sorted(r["status"] for r in part["rows"]) == ["Accepted", "Open", "Rejected"]
    assert "The priority: P1 → P2" in [r["contest"] for r in part["rows"]]
    # Monthly credits added up over the quarter: July and August have no ticket; September
    # USD 841.00 as measured, USD 420.50 as agreed (one breach accepted as met).
    assert part["credits"] == {
        "measured": "USD 841.00",
        "agreed": "USD 420.50",
        "difference": "USD 420.50",
        "changed": True,
    }
    # The quarter before had none of it: the review leaves the section out.
    assert review_disputes(world.acme_contract, "2025-Q2", date(2025, 4, 1), date(2025, 7, 1)) == {}
    # The review page (and the PDF, which renders the same content) says it in words.
    from reviews.models import Review

    review = Review.objects.create(
        client=world.acme, contract=world.acme_contract, quarter="2025-Q3"
    )
    page = client_for(world.advisor).get(
        reverse("review_detail", args=[world.acme.slug, review.pk])
    )
    text = page.content.decode()
    assert "3 opened in 2025-Q3; settled in the quarter: 1 accepted, 1 rejected" in text
    assert "<strong>USD 420.50</strong> as agreed, USD 841.00 as measured" in text
    assert "the accepted disputes moved USD 420.50" in text


@needs_pdf_tools
def test_the_qbr_pdf_lists_the_disputes_and_the_credits_they_moved(world, q3_disputes, tmp_path):
    text = qbr_pdf_text(world.acme.slug, "2025-Q3", tmp_path)
    assert "Disputes" in text
    assert "3 opened in 2025-Q3; settled in the quarter: 1 accepted, 1 rejected" in text
    assert "USD 420.50 as agreed, USD 841.00 as measured" in text
    assert "The priority: P1 → P2" in text
    assert "requested" not in text and "settled_by_rule" not in text


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_opens_one_dispute(world):
    """Two requests opening the same dispute at the same moment (a double click): the second
    waits for the first to commit, then finds it open and is refused."""
    import threading

    from django.db import connection

    breached = _ticket(world, 9, 300)
    kpis_recompute(world.acme)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit():
        try:
            start.wait()
            _open(world, breached)
            outcomes.append("opened")
        except ValidationError as error:
            outcomes.append(error.message_dict["subject"][0])
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["an open dispute already contests this; answer it first", "opened"]
    assert Dispute.objects.filter(ticket=breached).count() == 1
