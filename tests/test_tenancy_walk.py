"""Charlie must not see Alice's data: every route that takes an object id, walked as an outsider
with another tenant's real ids, answers 404; every list leaves the other tenant's objects out.
Every write attempt of the walk (POST with a plausible body, PATCH, DELETE), and every write that
names the other tenant in its body, leaves each row of that tenant as it was
(tests/tenant_rows.py digests them).

A route added without an entry in ROUTE_TARGETS (or NO_TENANT_DATA) makes this test fail, and so
does a route that takes a POST without an entry in body_writes or SELF_ONLY_WRITES.
"""

from __future__ import annotations

import io
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .tenant_rows import changed_tables, tenant_digest

# Routes that hold no tenant data, or are the log-in machinery itself (allauth, admin, docs).
NO_TENANT_DATA = {
    "home",
    "organisation_switch",
    "api_token",
    "api-root",
    "api-schema",
    "api-docs",
    "contract-file-apply",  # covered by tests/test_api.py (applying into another tenant)
    "import-upload",  # the client is named in the body: tests/test_import_api.py
    "ticket-batch",  # likewise
    # Share links are for people without an account: the signed token is the access. Forged,
    # expired and revoked tokens are refused in tests/test_reviews.py.
    "review_shared",
    "review_shared_pdf",
    # An invitation link, likewise: forged, replaced, used, revoked and expired tokens are refused
    # in tests/test_people.py.
    "invitation_accept",
}
EXCLUDED_NAMESPACES = {
    "admin"
}  # staff only; tests/test_security_round_two.py shows others are turned away


def _target_objects(contract):
    """Real objects of the target tenant, one of each kind."""
    evidence = (
        contract.commitments.filter(occurrences__evidence__isnull=False)
        .first()
        .occurrences.filter(evidence__isnull=False)
        .first()
        .evidence.first()
    )
    return {
        "import": _import_of(contract),
        "client": contract.client,
        "contract": contract,
        "policy": contract.sla_versions.first(),
        "proposal": _proposal_of(contract),
        "matrix": contract.current_matrix(),
        "commitment": contract.commitments.first(),
        "occurrence": evidence.occurrence,
        "evidence": evidence,
        "audit": contract.audit_events.first(),
        "outage": _outage_of(contract),
        "ticket": _ticket_of(contract),
        "snapshot": _snapshot_of(contract),
        "dispute": _dispute_of(contract),
        "msp_report": _msp_report_of(contract),
        "scorecard_answer": _scorecard_answer_of(contract),
        "patch_occurrence": _patch_occurrence_of(contract),
        "patch_report": _patch_report_of(contract),
        "tool_report_job": _tool_report_job_of(contract),
        "tool_report_columns": _tool_report_columns_of(contract),
        **_measured_targets_of(contract),
        **_review_of(contract),
        **_people_of(contract),
    }


def _proposal_of(contract):
    """An SLA change the contract's MSP proposed, waiting for both approvals."""
    import yaml

    from contracts.models import SlaPolicyVersion

    from .conftest import apply_yaml_text, demo_document, rival_document

    proposal = SlaPolicyVersion.objects.filter(
        SlaPolicyVersion.pending_q(), contract=contract
    ).first()
    if proposal is None:
        documents = {
            "acme-dental": lambda: demo_document("acme-dental.yaml"),
            "birch-cole-law": lambda: demo_document("birch-cole-law.yaml"),
            "other-co": rival_document,
        }
        doc = documents[contract.client.slug]()
        # The contract's parties as they are now (the world may have changed its advisor).
        if contract.advisor is not None:
            doc["advisor"] = {"slug": contract.advisor.slug, "name": contract.advisor.name}
        else:
            doc.pop("advisor", None)
        doc["sla"]["effective_from"] = "2027-01-01"
        doc["sla"]["targets"]["P1"]["response_minutes"] = 20
        apply_yaml_text(yaml.safe_dump(doc), source="web")
        proposal = SlaPolicyVersion.objects.get(SlaPolicyVersion.pending_q(), contract=contract)
    return proposal


