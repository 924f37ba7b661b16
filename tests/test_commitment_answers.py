"""A commitment is its owner's to record and the other side's to confirm: the MSP marks its own
occurrences done (with evidence or a note), the client confirms or disputes, and "kept" counts
confirmed ones or those left unanswered past COMMITMENT_ANSWER_DAYS."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

from django.urls import reverse

from contracts.models import AuditEvent, Commitment, CommitmentOccurrence
from contracts.services.commitments import contract_today
from kpis.metrics.period import Period
from kpis.metrics.snapshot import _commitments_kept, occurrence_outcomes


def open_occurrence(contract):
    """The latest occurrence of a commitment needing no evidence that is past due and not done:
    one the commitments page lists."""
    return (
        contract.commitments.get(name="Phishing simulation")
        .occurrences.filter(completed_on__isnull=True, due_date__lt=contract_today(contract))
        .order_by("-due_date")
        .first()
    )


def _urls(world, occ):
    args = [world.acme.slug, world.acme_contract.pk, occ.pk]
    return reverse("occurrence_complete", args=args), reverse("occurrence_answer", args=args)


def _mark_done(client, world, occ, note="restored SQL01 to a sandbox"):
    complete, _ = _urls(world, occ)
    return client.post(complete, {"completed_on": occ.due_date.isoformat(), "note": note})


def test_the_owner_cannot_mark_the_msps_commitment_done(world, client_for):
    occ = open_occurrence(world.acme_contract)
    owner = client_for(world.owner)
    assert _mark_done(owner, world, occ).status_code == 403
    api = owner.post(
        reverse("occurrence-complete", args=[occ.pk]), {"completed_on": occ.due_date.isoformat()}
    )
    assert api.status_code == 403
    occ.refresh_from_db()
    assert occ.completed_on is None
    page = owner.get(
        reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])
    )
    assert "Mark done" not in page.content.decode()


def test_the_msp_marks_done_and_it_waits_for_the_client(world, client_for):
    occ = open_occurrence(world.acme_contract)
    assert _mark_done(client_for(world.msp_staff), world, occ).status_code == 302
    occ.refresh_from_db()
    assert occ.completed_on == occ.due_date and occ.recorded_at is not None
    today = contract_today(world.acme_contract)
    assert occ.status_on(today, evidence_count=0) == CommitmentOccurrence.Status.AWAITING
    page = client_for(world.owner).get(
        reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])
    )
    text = page.content.decode()
    assert "Done, awaiting confirmation" in text and "restored SQL01 to a sandbox" in text
    assert ">Confirm</button>" in text and ">Dispute</button>" in text


def test_the_client_confirms_and_the_msp_cannot_confirm_its_own(world, client_for):
    occ = open_occurrence(world.acme_contract)
    _mark_done(client_for(world.msp_staff), world, occ)
    _, answer = _urls(world, occ)
    assert client_for(world.msp_staff).post(answer, {"answer": "confirmed"}).status_code == 403
    assert client_for(world.advisor).post(answer, {"answer": "confirmed"}).status_code == 403
    assert client_for(world.viewer).post(answer, {"answer": "confirmed"}).status_code == 403
    occ.refresh_from_db()
    assert occ.answer == ""
    assert client_for(world.owner).post(answer, {"answer": "confirmed"}).status_code == 302
    occ.refresh_from_db()
    assert occ.answer == "confirmed" and occ.answered_by == world.owner
    today = contract_today(world.acme_contract)
    assert occ.status_on(today, evidence_count=0) == CommitmentOccurrence.Status.KEPT
    assert AuditEvent.objects.filter(action="confirm", object_id=str(occ.pk)).exists()


def test_a_dispute_needs_a_note_and_a_new_record_reopens_it(world, client_for):
    occ = open_occurrence(world.acme_contract)
    msp, owner = client_for(world.msp_staff), client_for(world.owner)
    _mark_done(msp, world, occ)
    _, answer = _urls(world, occ)
    refused = owner.post(answer, {"answer": "disputed", "note": "  "}, follow=True)
    assert "A dispute needs a note" in html.unescape(refused.content.decode())
    occ.refresh_from_db()
    assert occ.answer == ""
    owner.post(answer, {"answer": "disputed", "note": "no restore report attached"})
    occ.refresh_from_db()
    today = contract_today(world.acme_contract)
    assert occ.status_on(today, evidence_count=0) == CommitmentOccurrence.Status.DISPUTED
    # The MSP records it again, and the client's answer starts over.
    _mark_done(msp, world, occ, note="restore report uploaded")
    occ.refresh_from_db()
    assert occ.answer == "" and occ.answer_note == ""
    assert occ.status_on(today, evidence_count=0) == CommitmentOccurrence.Status.AWAITING


def test_done_needs_a_note_or_evidence(world, client_for):
    occ = open_occurrence(world.acme_contract)
    msp = client_for(world.msp_staff)
    refused = _mark_done(msp, world, occ, note="   ")
    assert refused.status_code == 302
    page = msp.get(refused["Location"])
    assert "Say what was done in a note, or upload the evidence first." in html.unescape(
        page.content.decode()
    )
    occ.refresh_from_db()
    assert occ.completed_on is None
    api = msp.post(
        reverse("occurrence-complete", args=[occ.pk]), {"completed_on": occ.due_date.isoformat()}
    )
    assert api.status_code == 400 and "note" in api.json()


def test_nothing_recorded_cannot_be_confirmed(world, client_for):
    occ = open_occurrence(world.acme_contract)
    _, answer = _urls(world, occ)
    response = client_for(world.owner).post(answer, {"answer": "confirmed"}, follow=True)
    assert "not recorded as done yet" in html.unescape(response.content.decode())
    occ.refresh_from_db()
    assert occ.answer == ""


def test_the_client_records_its_own_commitments_and_the_msp_confirms(world, client_for):
    commitment = Commitment.objects.create(
        contract=world.acme_contract,
        name="Staff complete security training",
        cadence=Commitment.Cadence.QUARTERLY,
        owner=Commitment.Owner.CUSTOMER,
    )
    occ = CommitmentOccurrence.objects.create(
        commitment=commitment, period_start=date(2025, 1, 1), due_date=date(2025, 3, 31)
    )
    complete, answer = _urls(world, occ)
    body = {"completed_on": "2025-03-30", "note": "every member passed the course"}
    assert client_for(world.msp_staff).post(complete, body).status_code == 403
    assert client_for(world.owner).post(complete, body).status_code == 302
    assert client_for(world.owner).post(answer, {"answer": "confirmed"}).status_code == 403
    assert client_for(world.msp_staff).post(answer, {"answer": "confirmed"}).status_code == 302
    occ.refresh_from_db()
    assert occ.answer == "confirmed" and occ.answered_by == world.msp_staff


def _occurrence(recorded: date, answer: str = "", evidence_required: bool = False):
    """An occurrence done on its due date and recorded on `recorded` (no database needed)."""
    occ = CommitmentOccurrence(
        commitment=Commitment(evidence_required=evidence_required),
        period_start=date(2026, 1, 1),
        due_date=date(2026, 3, 31),
        completed_on=date(2026, 3, 31),
        answer=answer,
    )
    occ.recorded_at = datetime(recorded.year, recorded.month, recorded.day, tzinfo=UTC)
    occ.evidence_count = 1
    return occ


def test_unanswered_counts_as_kept_only_once_the_window_has_passed():
    recorded = date(2026, 4, 2)
    occ = _occurrence(recorded)
    on_day = recorded + timedelta(days=14)
    assert occ.status_on(on_day, 1, answer_days=14) == "awaiting"
    assert occ.status_on(on_day + timedelta(days=1), 1, answer_days=14) == "kept"
    assert occ.status_on(on_day + timedelta(days=1), 1, answer_days=30) == "awaiting"
    # A dispute never turns into kept, however long it waits; a late one is late when confirmed.
    assert _occurrence(recorded, "disputed").status_on(date(2027, 1, 1), 1, 14) == "disputed"
    late = _occurrence(recorded, "confirmed")
    late.completed_on = date(2026, 4, 1)
    assert late.status_on(date(2026, 4, 3), 1, 14) == "late"


def test_the_window_comes_from_the_setting(settings):
    settings.COMMITMENT_ANSWER_DAYS = 3
    occ = _occurrence(date(2026, 4, 2))
    assert occ.status_on(date(2026, 4, 5), 1) == "awaiting"
    assert occ.status_on(date(2026, 4, 6), 1) == "kept"


def test_kept_counts_confirmed_and_long_unanswered_ones_but_not_waiting_or_disputed(settings):
    settings.COMMITMENT_ANSWER_DAYS = 14
    today = date(2026, 4, 10)
    quarter = Period.parse("2026-Q1", "UTC")
    confirmed = _occurrence(date(2026, 4, 5), "confirmed")
    waiting = _occurrence(date(2026, 4, 5))
    disputed = _occurrence(date(2026, 3, 1), "disputed")
    silent = _occurrence(date(2026, 3, 1))
    figure = _commitments_kept([confirmed, waiting, disputed, silent], quarter, today)
    assert (figure.numerator, figure.denominator) == (2, 4)


def test_the_client_home_counts_what_waits_for_an_answer(world, client_for):
    occ = open_occurrence(world.acme_contract)
    _mark_done(client_for(world.msp_staff), world, occ)
    home = client_for(world.owner).get(reverse("client_home", args=[world.acme.slug]))
    text = " ".join(home.content.decode().split())
    assert "1 awaiting confirmation · 0 disputed" in text


def test_kept_counts_what_fell_due_in_the_period_before_today_judged_once(settings):
    # Q1 2026 on 20 March; each occurrence done and confirmed on its due date (kept) unless
    # said. Due 31 Dec 2025: before the quarter. 1 Jan: its first day, counted. 1 Feb, not
    # done: counted, overdue, not kept. 19 Mar: counted. 20 Mar: today, not due yet. 31 Mar
    # and 1 Apr: after today. Due 3 (1 Jan, 1 Feb, 19 Mar), kept 2 (1 Jan, 19 Mar).
    settings.COMMITMENT_ANSWER_DAYS = 14
    today, quarter = date(2026, 3, 20), Period.parse("2026-Q1", "UTC")
    occurrences = []
    for due in (
        date(2025, 12, 31),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 19),
        date(2026, 3, 20),
        date(2026, 3, 31),
        date(2026, 4, 1),
    ):
        occ = _occurrence(due, "confirmed")
        occ.due_date = occ.completed_on = due
        occurrences.append(occ)
    occurrences[2].completed_on = None
    figure = _commitments_kept(occurrences, quarter, today)
    assert (figure.numerator, figure.denominator, figure.value) == (2, 3, 2 / 3)
    # The recompute judges the occurrences once and slices them for every period: the same.
    outcomes = occurrence_outcomes(list(reversed(occurrences)), today)
    again = _commitments_kept([], quarter, today, outcomes=outcomes)
    assert (again.numerator, again.denominator) == (2, 3)
    # The quarter before: only 31 Dec 2025 was due in it.
    assert (
        _commitments_kept([], Period.parse("2025-Q4", "UTC"), today, outcomes=outcomes).denominator
        == 1
    )
