"""Every occurrence of a commitment over the contract's term is on the commitments page (grouped
by year), not only the latest six; recording, confirming or disputing one recomputes the
client's figures at once on a worker, so `commitments.kept_rate` follows without waiting for
the nightly recompute or the next import."""

from __future__ import annotations

import time
from datetime import date

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contracts.models import CommitmentOccurrence
from kpis.models import KpiSnapshot
from msp_portal.celery import app

from .test_recompute import import_sample

SEPTEMBER = "2025-09"


def _phishing(world):
    return world.acme_contract.commitments.get(name="Phishing simulation")


def _page(client, world) -> str:
    url = reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])
    return client.get(url).content.decode()


def _complete_url(world, occ) -> str:
    return reverse("occurrence_complete", args=[world.acme.slug, world.acme_contract.pk, occ.pk])


def test_every_occurrence_of_the_term_is_on_the_page_grouped_by_year(world, client_for):
    occurrences = list(_phishing(world).occurrences.order_by("period_start"))
    # Monthly since the contract started on 1 July 2025: far more than the six shown before.
    assert len(occurrences) > 6 and occurrences[0].period_start == date(2025, 7, 1)
    body = _page(client_for(world.msp_staff), world)
    for occ in occurrences:
        assert f'action="{_complete_url(world, occ)}"' in body, occ
    commitment = _phishing(world)
    years = sorted({o.period_start.year for o in occurrences}, reverse=True)
    for year in years:
        assert f'id="commitment-{commitment.pk}-{year}"' in body
    # The newest year opens; older ones are a click away, not gone.
    assert f'id="commitment-{commitment.pk}-{years[0]}" open>' in body
    assert f'id="commitment-{commitment.pk}-{years[-1]}">' in body


def test_the_oldest_occurrence_can_still_be_recorded(world, client_for):
    oldest = _phishing(world).occurrences.order_by("period_start").first()
    assert oldest.completed_on is None
    response = client_for(world.msp_staff).post(
        _complete_url(world, oldest),
        {"completed_on": oldest.due_date.isoformat(), "note": "July's simulation was sent"},
    )
    assert response.status_code == 302
    oldest.refresh_from_db()
    assert oldest.completed_on == oldest.due_date


def _kept(client) -> tuple[int, int]:
    figure = KpiSnapshot.objects.get(client=client, period_label=SEPTEMBER).figures[
        "commitments.kept_rate"
    ]
    return figure["numerator"], figure["denominator"]


def _wait_for(client, expected: tuple[int, int], what: str) -> None:
    deadline = time.monotonic() + 90
    while _kept(client) != expected:
        assert time.monotonic() < deadline, f"no recompute after {what}: {_kept(client)}"
        time.sleep(0.3)


@pytest.mark.django_db(transaction=True)
def test_evidence_confirming_and_disputing_recompute_the_kept_rate_at_once(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    msp, owner = client_for(world.msp_staff), client_for(world.owner)
    kept, due = _kept(world.acme)
    # September's patching needs evidence: recorded with a note and confirmed, it is not kept
    # yet. Those two recomputes are dropped before the worker starts, so only the upload's own
    # can make it count.
    patches = world.acme_contract.commitments.get(name="Critical patches installed within 30 days")
    patch = patches.occurrences.get(period_start=date(2025, 9, 1))
    patch_args = [world.acme.slug, world.acme_contract.pk, patch.pk]
    msp.post(
        reverse("occurrence_complete", args=patch_args),
        {"completed_on": "2025-09-30", "note": "September's critical patches installed"},
    )
    owner.post(reverse("occurrence_answer", args=patch_args), {"answer": "confirmed"})
    patch.refresh_from_db()
    assert patch.status_on(date.today(), 0) == CommitmentOccurrence.Status.MISSING_EVIDENCE
    occ = _phishing(world).occurrences.get(period_start=date(2025, 9, 1))
    assert occ.due_date == date(2025, 9, 30) and occ.completed_on is None
    args = [world.acme.slug, world.acme_contract.pk, occ.pk]
    app.control.purge()  # the recomputes queued so far: not the ones this test watches
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        report = SimpleUploadedFile("patch-report.csv", b"device,kb\nWS-01,KB5030211\n")
        msp.post(reverse("evidence_upload", args=patch_args), {"file": report})
        _wait_for(world.acme, (kept + 1, due), "the evidence upload")
        msp.post(
            reverse("occurrence_complete", args=args),
            {"completed_on": "2025-09-30", "note": "campaign sent to all staff"},
        )
        occ.refresh_from_db()
        assert occ.status_on(date.today(), 0) == CommitmentOccurrence.Status.AWAITING
        owner.post(reverse("occurrence_answer", args=args), {"answer": "confirmed"})
        # Kept now: one more of the same occurrences due, with no recompute called here.
        _wait_for(world.acme, (kept + 2, due), "the confirmation")
        owner.post(
            reverse("occurrence_answer", args=args),
            {"answer": "disputed", "note": "half the staff never got the e-mail"},
        )
        _wait_for(world.acme, (kept + 1, due), "the dispute")