def _people_of(contract):
    """The contract's organisations (client, MSP, advisory firm), a member of each and an
    invitation waiting in each: what the People pages and their actions take."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Invitation

    orgs = [o for o in (contract.client, contract.msp, contract.advisor) if o is not None]
    invitations = [
        Invitation.objects.get_or_create(
            organisation=org,
            email=f"walk@{org.slug}.test",
            defaults={
                "role": "member",
                "nonce": "walk",
                "sent_at": timezone.now(),
                "expires_at": timezone.now() + timedelta(days=7),
            },
        )[0]
        for org in orgs
    ]
    memberships = [org.memberships.select_related("organisation").first() for org in orgs]
    return {"people_orgs": orgs, "memberships": memberships, "invitations": invitations}


def _review_of(contract):
    """A published review of the contract with an action item and a share link."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from reviews.models import ActionItem, Review, ShareLink

    review, _ = Review.objects.get_or_create(
        client=contract.client,
        contract=contract,
        quarter="2025-Q3",
        defaults={"status": Review.Status.PUBLISHED, "frozen": {}},
    )
    item, _ = ActionItem.objects.get_or_create(
        client=contract.client, raised_in="2025-Q3", title="Walk item", owner_side="client"
    )
    link, _ = ShareLink.objects.get_or_create(
        review=review, defaults={"expires_at": timezone.now() + timedelta(days=1)}
    )
    if not review.pdf:  # a PDF that exists: a 404 for it then says tenancy, not "none made"
        review.pdf.save("walk.pdf", ContentFile(b"%PDF-1.4 made for the tenancy walk"))
    return {"review": review, "action_item": item, "share_link": link}


def _dispute_of(contract):
    """An open dispute of the contract's client about its imported ticket."""
    from datetime import timedelta

    from django.utils import timezone

    from disputes.models import Dispute

    ticket = _ticket_of(contract)
    now = timezone.now()
    dispute, _ = Dispute.objects.get_or_create(
        contract=contract,
        client=contract.client,
        ticket=ticket,
        defaults={
            "subject": Dispute.Subject.PRIORITY,
            "ticket_label": f"{ticket.source_system} {ticket.external_id}",
            "requested": {"priority": "P4"},
            "measured": {"priority": ticket.priority},
            "reason": "made for the tenancy walk",
            "opened_at": now,
            "due_at": now + timedelta(days=14),
        },
    )
    return dispute


def _snapshot_of(contract):
    """A stored KPI snapshot of the contract's client (values as a recompute stores them)."""
    from datetime import date

    from django.utils import timezone

    from kpis.models import KpiSnapshot

    snapshot, _ = KpiSnapshot.objects.get_or_create(
        client=contract.client,
        period_label="2025-07",
        defaults={
            "period_kind": "month",
            "period_start": date(2025, 7, 1),
            "values": {"tickets.created": 1},
            "computed_at": timezone.now(),
        },
    )
    return snapshot


def _patch_occurrence_of(contract):
    """An occurrence of a commitment of the contract measured from patch reports."""
    from contracts.models import Commitment
    from contracts.services.commitments import commitment_occurrences_ensure

    commitment, _ = Commitment.objects.get_or_create(
        contract=contract,
        name="Walk: critical patches within 30 days",
        defaults={"cadence": "monthly", "measured_by": "patches", "within_days": 30},
    )
    commitment_occurrences_ensure(commitment=commitment)
    return commitment.occurrences.order_by("period_start").first()


def _patch_report_of(contract):
    """A patch report imported for the contract's client."""
    from datetime import date
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    from evidence.models import ToolReport
    from evidence.services import patch_report_import

    report = ToolReport.objects.filter(contract=contract).first()
    if report is None:
        sample = Path(__file__).parent / "data" / "patch_reports" / "generic.csv"
        report = patch_report_import(
            contract=contract,
            upload=SimpleUploadedFile("generic.csv", sample.read_bytes()),
            preset="generic",
            report_date=date(2025, 10, 3),
            actor=None,
            source="command",
        )
    return report


def _tool_report_job_of(contract):
    """A patch report uploaded for the contract and queued for import (the test's transaction
    never commits, so no worker takes it)."""
    from datetime import date
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    from evidence.jobs import tool_report_job_create
    from evidence.kinds import KINDS
    from evidence.models import ToolReportJob

    job = ToolReportJob.objects.filter(contract=contract).first()
    if job is None:
        sample = Path(__file__).parent / "data" / "patch_reports" / "generic.csv"
        job = tool_report_job_create(
            contract=contract,
            kind=KINDS["patches"],
            upload=SimpleUploadedFile("walk-queued.csv", sample.read_bytes()),
            preset="generic",
            report_date=date(2025, 10, 3),
            mapping={},
            statement="",
            actor=None,
            via=ToolReportJob.Via.API,
        )
    return job


def _tool_report_columns_of(contract):
    """Columns saved for the contract's client alone (as an advisor saves them): the MSP's
    own would be shared by every client of the MSP, another tenant of the same MSP included."""
    from evidence.models import ToolReportMapping

    saved, _ = ToolReportMapping.objects.get_or_create(
        msp=contract.msp,
        client=contract.client,
        kind="patches",
        name=f"Walk columns of {contract.client.name}",
        defaults={"preset": "generic", "mapping": {"device": "Walk Device"}},
    )
    return saved


