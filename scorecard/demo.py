"""The demo's provider scorecard (seed_demo): Acme Dental's current MSP, Northwind IT, beside
one invented newcomer, "Harbor Managed IT", with answers and two evidence files. Once only."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from contracts.models import Contract

from .models import Candidate
from .services import answers_save, assessment_ensure

NEWCOMER = "Harbor Managed IT"

# question key → (answer, note); the incumbent answers only what the portal does not measure.
INCUMBENT_ANSWERS = {
    "mfa": ("yes", "Technician sign-in policy, reviewed in March"),
    "least_privilege": ("partly", "Tiered admin accounts for servers, not yet for Microsoft 365"),
    "vaulted_credentials": ("yes", ""),
    "break_glass": ("partly", "One sealed account, its use not reviewed"),
    "awareness_training": ("no", ""),
    "escalation_paths": ("yes", ""),
    "sample_reports": ("yes", ""),
    "size_fit": ("yes", ""),
    "sector_fit": ("yes", "Serves four dental practices"),
    "coverage_fit": ("yes", ""),
}
NEWCOMER_ANSWERS = {
    "proactive_monitoring": ("yes", ""),
    "root_cause": ("partly", ""),
    "volume_review": ("yes", ""),
    "response_targets": ("yes", ""),
    "resolution_targets": ("yes", ""),
    "escalation_time": ("partly", ""),
    "mfa": ("yes", "Conditional access policy export attached"),
    "least_privilege": ("yes", ""),
    "vaulted_credentials": ("partly", "Vault in place; rotation on departure is manual"),
    "break_glass": ("no", ""),
    "awareness_training": ("yes", ""),
    "escalation_paths": ("yes", ""),
    "matrix_agreed": ("yes", ""),
    "sample_reports": ("yes", "A redacted monthly report of another client"),
    "review_cadence": ("yes", ""),
    "actions_tracked": ("partly", ""),
    "size_fit": ("yes", ""),
    "sector_fit": ("no", "No dental clients yet"),
    "coverage_fit": ("partly", "On-site within a day, not the same day"),
}
# The incumbent's files under "incumbent"; the newcomer's under its name.
EVIDENCE = {
    "incumbent": {"mfa": ("northwind-mfa-policy.txt", b"Technician MFA policy (demo)\n")},
    NEWCOMER: {
        "mfa": ("harbor-conditional-access.txt", b"Conditional access export (demo)\n"),
        "sample_reports": ("harbor-sample-report.txt", b"Sample monthly report (demo)\n"),
    },
}


def demo_scorecard_ensure(actor=None) -> None:
    """Acme's scorecard with Northwind and Harbor answered; nothing when Harbor is there."""
    contract = Contract.objects.select_related("client", "msp").get(client__slug="acme-dental")
    assessment = assessment_ensure(client=contract.client, contract=contract)
    if assessment.candidates.filter(name=NEWCOMER).exists():
        return
    newcomer = Candidate.objects.create(assessment=assessment, name=NEWCOMER)
    incumbent = assessment.candidates.get(is_incumbent=True)
    for candidate, given in ((incumbent, INCUMBENT_ANSWERS), (newcomer, NEWCOMER_ANSWERS)):
        files = {
            key: SimpleUploadedFile(name, content, "text/plain")
            for key, (name, content) in EVIDENCE[
                "incumbent" if candidate.is_incumbent else candidate.name
            ].items()
        }
        answers = {key: {"answer": a, "note": note} for key, (a, note) in given.items()}
        answers_save(
            candidate=candidate, answers=answers, files=files, actor=actor, source="command"
        )
