"""Rules change by agreement, forward in time (issue 24). Each of the issue's findings is a test
here that fails on the code before it: a matrix nobody approved removed verdicts; an admin edit of
a used SLA version rewrote verdicts; customer-owned categories came from a matrix no longer
current; a matrix with gaps could be approved."""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from contracts.contract_file import ContractFileError
from contracts.models import (
    AuditEvent,
    ResponsibilityAssignment,
    SlaPolicyVersion,
    SlaTarget,
)
from contracts.services.agreement import version_approve
from kpis.metrics.recompute import kpis_recompute
from kpis.models import KpiSnapshot, TicketClock

from .conftest import (
    PASSWORD,
    agree,
    apply_yaml_text,
    demo_document,
    propose_and_agree,
    without_gaps,
)
from .test_api import document, token_client
from .test_recompute import SAMPLES, import_sample
from .test_security_round_two import _current_code

pytestmark = pytest.mark.skipif(not SAMPLES.exists(), reason="../shared is not beside the clone")


@pytest.fixture
def operator(django_user_model):
    """A superuser with a second factor: the Django admin is open to them only."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = django_user_model.objects.create_superuser(email="root@portal.test", password=PASSWORD)
    TOTP.activate(user, generate_totp_secret())
    return user


def _accounts_owned_by_the_customer(doc: dict) -> dict:
    for area in doc["responsibilities"]:
        if area["area"] == "Data ownership and access approvals":
            area["categories"] = ["Accounts", "Onboarding"]
    return without_gaps(doc)


def _figures(world, label="2025-Q3") -> dict:
    return KpiSnapshot.objects.get(client=world.acme, period_label=label).values


def test_a_matrix_nobody_approved_removes_no_verdict(world):
    """MSP staff post a contract file that puts the 'Accounts' tickets in a customer-owned area:
    it is a proposal, from today (tickets were judged already), and removes no verdict; the
    same change dated from the contract's start is refused, since it would rewrite them."""
    import_sample(world, "connectwise_service_tickets.csv", "--preset", "connectwise")
    before = _figures(world)
    judged = TicketClock.objects.filter(ticket__category="Accounts").exclude(resolution_verdict="")
    count = judged.count()
    assert count > 0

    response = token_client(world.msp_staff).post(
        reverse("contract-file-apply"),
        document(_accounts_owned_by_the_customer(demo_document("acme-dental.yaml"))),
        format="json",
    )
    assert response.status_code == 200, response.content
    kpis_recompute(world.acme)
    assert judged.count() == count and _figures(world) == before
    proposal = world.acme_contract.current_matrix()
    assert proposal.state == "proposed"
    assert proposal.effective_from == world.acme_contract.today()

    # Both sides agree: from today on, so not one verdict of the past changes.
    version_approve(version=proposal, side="msp", actor=world.msp_staff, source="web")
    kpis_recompute(world.acme)
    assert judged.count() == count and _figures(world) == before  # one side: nothing
    version_approve(version=proposal, side="client", actor=world.owner, source="web")
    kpis_recompute(world.acme)
    assert judged.count() == count and _figures(world) == before

    # Dated from the contract's start, the same change would rewrite four months: refused.
    doc = _accounts_owned_by_the_customer(demo_document("acme-dental.yaml"))
    doc["responsibilities"][0]["split"] = "changed"  # a new version
    doc["responsibilities"][0]["owner"] = "shared"
    with pytest.raises(ContractFileError, match="would change the verdicts of"):
        apply_yaml_text(
            yaml.safe_dump(doc), source="web", matrix_effective_from=world.acme_contract.starts
        )


def test_the_same_matrix_dated_from_a_later_day_is_agreed_and_rewrites_nothing(world):
    import_sample(world, "connectwise_service_tickets.csv", "--preset", "connectwise")
    before = _figures(world)
    apply_yaml_text(
        yaml.safe_dump(_accounts_owned_by_the_customer(demo_document("acme-dental.yaml"))),
        source="web",
        matrix_effective_from=date(2026, 11, 1),  # after the sample's last ticket
    )
    version = agree(world.acme_contract.current_matrix(), client_user=world.owner)
    assert version.state == "agreed"
    kpis_recompute(world.acme)
    assert _figures(world) == before
    assert TicketClock.objects.filter(matrix_version=version).count() == 0