def _measured_targets_of(contract):
    """For each kind of tool report but patches (evidence/kinds.py): an occurrence of a
    commitment measured by it, and a report of it imported for the contract's client (the MFA
    attestation with its statement)."""
    from datetime import date
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    from contracts.models import Commitment
    from contracts.services.commitments import commitment_occurrences_ensure
    from evidence.kinds import KINDS
    from evidence.models import ToolReport

    data = Path(__file__).parent / "data"
    samples = {
        "backups": ("monthly", data / "backup_reports" / "generic.csv"),
        "restores": ("quarterly", data / "backup_reports" / "generic_restores.csv"),
        "phishing": ("monthly", data / "phishing_reports" / "generic.csv"),
        "mfa": ("quarterly", data / "mfa_reports" / "generic.csv"),
    }
    assert set(samples) == set(KINDS) - {"patches"}, "a new kind of report needs its walk target"
    found = {}
    for kind, (cadence, sample) in samples.items():
        commitment, _ = Commitment.objects.get_or_create(
            contract=contract,
            name=f"Walk: measured by {kind}",
            defaults={
                "cadence": cadence,
                "measured_by": kind,
                "within_days": 2,
                "limit_percent": 10,
            },
        )
        commitment_occurrences_ensure(commitment=commitment)
        found[f"{kind}_occurrence"] = commitment.occurrences.order_by("period_start").first()
        report = ToolReport.objects.filter(contract=contract, kind=kind).first()
        if report is None:
            extra = {"statement": "Every technician signs in with MFA."} if kind == "mfa" else {}
            report = KINDS[kind].import_report(
                contract=contract,
                upload=SimpleUploadedFile(sample.name, sample.read_bytes()),
                preset="generic",
                report_date=date(2025, 12, 10),
                actor=None,
                source="command",
                **extra,
            )
        found[f"{kind}_report"] = report
    return found


def _msp_report_of(contract):
    """The MSP's report of 2025-Q3 for the contract, with a figure and its file."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reconciliation.models import MspReport
    from reconciliation.reports import msp_report_attach, msp_report_save

    report = MspReport.objects.filter(contract=contract, period_label="2025-Q3").first()
    if report is None:
        report = msp_report_save(
            contract=contract,
            period_label="2025-Q3",
            figures={"resolution.compliance": 0.98},
            actor=None,
            source="command",
        )
        pdf = SimpleUploadedFile("q3.pdf", b"%PDF-1.4 the MSP's Q3 report", "application/pdf")
        msp_report_attach(report=report, upload=pdf, actor=None, source="command")
    return report


def _scorecard_answer_of(contract):
    """The client's provider scorecard with a newcomer and its answer with an evidence file."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from scorecard.models import Answer, Candidate
    from scorecard.services import answers_save, assessment_ensure

    assessment = assessment_ensure(client=contract.client, contract=contract)
    newcomer, _ = Candidate.objects.get_or_create(assessment=assessment, name="Walk Newcomer")
    if not newcomer.answers.exists():
        pdf = SimpleUploadedFile("walk.pdf", b"%PDF-1.4 the walk's evidence", "application/pdf")
        answers_save(
            candidate=newcomer,
            answers={"mfa": {"answer": "yes", "note": ""}},
            files={"mfa": pdf},
            actor=None,
            source="command",
        )
    return Answer.objects.get(candidate=newcomer, question="mfa")


def _ticket_of(contract):
    from kpis.models import Ticket

    _import_of(contract)  # imports one ticket
    return Ticket.objects.filter(client=contract.client).first()


def _outage_of(contract):
    from datetime import UTC, datetime

    from kpis.models import Outage

    outage, _ = Outage.objects.get_or_create(
        client=contract.client,
        service="Email and collaboration",
        started_at=datetime(2025, 7, 10, 14, tzinfo=UTC),
        defaults={"note": "walk"},
    )
    return outage


def _import_of(contract):
    """A finished single-client import of the contract's client, with a problem row."""
    from kpis.imports.services import import_file_sync
    from kpis.models import ImportJob

    job = ImportJob.objects.filter(client=contract.client).first()
    if job is None:
        job = import_file_sync(
            msp=contract.msp,
            client=contract.client,
            user=None,
            via=ImportJob.Via.COMMAND,
            name=f"{contract.client.slug}-tickets.csv",
            content=b"Ticket,Opened,Priority\n1,2025-07-01 10:00,P1\n2,not a date,P2\n",
            preset="generic",
        )
    return job


