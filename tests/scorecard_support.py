"""What the scorecard tests share: Acme's two measured quarters (2026-Q1 and Q2, built by hand
so every expected figure is worked out in the tests), a published review and two action items,
and Harbor Managed IT's answers."""

from __future__ import annotations

from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kpis.models import KpiSnapshot
from reviews.models import ActionItem, Review
from scorecard.models import Candidate
from scorecard.services import answers_save, assessment_ensure, weights_set

# (numerator, denominator) per quarter; value = numerator / denominator for the rates.
QUARTERS = {
    "2026-Q1": {
        "start": date(2026, 1, 1),
        "resolution.compliance": (6, 10),
        "response.compliance": (9, 10),
        "proactive_ratio": (2, 10),
        "repeat_incident_rate": (1, 5),
        # A time: the mean over the quarter's escalated tickets (the denominator).
        "escalation.mean_minutes_to_escalate": (40.0, 2),
        "tickets.created": 10,
    },
    "2026-Q2": {
        "start": date(2026, 4, 1),
        "resolution.compliance": (6, 8),
        "response.compliance": (8, 8),
        "proactive_ratio": (4, 8),
        "repeat_incident_rate": (0, 5),
        "escalation.mean_minutes_to_escalate": (70.0, 4),
        "tickets.created": 8,
    },
}
WEIGHTS = {
    "operating_model": 20,
    "responsiveness": 30,
    "security": 20,
    "documentation": 10,
    "governance": 10,
    "fit": 10,
}


def pdf_file(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4 evidence for the scorecard", "application/pdf")


def measured_quarters(world) -> None:
    """Acme's only quarter snapshots: 2026-Q1 and 2026-Q2 as QUARTERS gives them."""
    KpiSnapshot.objects.filter(client=world.acme, period_kind="quarter").delete()
    for label, quarter in QUARTERS.items():
        values, figures = {}, {}
        for key, given in quarter.items():
            if key == "start":
                continue
            if key == "tickets.created":
                values[key] = given
                continue
            part, whole = given
            rate = key != "escalation.mean_minutes_to_escalate"
            values[key] = part / whole if rate else part
            figures[key] = {"numerator": part if rate else None, "denominator": whole}
        KpiSnapshot.objects.create(
            client=world.acme,
            period_kind="quarter",
            period_label=label,
            period_start=quarter["start"],
            values=values,
            figures=figures,
            computed_at=timezone.now(),
        )


def governance_history(world) -> None:
    """A review published for 2026-Q1 (none for Q2) and two items raised in it, one closed."""
    Review.objects.create(
        client=world.acme,
        contract=world.acme_contract,
        quarter="2026-Q1",
        status=Review.Status.PUBLISHED,
        frozen={},
    )
    for title, status in (("Replace the old switch", "closed"), ("Document the VPN", "open")):
        ActionItem.objects.create(
            client=world.acme, raised_in="2026-Q1", title=title, owner_side="msp", status=status
        )


def scored_world(world):
    """The assessment with WEIGHTS, Northwind's two security answers and Harbor's answers."""
    measured_quarters(world)
    governance_history(world)
    assessment = assessment_ensure(client=world.acme, contract=world.acme_contract)
    weights_set(assessment=assessment, weights=WEIGHTS, actor=world.advisor, source="web")
    incumbent = assessment.candidates.get(is_incumbent=True)
    answers_save(
        candidate=incumbent,
        answers={
            "mfa": {"answer": "yes", "note": ""},
            "least_privilege": {"answer": "partly", "note": ""},
            "escalation_paths": {"answer": "yes", "note": ""},
        },
        files={"mfa": pdf_file("mfa.pdf"), "escalation_paths": pdf_file("paths.pdf")},
        actor=world.advisor,
        source="web",
    )
    harbor = Candidate.objects.create(assessment=assessment, name="Harbor Managed IT")
    yes = {"answer": "yes", "note": ""}
    answers_save(
        candidate=harbor,
        answers={
            "proactive_monitoring": yes,
            "root_cause": {"answer": "partly", "note": ""},
            "volume_review": {"answer": "no", "note": ""},
            "response_targets": yes,
            **{k: yes for k in ("mfa", "least_privilege", "vaulted_credentials")},
            **{k: yes for k in ("break_glass", "awareness_training")},
            "escalation_paths": yes,
            "matrix_agreed": yes,
            "sample_reports": {"answer": "partly", "note": "a redacted report"},
            "review_cadence": yes,
            "actions_tracked": yes,
            "size_fit": yes,
            "sector_fit": {"answer": "no", "note": ""},
            "coverage_fit": {"answer": "partly", "note": ""},
        },
        files={"response_targets": pdf_file("sla.pdf"), "sample_reports": pdf_file("report.pdf")},
        actor=world.advisor,
        source="web",
    )
    return assessment, incumbent, harbor