def test_a_used_sla_version_cannot_be_edited_in_the_admin_or_anywhere(
    world, client, operator, fresh_cache
):
    import_sample(world, "connectwise_service_tickets.csv", "--preset", "connectwise")
    target = SlaTarget.objects.get(policy__contract=world.acme_contract, priority="P2")
    client.post(reverse("account_login"), {"login": operator.email, "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": _current_code(operator)})
    admin = client
    url = reverse("admin:contracts_slatarget_change", args=[target.pk])
    page = admin.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content  # read only
    posted = admin.post(url, {"response_minutes": 60, "resolution_minutes": 900})
    assert posted.status_code == 403
    policy = target.policy
    policy_url = reverse("admin:contracts_slapolicyversion_change", args=[policy.pk])
    assert admin.post(policy_url, {"repeat_window_days": 45}).status_code == 403
    # Nor through the ORM, a shell or raw SQL: the database refuses.
    for attempt in (
        lambda: SlaTarget.objects.filter(pk=target.pk).update(resolution_minutes=900),
        lambda: SlaPolicyVersion.objects.filter(pk=policy.pk).update(repeat_window_days=45),
        lambda: SlaPolicyVersion.objects.filter(pk=policy.pk).update(client_approved_at=None),
        lambda: target.delete(),
        lambda: ResponsibilityAssignment.objects.filter(
            version__contract=world.acme_contract
        ).update(owner="customer"),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            attempt()
    target.refresh_from_db()
    assert target.resolution_minutes == 480


def test_customer_owned_categories_come_from_the_matrix_in_force_at_creation(world):
    """v1 (from the contract's start) puts 'Accounts' in a customer-owned area; v2 (from
    1 Aug 2025) moves it back to the MSP. July's Accounts tickets get no verdict; August's do.
    Before, the categories of v1 applied to every ticket, since v2 had none."""
    doc = _accounts_owned_by_the_customer(demo_document("acme-dental.yaml"))
    propose_and_agree(doc, client_user=world.owner, msp_user=world.msp_staff)
    for area in doc["responsibilities"]:
        area.pop("categories", None)
    doc["responsibilities"][0]["categories"] = ["Accounts"]  # Monitoring and alerting: the MSP
    apply_yaml_text(yaml.safe_dump(doc), source="web", matrix_effective_from=date(2025, 8, 1))
    second = agree(world.acme_contract.current_matrix())
    import_sample(world, "connectwise_service_tickets.csv", "--preset", "connectwise")

    accounts = TicketClock.objects.filter(ticket__client=world.acme, ticket__category="Accounts")
    july = accounts.filter(ticket__created_at__lt="2025-08-01T04:00:00Z")  # midnight in Chicago
    august = accounts.filter(ticket__created_at__gte="2025-08-01T05:00:00Z")
    assert july.exists() and august.exists()
    assert set(july.values_list("no_verdict_reason", flat=True)) == {"customer-owned area"}
    assert "customer-owned area" not in set(august.values_list("no_verdict_reason", flat=True))
    assert set(august.values_list("matrix_version", flat=True)) == {second.pk}
    # The snapshots say which versions they used.
    rules = KpiSnapshot.objects.get(client=world.acme, period_label="2025-08").rules_used
    assert rules["matrix"] == [second.pk]
    assert rules["sla"] == [world.acme_contract.current_policy().pk]


def test_a_matrix_with_gaps_cannot_be_approved(world, client_for):
    version = world.acme_contract.current_matrix()  # the demo's: four areas unassigned
    with pytest.raises(ValidationError, match="Backups and restore tests: nobody is assigned"):
        version_approve(version=version, side="client", actor=world.owner, source="web")
    url = reverse("matrix-version-approve", args=[version.pk])
    response = token_client(world.msp_staff).post(url, {"side": "msp"})
    assert response.status_code == 400
    assert "Change management: shared, but the split is not written down" in str(response.json())
    version.refresh_from_db()
    assert version.client_approved_at is None and version.msp_approved_at is None


def test_a_proposed_sla_decides_nothing_until_both_sides_approve(world):
    doc = demo_document("acme-dental.yaml")
    doc["sla"]["effective_from"] = "2025-08-01"
    doc["sla"]["targets"]["P3"]["resolution_minutes"] = 720
    response = token_client(world.msp_staff).post(
        reverse("contract-file-apply"), document(doc), format="json"
    )
    assert response.status_code == 200
    proposal = SlaPolicyVersion.objects.get(
        contract=world.acme_contract, effective_from="2025-08-01"
    )
    version_approve(version=proposal, side="client", actor=world.owner, source="web")
    assert world.acme_contract.current_policy(on=date(2025, 9, 1)) != proposal
    version_approve(version=proposal, side="msp", actor=world.msp_staff, source="web")
    assert world.acme_contract.current_policy(on=date(2025, 9, 1)) == proposal
    import_sample(world, "halopsa_tickets.csv")
    later = TicketClock.objects.filter(
        ticket__priority="P3", ticket__created_at__gte="2025-08-02T00:00:00Z", no_verdict_reason=""
    )
    assert later.exists() and set(later.values_list("policy_version", flat=True)) == {proposal.pk}
    trail = AuditEvent.objects.filter(contract=world.acme_contract, object_id=str(proposal.pk))
    assert {"propose", "approve (client)", "approve (msp)", "agreed"} <= set(
        trail.values_list("action", flat=True)
    )


def test_a_late_approval_would_rewrite_verdicts_and_is_refused_unless_a_correction(world):
    import_sample(world, "halopsa_tickets.csv")
    doc = demo_document("acme-dental.yaml")
    doc["sla"]["effective_from"] = "2025-08-15"
    doc["sla"]["targets"]["P3"]["resolution_minutes"] = 720
    since = TicketClock.objects.filter(
        ticket__client=world.acme,
        ticket__created_at__gte="2025-08-15T05:00:00Z",  # midnight in Chicago
        policy_version__isnull=False,
    ).count()
    with pytest.raises(ContractFileError, match=f"would change the verdicts of {since} tickets"):
        apply_yaml_text(yaml.safe_dump(doc), source="web")
    # As a correction with its reason: allowed, it says which results it changes.
    result = apply_yaml_text(
        yaml.safe_dump(doc), source="web", correction="P3 was agreed at 12 hours in the signed SOW"
    )
    proposal = result.contract.sla_versions.get(effective_from="2025-08-15")
    assert proposal.is_correction and proposal.changes_results["tickets"] == since
    assert min(proposal.changes_results["months"]) == "2025-08"
    agree(proposal, client_user=world.owner, msp_user=world.msp_staff)
    kpis_recompute(world.acme)
    assert set(
        TicketClock.objects.filter(
            ticket__priority="P3",
            ticket__created_at__gte="2025-08-16T00:00:00Z",
            no_verdict_reason="",
        ).values_list("resolution_target_seconds", flat=True)
    ) == {720 * 60}


def test_the_rules_page_shows_the_change_and_each_side_approves(world, client_for):
    doc = demo_document("acme-dental.yaml")
    doc["sla"]["effective_from"] = "2026-12-01"
    doc["sla"]["targets"]["P2"]["resolution_minutes"] = 900
    token_client(world.msp_staff).post(reverse("contract-file-apply"), document(doc), format="json")
    url = reverse("contract_rules", args=[world.acme.slug, world.acme_contract.pk])
    html = client_for(world.owner).get(url).content.decode()
    assert "Waiting for approval (2)" in html  # and the demo's matrix, never approved
    assert "P2 – high: resolution" in html
    assert "<del>8 h (business hours)</del>" in html and "<ins>15 h (business hours)</ins>" in html
    proposal = SlaPolicyVersion.objects.get(effective_from="2026-12-01")
    approve = reverse(
        "contract_rules_approve",
        args=[world.acme.slug, world.acme_contract.pk, "sla", proposal.pk, "msp"],
    )
    assert client_for(world.owner).post(approve).status_code == 403  # not the owner's side
    assert client_for(world.msp_staff).post(approve).status_code == 302
    proposal.refresh_from_db()
    assert proposal.msp_approved_by == world.msp_staff and proposal.state == "proposed"