def route_targets(t: dict, own_slug: str) -> dict[str, list[dict]]:
    """kwargs per route name: the target tenant's ids, and its ids under the caller's own slug."""
    slug, pk = t["client"].slug, t["contract"].pk
    page = {
        "client_home": [{"slug": slug}],
        "client_dashboard": [{"slug": slug}],
        "client_tickets": [{"slug": slug}],
        "client_ticket": [{"slug": slug, "pk": t["ticket"].pk}],
        "contract_detail": [{"slug": slug, "pk": pk}],
        "contract_matrix": [{"slug": slug, "pk": pk}],
        "contract_commitments": [{"slug": slug, "pk": pk}],
        "contract_history": [{"slug": slug, "pk": pk}],
        "contract_history_csv": [{"slug": slug, "pk": pk}],
        "contract_matrix_approve": [
            {"slug": slug, "pk": pk, "version": t["matrix"].pk, "side": side}
            for side in ("client", "msp")
        ],
        "contract_rules": [{"slug": slug, "pk": pk}],
        "contract_rules_approve": [
            {"slug": slug, "pk": pk, "kind": kind, "version": version.pk, "side": side}
            for kind, version in (("sla", t["proposal"]), ("matrix", t["matrix"]))
            for side in ("client", "msp")
        ],
        "contract_rules_withdraw": [
            {"slug": slug, "pk": pk, "kind": kind, "version": version.pk}
            for kind, version in (("sla", t["proposal"]), ("matrix", t["matrix"]))
        ],
        "occurrence_complete": [{"slug": slug, "pk": pk, "occurrence": t["occurrence"].pk}],
        "occurrence_answer": [{"slug": slug, "pk": pk, "occurrence": t["occurrence"].pk}],
        "evidence_upload": [{"slug": slug, "pk": pk, "occurrence": t["occurrence"].pk}],
        "evidence_download": [{"slug": slug, "pk": pk, "evidence": t["evidence"].pk}],
        "contract_outages": [{"slug": slug, "pk": pk}],
        "patch_reports": [{"slug": slug, "pk": pk}],
        "occurrence_patches": [{"slug": slug, "pk": pk, "occurrence": t["patch_occurrence"].pk}],
        "patch_report_undo": [{"slug": slug, "pk": pk, "report": t["patch_report"].pk}],
        "phishing_reports": [{"slug": slug, "pk": pk}],
        "phishing_report_undo": [{"slug": slug, "pk": pk, "report": t["phishing_report"].pk}],
        "occurrence_phishing": [
            {"slug": slug, "pk": pk, "occurrence": t["phishing_occurrence"].pk}
        ],
        "mfa_reports": [{"slug": slug, "pk": pk}],
        "mfa_report_undo": [{"slug": slug, "pk": pk, "report": t["mfa_report"].pk}],
        "mfa_report_file": [{"slug": slug, "pk": pk, "report": t["mfa_report"].pk}],
        "occurrence_mfa": [{"slug": slug, "pk": pk, "occurrence": t["mfa_occurrence"].pk}],
        "backup_reports": [{"slug": slug, "pk": pk}],
        "restore_reports": [{"slug": slug, "pk": pk}],
        "occurrence_backups": [{"slug": slug, "pk": pk, "occurrence": t["backups_occurrence"].pk}],
        "occurrence_restores": [
            {"slug": slug, "pk": pk, "occurrence": t["restores_occurrence"].pk}
        ],
        "backup_report_undo": [{"slug": slug, "pk": pk, "report": t["backups_report"].pk}],
        "restore_report_undo": [{"slug": slug, "pk": pk, "report": t["restores_report"].pk}],
        **{
            name: [{"slug": slug, "pk": pk, "job": t["tool_report_job"].pk}]
            for name in ("tool_report_job", "tool_report_job_status", "tool_report_job_file")
        },
        "saved_columns_forget": [{"slug": slug, "pk": pk, "saved": t["tool_report_columns"].pk}],
        **{
            name: [{"slug": slug, "pk": pk}]
            for name in (
                "contract_setup",
                "contract_setup_terms",
                "contract_setup_calendars",
                "contract_setup_sla",
                "contract_setup_matrix",
                "contract_setup_commitments",
                "contract_file_upload",
                "contract_file_download",
            )
        },
        "outage_remove": [{"slug": slug, "pk": pk, "outage": t["outage"].pk}],
        "client_reconciliation": [{"slug": slug}],
        "reported_figures": [{"slug": slug}],
        "reported_file": [{"slug": slug, "pk": t["msp_report"].pk}],
        "review_list": [{"slug": slug}],
        **{name: [{"slug": slug}] for name in ("scorecard", "scorecard_compare", "scorecard_pdf")},
        "scorecard_candidate": [{"slug": slug, "pk": t["scorecard_answer"].candidate_id}],
        "scorecard_answer_evidence": [{"slug": slug, "pk": t["scorecard_answer"].pk}],
        "dispute_list": [{"slug": slug}],
        "dispute_ticket": [{"slug": slug, "pk": t["ticket"].pk}],
        "dispute_occurrence": [{"slug": slug, "pk": pk, "occurrence": t["occurrence"].pk}],
        **{
            name: [{"slug": slug, "pk": t["dispute"].pk}]
            for name in ("dispute_detail", "dispute_answer", "dispute_withdraw")
        },
        "review_start": [{"slug": slug}],
        "review_item_status": [{"slug": slug, "pk": t["review"].pk, "item": t["action_item"].pk}],
        "review_item_edit": [{"slug": slug, "pk": t["review"].pk, "item": t["action_item"].pk}],
        "review_share_revoke": [{"slug": slug, "pk": t["review"].pk, "link": t["share_link"].pk}],
        "people": [{"slug": org.slug} for org in t["people_orgs"]],
        "people_invite": [{"slug": org.slug} for org in t["people_orgs"]],
    }
    for name, key in (
        ("member_role", "memberships"),
        ("member_remove", "memberships"),
        ("invitation_resend", "invitations"),
        ("invitation_revoke", "invitations"),
    ):
        page[name] = [{"slug": row.organisation.slug, "pk": row.pk} for row in t[key]]
    for name in (
        "review_detail",
        "review_edit",
        "review_item_add",
        "review_comment",
        "review_publish",
        "review_correct",
        "review_share",
        "review_pdf",
        "review_pdf_status",
    ):
        page[name] = [{"slug": slug, "pk": t["review"].pk}]
    job = {"pk": t["import"].pk}
    imports = {
        name: [job]
        for name in (
            "import_detail",
            "import_mapping",
            "import_status",
            "import_problems_csv",
            "import_file",
            "import_rerun",
            "import_overlap",
            "import_undo",
            "import-detail",
            "import-problems",
        )
    }
    # The same ids behind the caller's own client slug must not get through either.
    for name, variants in list(page.items()):
        if name not in (
            "client_home",
            "client_dashboard",
            "client_tickets",
            "client_reconciliation",
            "reported_figures",
            "scorecard",
            "scorecard_compare",
            "scorecard_pdf",
            "review_list",
            "review_start",
            "dispute_list",
            "people",
            "people_invite",
        ):
            page[name] = variants + [{**v, "slug": own_slug} for v in variants]
    api = {
        "organisation-detail": [{"pk": t["client"].pk}],
        "contract-detail": [{"pk": pk}],
        "sla-policy-detail": [{"pk": t["policy"].pk}],
        "matrix-version-detail": [{"pk": t["matrix"].pk}],
        "matrix-version-approve": [{"pk": t["matrix"].pk}],
        "matrix-version-withdraw": [{"pk": t["matrix"].pk}],
        "sla-policy-approve": [{"pk": t["proposal"].pk}],
        "sla-policy-withdraw": [{"pk": t["proposal"].pk}],
        "commitment-detail": [{"pk": t["commitment"].pk}],
        "occurrence-detail": [{"pk": t["occurrence"].pk}],
        "occurrence-complete": [{"pk": t["occurrence"].pk}],
        "occurrence-evidence": [{"pk": t["occurrence"].pk}],
        "evidence-detail": [{"pk": t["evidence"].pk}],
        "evidence-download": [{"pk": t["evidence"].pk}],
        "audit-event-detail": [{"pk": t["audit"].pk}],
        "kpi-snapshot-detail": [{"pk": t["snapshot"].pk}],
        "ticket-detail": [{"pk": t["ticket"].pk}],
        "outage-detail": [{"pk": t["outage"].pk}],
        "review-detail": [{"pk": t["review"].pk}],
        "review-pdf": [{"pk": t["review"].pk}],
        **{
            name: [{"pk": t["dispute"].pk}]
            for name in ("dispute-detail", "dispute-accept", "dispute-reject", "dispute-withdraw")
        },
        **{
            name: [{"pk": t["msp_report"].pk}]
            for name in (
                "reported-figure-detail",
                "reported-figure-file",
                "reported-figure-download",
            )
        },
        **{
            name: [{"pk": t["patch_report"].pk}]
            for name in ("tool-report-detail", "tool-report-file", "tool-report-undo")
        },
        "tool-report-import-detail": [{"pk": t["tool_report_job"].pk}],
        "tool-report-columns-detail": [{"pk": t["tool_report_columns"].pk}],
        **{
            name: [{"pk": t["patch_occurrence"].pk}]
            for name in ("measured-occurrence-detail", "measured-occurrence-rows")
        },
        **{
            name: [{"pk": t["scorecard_answer"].candidate.assessment_id}]
            for name in ("scorecard-detail", "scorecard-pdf", "scorecard-answers")
        },
    }
    return page | api | imports


