"""Service credits tied to commitments (issue 23): a commitment's `credit_percent` credits that
share of the monthly fee for each missed occurrence, in the contract's credit period in which
it fell due, added to the tiers' credit under the same cap. Hand-computed on Acme's contract
(contracts/demo/acme-dental.yaml): monthly credits on resolution compliance, below 95% 5%, below
90% 10%, cap 20%, of the fee 58 users × USD 145 = USD 8,410.

In the test world nothing of Acme's commitments is recorded but the first restore test, so the
occurrences due in September 2025 of the monthly "Phishing simulation" and the quarterly
"Quarterly business review held" (both due on 30 September) are overdue: missed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from contracts.contract_file import ContractFileError, contract_file_parse
from contracts.models import CommitmentOccurrence
from disputes.models import Dispute
from kpis.metrics.period import Period
from kpis.metrics.recompute import kpis_recompute
from kpis.metrics.snapshot import commitments_missed
from kpis.models import KpiSnapshot

from .conftest import SEPTEMBER_OPENED, demo_document
from .conftest import acme_ticket as _ticket

PHISHING = "Phishing simulation"
QBR_HELD = "Quarterly business review held"


def _credit(world, label="2025-09", agreed=False) -> dict:
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label=label)
    values = snapshot.agreed["values"] if agreed else snapshot.values
    return values["service_credits"]


def _set_credit(world, name: str, percent: str | None) -> None:
    world.acme_contract.commitments.filter(name=name).update(
        credit_percent=None if percent is None else Decimal(percent)
    )


def test_a_missed_credited_commitment_adds_its_share_to_the_tiers_credit(world, september):
    _set_credit(world, PHISHING, "2")
    kpis_recompute(world.acme)
    credit = _credit(world)
    # 80% compliance: the 10% tier; the phishing simulation due 30 Sep 2025 was missed: +2%.
    # 12% of USD 8,410 = USD 1,009.20.
    assert credit["tier_percent"] == 10.0
    assert credit["percent"] == 12.0
    assert credit["amount"] == 1009.2
    assert credit["commitments"] == [{"name": PHISHING, "due": "2025-09-30", "percent": 2.0}]
    # Only the credit period the occurrence fell due in: August's phishing miss is August's.
    august = _credit(world, "2025-08")
    assert august["commitments"] == [{"name": PHISHING, "due": "2025-08-31", "percent": 2.0}]


def test_the_cap_holds_the_sum_of_tiers_and_commitments(world, september):
    _set_credit(world, PHISHING, "2")
    _set_credit(world, QBR_HELD, "15")
    kpis_recompute(world.acme)
    credit = _credit(world)
    # 10% + 2% + 15% = 27%, capped at 20%: USD 1,682.00.
    assert credit["percent"] == 20.0
    assert credit["amount"] == 1682.0
    assert [m["name"] for m in credit["commitments"]] == [PHISHING, QBR_HELD]


def test_a_kept_occurrence_credits_nothing(world, september, client_for):
    _set_credit(world, PHISHING, "2")
    occ = CommitmentOccurrence.objects.get(
        commitment__contract=world.acme_contract,
        commitment__name=PHISHING,
        due_date=date(2025, 9, 30),
    )
    # Done on time and confirmed by the client: kept.
    occ.completed_on, occ.recorded_at, occ.note = date(2025, 9, 20), timezone.now(), "Run."
    occ.answer, occ.answered_at = CommitmentOccurrence.Answer.CONFIRMED, timezone.now()
    occ.save()
    kpis_recompute(world.acme)
    credit = _credit(world)
    assert credit["commitments"] == []
    assert credit["amount"] == 841.0  # the 10% tier alone


def test_an_accepted_dispute_settling_the_occurrence_kept_moves_the_agreed_credit(world, september):
    _set_credit(world, PHISHING, "2")
    occ = CommitmentOccurrence.objects.get(
        commitment__contract=world.acme_contract,
        commitment__name=PHISHING,
        due_date=date(2025, 9, 30),
    )
    now = timezone.now()
    Dispute.objects.create(
        contract=world.acme_contract,
        client=world.acme,
        subject="occurrence",
        occurrence=occ,
        requested={"status": "kept"},
        reason="It was run on 28 September; the report is attached.",
        opened_at=now,
        due_at=now + timedelta(days=14),
        status=Dispute.Status.ACCEPTED,
        answered_at=now,
        answer_reason="Agreed.",
    )
    kpis_recompute(world.acme)
    assert _credit(world)["amount"] == 1009.2  # as measured: 12%
    agreed = _credit(world, agreed=True)
    assert agreed["commitments"] == []
    assert agreed["amount"] == 841.0  # as agreed: the tier's 10% alone


def test_a_month_without_tickets_still_credits_its_missed_commitments(world):
    # Acme's only ticket is of November 2025. September, before it, has no ticket: resolution
    # compliance has no value, but its missed phishing simulation is owed, and September has
    # figures since a commitment fell due in it (and in July, the first month of the term).
    _ticket(
        world,
        1,
        60,
        created_at=SEPTEMBER_OPENED + timedelta(days=63),
        first_response_at=SEPTEMBER_OPENED + timedelta(days=63, minutes=10),
        resolved_at=SEPTEMBER_OPENED + timedelta(days=63, minutes=60),
    )
    _set_credit(world, PHISHING, "2")
    kpis_recompute(world.acme)
    assert KpiSnapshot.objects.filter(client=world.acme, period_label="2025-07").exists()
    credit = _credit(world, "2025-09")
    assert credit["measured"] is None
    assert credit["tier_percent"] == 0.0
    assert credit["amount"] == 168.2  # 2% of USD 8,410


def test_the_credits_page_names_the_missed_commitments(world, september, client_for):
    _set_credit(world, PHISHING, "2")
    kpis_recompute(world.acme)
    url = reverse("client_tickets", args=[world.acme.slug])
    page = client_for(world.owner).get(url, {"period": "2025-09", "figure": "service_credits"})
    html = page.content.decode()
    assert "Commitments missed in 2025-09 that the contract credits" in html
    assert "Phishing simulation, due 30 Sep 2025: 2% of the monthly fee" in html


def _occurrence(name, due, status, percent="2"):
    return SimpleNamespace(
        pk=hash((name, due)),
        due_date=due,
        commitment=SimpleNamespace(
            name=name, owner="msp", credit_percent=Decimal(percent) if percent else None
        ),
        evidence_count=0,
        status_on=lambda today, evidence_count: status,
    )


@pytest.mark.parametrize(
    ("status", "credited"),
    [
        ("overdue", True),
        ("late", True),
        ("missing_evidence", True),
        ("missed", True),
        ("kept", False),
        ("awaiting", False),  # the other side may still confirm it
        ("disputed", False),  # not settled yet
        ("due", False),
    ],
)
def test_which_statuses_are_a_credited_miss(status, credited):
    period = Period.parse("2025-09", "UTC")
    occ = _occurrence("X", date(2025, 9, 30), status)
    assert bool(commitments_missed([occ], period, date(2025, 10, 5))) is credited


def test_only_occurrences_due_inside_the_period_and_before_today_count():
    period = Period.parse("2025-09", "UTC")
    before = _occurrence("A", date(2025, 8, 31), "overdue")
    inside = _occurrence("B", date(2025, 9, 30), "overdue")
    uncredited = _occurrence("C", date(2025, 9, 30), "overdue", percent=None)
    assert [
        m["name"]
        for m in commitments_missed([before, inside, uncredited], period, date(2025, 10, 1))
    ] == ["B"]
    # On its due day it is not yet missed.
    assert commitments_missed([inside], period, date(2025, 9, 30)) == []


def test_the_contract_file_needs_credit_terms_for_a_commitment_credit():
    import yaml

    document = demo_document("acme-dental.yaml")
    document["commitments"][0]["credit_percent"] = 5
    parsed = contract_file_parse(yaml.safe_dump(document))
    assert parsed.commitments[0].credit_percent == 5
    del document["contract"]["service_credits"]
    with pytest.raises(ContractFileError) as refused:
        contract_file_parse(yaml.safe_dump(document))
    assert (
        "a credit_percent is given for Backup restore test, but contract.service_credits is "
        "missing" in str(refused.value.problems)
    )


def test_the_commitments_setup_page_sets_and_keeps_the_measure_and_the_credit(world, client_for):
    """Saving the page keeps what it does not show changed: a measured commitment stays measured
    (it used to lose its measure), and the credit is set from the page."""
    from contracts.models import Commitment

    from .test_contract_setup import _shown_as_posted

    patches = world.acme_contract.commitments.get(name="Critical patches installed within 30 days")
    patches.measured_by, patches.within_days, patches.severities = "patches", 30, "critical"
    patches.save()
    url = reverse("contract_setup_commitments", args=[world.acme.slug, world.acme_contract.pk])
    web = client_for(world.advisor)
    page = web.get(url)
    posted = _shown_as_posted(page)
    saved = web.post(url, posted, follow=True)
    assert "Nothing changed." in saved.content.decode()
    index = next(
        i
        for i, form in enumerate(page.context["rows"].forms)
        if form.initial.get("name") == PHISHING
    )
    posted |= {
        f"commitment-{index}-measured_by": "phishing",
        f"commitment-{index}-limit_percent": "10",
        f"commitment-{index}-credit_percent": "2.5",
    }
    web.post(url, posted, follow=True)
    phishing = Commitment.objects.get(contract=world.acme_contract, name=PHISHING)
    assert (phishing.measured_by, phishing.limit_percent, phishing.credit_percent) == (
        "phishing",
        Decimal("10.00"),
        Decimal("2.50"),
    )
    patches.refresh_from_db()
    assert (patches.measured_by, patches.within_days) == ("patches", 30)
    # A measure that needs a number of days, without one, is refused on its field.
    posted[f"commitment-{index}-measured_by"] = "backups"
    refused = web.post(url, posted)
    assert "Give the number of days this measure allows." in refused.content.decode()
    # A credit on a commitment the client owns, or without credit terms, is refused in words.
    posted[f"commitment-{index}-measured_by"] = "phishing"
    posted[f"commitment-{index}-owner"] = "customer"
    refused = web.post(url, posted).content.decode()
    assert "Only a commitment the MSP owns credits the client when missed." in refused
    posted[f"commitment-{index}-owner"] = "msp"
    world.acme_contract.__class__.objects.filter(pk=world.acme_contract.pk).update(
        credit_measure=""
    )
    refused = web.post(url, posted).content.decode()
    assert "The contract has no service-credit terms (their period and cap)" in refused
    assert "contract.service_credits" not in refused  # words, not the file's keys


def test_only_the_msps_own_commitments_credit_the_client(world, september):
    # The QBR held is the MSP's; made the client's own, its miss credits nothing.
    _set_credit(world, QBR_HELD, "15")
    world.acme_contract.commitments.filter(name=QBR_HELD).update(owner="customer")
    kpis_recompute(world.acme)
    assert _credit(world)["commitments"] == []
    assert _credit(world)["amount"] == 841.0


def test_the_contract_file_refuses_a_credit_on_a_commitment_the_msp_does_not_own():
    import yaml

    document = demo_document("acme-dental.yaml")
    document["commitments"][0].update(owner="shared", credit_percent=5)
    with pytest.raises(ContractFileError) as refused:
        contract_file_parse(yaml.safe_dump(document))
    assert "only a commitment the MSP owns (owner: msp) can" in str(refused.value.problems)