def list_targets(t: dict) -> dict[str, set[int]]:
    """For each list endpoint, the target tenant's ids that must not appear in it."""
    contract = t["contract"]
    return {
        "organisation-list": {t["client"].pk},
        "contract-list": {contract.pk},
        "sla-policy-list": set(contract.sla_versions.values_list("pk", flat=True)),
        "matrix-version-list": set(contract.matrix_versions.values_list("pk", flat=True)),
        "commitment-list": set(contract.commitments.values_list("pk", flat=True)),
        "occurrence-list": {t["occurrence"].pk},
        "evidence-list": {t["evidence"].pk},
        "audit-event-list": set(contract.audit_events.values_list("pk", flat=True)),
        "import-list": {t["import"].pk},
        "kpi-snapshot-list": {t["snapshot"].pk},
        "ticket-list": set(t["client"].tickets.values_list("pk", flat=True)),
        "outage-list": {t["outage"].pk},
        "review-list": {t["review"].pk},
        "dispute-list": {t["dispute"].pk},
        "reported-figure-list": {t["msp_report"].pk},
        "tool-report-list": {t["patch_report"].pk},
        "tool-report-import-list": {t["tool_report_job"].pk},
        "tool-report-columns-list": {t["tool_report_columns"].pk},
        "measured-occurrence-list": {t["patch_occurrence"].pk},
        "scorecard-list": {t["scorecard_answer"].candidate.assessment_id},
    }


def page_list_targets(t: dict) -> dict[str, list[str]]:
    """For each page that lists tenant data, text of the target tenant's that must not appear."""
    return {
        "import_list": [reverse("import_detail", args=[t["import"].pk]), t["import"].original_name],
        "import_upload": [t["client"].name],
        # The new-client page names no client; its MSP choices are tested in
        # tests/test_contract_setup.py (an advisor is offered only the MSPs it works with).
        "setup_client_new": [t["client"].name],
    }


def all_routes(resolver=None, namespace=None):
    """(qualified name, pattern) of every named route, nested includes flattened."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in EXCLUDED_NAMESPACES:
                continue
            yield from all_routes(entry, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def route_params(pattern: URLPattern) -> set[str]:
    return set(pattern.pattern.regex.groupindex) - {"format"}


def is_allauth(pattern: URLPattern) -> bool:
    return pattern.callback.__module__.startswith("allauth.")


def tenant_routes():
    """Every route this project defines that takes an object id (format suffixes folded)."""
    seen = {}
    for name, pattern in all_routes():
        if is_allauth(pattern) or name in NO_TENANT_DATA:
            continue
        seen.setdefault(name, route_params(pattern))
    return seen


def test_every_route_is_covered_by_the_walk(world):
    _objects = _target_objects(world.acme_contract)
    targets = route_targets(_objects, world.birch.slug)
    lists = list_targets(_objects)
    uncovered = [
        name
        for name, params in tenant_routes().items()
        if (params and name not in targets)
        or (not params and name not in lists and name not in page_list_targets(_objects))
    ]
    assert uncovered == [], f"routes with no tenancy coverage: {uncovered}"


def _write_body() -> dict:
    """A body every write route of the walk would take from someone allowed: the fields of each
    form and serializer at once (each reads its own), so a missing check would show as a change
    of the other tenant's rows, not hide behind a 400 for an empty form."""
    upload = io.BytesIO(b"%PDF-1.4 written by the tenancy walk")
    upload.name = "walk.pdf"
    return {
        "completed_on": "2025-07-15",
        "note": "written by the walk",
        "side": "client",
        "service": "Email and collaboration",
        "started_at": "2025-07-20T10:00",
        "ended_at": "2025-07-20T11:00",
        "status": "done",
        "body": "walk comment",
        "days": "7",
        "quarter": "2025-Q3",
        "title": "walk item",
        "owner_side": "client",
        "paper": "letter",
        "action": "confirm",
        "answer": "disputed",
        "email": "walk@example.test",
        "role": "admin",
        "save_as": "walk columns",  # a tool report upload's saved columns
        "file": upload,
    }


def _request(client, method: str, url: str):
    if method == "post":
        return client.post(url, _write_body())
    return getattr(client, method)(url)


def _walk(client, routes: dict[str, list[dict]], guarded=None) -> list[str]:
    """Each route with GET, POST, PATCH and DELETE. With `guarded` (the target's contract), the
    rows of its tenant are digested before the walk and after each route's requests (every
    variant, every method: a change names the route; digesting after each request cost four
    times as much and said no more than which of them to look at)."""
    failures = []
    baseline = tenant_digest(guarded) if guarded is not None else None
    for name, variants in routes.items():
        for kwargs in variants:
            url = reverse(name, kwargs=kwargs)
            statuses = {}
            for method in ("get", "post", "patch", "delete"):
                statuses[method] = _request(client, method, url).status_code
            if 404 not in statuses.values():
                failures.append(f"{name} {url}: {statuses}")
                continue
            for method, code in statuses.items():
                if code == 404:
                    continue
                # 405 is allowed only when it does not depend on the id (same for a missing one).
                missing = reverse(
                    name,
                    kwargs={k: (999999 if isinstance(v, int) else v) for k, v in kwargs.items()},
                )
                if code != 405 or _request(client, method, missing).status_code != 405:
                    failures.append(f"{name} {method.upper()} {url}: {code}")
        if guarded is not None:
            after = tenant_digest(guarded)
            if after != baseline:
                changed = changed_tables(baseline, after)
                failures.append(f"{name} (any method, any of its ids) changed rows of {changed}")
                baseline = after
    return failures


PERSONA_TARGETS = [
    # (who walks, whose objects they try, their own client slug for mixed urls)
    ("outsider", "acme_contract", "birch"),
    ("rival_staff", "acme_contract", "other"),
    ("msp_staff", "other_contract", "acme"),
    ("advisor", "birch_contract", "acme"),
    ("owner", "birch_contract", "acme"),
    # Two tenants of every kind: the second advisory firm, the other client's admin, and the
    # first advisor against the rival's contract (advised by the second firm).
    ("rival_advisor", "acme_contract", "other"),
    ("other_owner", "birch_contract", "other"),
    ("advisor", "other_contract", "acme"),
]


@pytest.mark.parametrize(("persona", "target", "own"), PERSONA_TARGETS)
def test_outsiders_get_404_on_every_object_route(world, client_for, persona, target, own):
    client = client_for(getattr(world, persona))
    objects = _target_objects(getattr(world, target))
    routes = route_targets(objects, getattr(world, own).slug)
    assert set(routes) >= {n for n, p in tenant_routes().items() if p}
    assert _walk(client, routes, guarded=getattr(world, target)) == []


# Lists of what only the side that uploads uses (the MSP's staff, the advisor): empty for the
# client's side, which the walk checks as such.
UPLOADERS_ONLY = {"tool-report-columns-list"}
UPLOADERS_ONLY_DETAILS = {"tool-report-columns-detail", "tool_report_job_file"}


def _on_the_client_side(persona: str, world) -> bool:
    from contracts.models import Organisation
    from msp_portal.tenancy import user_memberships

    kinds = {m.organisation.kind for m in user_memberships(getattr(world, persona))}
    return kinds == {Organisation.Kind.CLIENT}


@pytest.mark.parametrize(("persona", "target", "own"), PERSONA_TARGETS)
def test_lists_leave_out_other_tenants(world, client_for, persona, target, own):
    client = client_for(getattr(world, persona))
    for contract in (world.acme_contract, world.birch_contract, world.other_contract):
        # Every tenant has one of each listed kind, so the walker's own lists are not empty.
        _target_objects(contract)
    objects = _target_objects(getattr(world, target))
    leaks = []
    for name, forbidden in list_targets(objects).items():
        response = client.get(reverse(name), {"limit": 1000})
        assert response.status_code == 200, name
        ids = {item["id"] for item in response.json()["results"]}
        if name in UPLOADERS_ONLY and _on_the_client_side(persona, world):
            assert ids == set(), f"{name} lists rows to the client's side"
            continue
        assert ids, f"{name} returned nothing at all: the check would prove nothing"
        if ids & forbidden:
            leaks.append(f"{name}: {sorted(ids & forbidden)}")
    for name, markers in page_list_targets(objects).items():
        response = client.get(reverse(name))
        assert response.status_code in (200, 403), name
        html = response.content.decode()
        leaks += [f"{name} shows {m}" for m in markers if m in html]
    home = client.get(reverse("home"), follow=True).content.decode()
    if objects["client"].name in home or objects["client"].slug in home:
        leaks.append(f"home page names {objects['client'].name}")
    assert leaks == []


def test_the_walk_sees_real_objects_when_allowed(world, client_for):
    """The same routes answer for a party to the contract, so the 404s above mean something."""
    client = client_for(world.owner)
    objects = _target_objects(world.acme_contract)
    for name, variants in route_targets(objects, world.acme.slug).items():
        url = reverse(name, kwargs=variants[0])
        if re.search(
            r"approve|withdraw|complete|answer|evidence/$|upload|remove|accept|reject|undo|forget",
            name,
        ) or name.endswith("-evidence"):
            # writes: covered by test_permissions.py, test_commitment_answers.py,
            # test_rules_agreement.py, (disputes) test_disputes.py, test_api_disputes.py and
            # (saved columns) test_tool_report_mappings.py
            continue
        if name == "reported-figure-file":
            continue  # a write (the MSP's report attached): tests/test_reconciliation.py
        if name.startswith("review_") and name not in (
            "review_list",
            "review_detail",
            "review_pdf_status",
        ):
            continue  # writes and the not-yet-made PDF: covered by test_reviews.py
        if name.startswith("import"):
            continue  # below, as the MSP's staff: the importing side
        if name.startswith(("people_", "member_", "invitation_")):
            continue  # writes: covered by tests/test_people.py
        if name.startswith("contract_setup"):
            continue  # below, as the advisory firm's consultant: the setting-up side
        if name in UPLOADERS_ONLY_DETAILS:
            continue  # below, as the MSP's staff: the uploading side
        assert client.get(url).status_code == 200, url
    staff = client_for(world.msp_staff)
    for name, variants in route_targets(objects, world.acme.slug).items():
        if name in UPLOADERS_ONLY_DETAILS:
            url = reverse(name, kwargs=variants[0])
            assert staff.get(url).status_code == 200, url
        if name.startswith("import") and name not in (
            "import_rerun",
            "import_mapping",
            "import_overlap",  # a POST only: tests/test_import_overlap_web.py
        ):
            url = reverse(name, kwargs=variants[0])
            assert staff.get(url).status_code == 200, url
    consultant = client_for(world.advisor)
    for name, variants in route_targets(objects, world.acme.slug).items():
        if name.startswith("contract_setup") or name == "contract_file_upload":
            url = reverse(name, kwargs=variants[0])
            assert consultant.get(url).status_code == 200, url


def test_anonymous_visitors_are_sent_to_log_in(world, client):
    objects = _target_objects(world.acme_contract)
    for name, variants in route_targets(objects, world.acme.slug).items():
        url = reverse(name, kwargs=variants[0])
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code in (401, 403), url
        else:
            assert response.status_code in (302, 405), url
            if response.status_code == 302:
                assert response["Location"].startswith("/accounts/login/"), url


def test_another_msps_mapping_page_never_sees_nor_uses_a_remembered_route(world, client_for):
    """Company routes are remembered per MSP (kpis.models.CompanyRoute). Rival MSP's staff,
    importing a file that names Acme Dental Group and Zenith Dental, are offered only their own
    client, see none of Northwind's routes, and cannot send a row to Acme by naming it; Acme's
    rows stay as they were."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kpis.imports.company_routing import routes_remember
    from kpis.models import ImportJob

    routes_remember(
        world.northwind, {"Zenith Dental": world.acme.slug}, [world.acme], world.msp_staff
    )
    baseline = tenant_digest(world.acme_contract)
    web = client_for(world.rival_staff)
    content = (
        b"Ticket,Company,Opened\n1,Acme Dental Group,2025-07-01 09:00\n"
        b"2,Zenith Dental,2025-07-02 09:00\n"
    )
    target = f"client:{world.other.pk}:{world.rival_msp.pk}"
    upload = SimpleUploadedFile("rival.csv", content, "text/csv")
    assert web.post(reverse("import_upload"), {"file": upload, "target": target}).status_code == 302
    job = ImportJob.objects.filter(msp=world.rival_msp).latest("pk")
    page = web.get(reverse("import_mapping", args=[job.pk]))
    html = page.content.decode()
    assert [c.slug for c in page.context["clients"]] == [world.other.slug]
    assert {line.company: line.choice for line in page.context["check"].companies} == {
        "Acme Dental Group": "",
        "Zenith Dental": "",
    }
    assert 'value="acme-dental"' not in html
    form = {
        "preset": "generic",
        "timezone": "UTC",
        "date_order": "auto",
        "col__external_id": "Ticket",
        "col__company": "Company",
        "col__created_at": "Opened",
        "count__company": 2,
        "rawco__0": "Acme Dental Group",
        "company__0": world.acme.slug,
        "rawco__1": "Zenith Dental",
        "company__1": world.acme.slug,
        "action": "confirm",
    }
    refused = web.post(reverse("import_mapping", args=[job.pk]), form)
    assert refused.status_code == 200
    assert "acme-dental is not one of the available choices" in refused.content.decode()
    assert changed_tables(baseline, tenant_digest(world.acme_contract)) == []


def test_the_walk_notices_a_request_that_writes_the_other_tenants_rows(world):
    """The digest is taken once per route: a write by any of its requests still shows."""
    from types import SimpleNamespace

    from contracts.models import Contract

    class Writing:
        """Answers 404 like a guarded route, but its POST writes the other tenant's contract."""

        def get(self, url, *args):
            return SimpleNamespace(status_code=404)

        patch = delete = get

        def post(self, url, *args):
            Contract.objects.filter(pk=world.acme_contract.pk).update(seats_users=999)
            return SimpleNamespace(status_code=404)

    kwargs = {"slug": world.acme.slug, "pk": world.acme_contract.pk}
    failures = _walk(Writing(), {"contract_detail": [kwargs]}, guarded=world.acme_contract)
    assert len(failures) == 1 and "contract_detail" in failures[0] and "contract" in failures[0]
