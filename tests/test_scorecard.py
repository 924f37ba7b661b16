"""The provider scorecard on the two-tenant world: Northwind (the incumbent) scored from Acme's
two measured quarters built by hand (tests/scorecard_support.py), Harbor Managed IT from its
answers; who sees and edits what; bad input named and nothing lost; the PDF read back."""

from __future__ import annotations

import io
import subprocess
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from contracts.services.commitments import contract_today
from kpis.models import KpiSnapshot
from scorecard.comparison import comparison_build
from scorecard.demo import demo_scorecard_ensure
from scorecard.measured import incumbent_measures
from scorecard.models import Answer, Assessment, Candidate
from scorecard.services import assessment_ensure

from .reviews_support import needs_pdf_tools
from .scorecard_support import WEIGHTS, measured_quarters, scored_world


def _cells(comparison, index: int) -> dict:
    return {row.criterion.key: row.cells[index] for row in comparison.rows}


def test_the_incumbent_is_scored_from_its_quarters_and_the_newcomer_from_its_answers(world):
    assessment, _incumbent, _harbor = scored_world(world)
    comparison = comparison_build(assessment, with_rivals=True)
    assert [c.name for c in comparison.candidates] == ["Northwind IT Services", "Harbor Managed IT"]
    northwind, harbor = _cells(comparison, 0), _cells(comparison, 1)

    # Resolution 6/10 + 6/8 = 12/18 = 66.7% → 0; response 17/18 = 94.4% → 4; escalation
    # (40 × 2 + 70 × 4) / 6 = 60 min → 4. Mean 8/3 = 2.7.
    assert [line.words for line in northwind["responsiveness"].lines] == [
        "measured: Response SLA compliance 94.4% over 2026-Q1–Q2",
        "measured: Resolution SLA compliance 66.7% over 2026-Q1–Q2",
        "measured: Mean time to escalate 1 h over 2026-Q1–Q2",
    ]
    assert [line.score for line in northwind["responsiveness"].lines] == [4, 0, 4]
    assert northwind["responsiveness"].score == 2.7 and northwind["responsiveness"].measured
    # Proactive 6/18 = 33.3% → 4; repeats 1/10 → 4; tickets 10 then 8, down 20% → 5: 4.3.
    assert [line.words for line in northwind["operating_model"].lines] == [
        "measured: Proactive detection 33.3% over 2026-Q1–Q2",
        "measured: Repeat incidents 10% over 2026-Q1–Q2",
        "measured: Tickets raised 10 in 2026-Q1, 8 in 2026-Q2 (down 20%)",
    ]
    assert northwind["operating_model"].score == 4.3
    # MFA yes with evidence 5, least privilege partly 2, three unanswered: 7/5 = 1.4.
    assert northwind["security"].score == 1.4
    # The matrix waits for approval (2), escalation paths yes with evidence (5), sample
    # reports not answered (0); the stand-in question for the matrix is not asked: 7/3 = 2.3.
    assert [(line.words, line.score) for line in northwind["documentation"].lines] == [
        ("measured: responsibility matrix waiting for approval", 2),
        ("answered yes, evidence attached", 5),
        ("not answered", 0),
    ]
    assert northwind["documentation"].score == 2.3
    # A review for one of the two quarters (3) and one of two items closed (3).
    assert [line.words for line in northwind["governance"].lines] == [
        "measured: reviews published for 1 of 2 quarters over 2026-Q1–Q2",
        "measured: 1 of 2 action items closed, raised over 2026-Q1–Q2",
    ]
    assert northwind["governance"].score == 3.0
    assert northwind["fit"].score == 0.0
    # Harbor, answers only: 4, 2, 0 → 2.0; response yes with evidence 5, two unanswered → 1.7;
    # five yes → 4.0; yes 4, yes 4, partly with evidence 3 → 3.7; 4.0; 4, 0, 2 → 2.0.
    assert {key: cell.score for key, cell in harbor.items()} == {
        "operating_model": 2.0,
        "responsiveness": 1.7,
        "security": 4.0,
        "documentation": 3.7,
        "governance": 4.0,
        "fit": 2.0,
    }
    assert not any(cell.measured for cell in harbor.values())
    # Σ weight × score / 100 with WEIGHTS (20, 30, 20, 10, 10, 10):
    # Northwind (86 + 81 + 28 + 23 + 30 + 0) / 100 = 2.48;
    # Harbor (40 + 51 + 80 + 37 + 40 + 20) / 100 = 2.68.
    assert comparison.totals == [2.48, 2.68]


def test_a_running_quarter_and_one_without_tickets_are_not_read_as_a_fall_in_volume(world):
    measured_quarters(world)
    today = contract_today(world.acme_contract)
    running = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    for label, start, tickets in (
        (f"{running.year}-Q{(running.month - 1) // 3 + 1}", running, 1),  # still running
        ("2025-Q4", date(2025, 10, 1), 0),  # complete, nothing imported
    ):
        KpiSnapshot.objects.update_or_create(
            client=world.acme,
            period_label=label,
            defaults={
                "period_kind": "quarter",
                "period_start": start,
                "values": {"tickets.created": tickets},
                "computed_at": timezone.now(),
            },
        )
    measures = incumbent_measures(world.acme_contract)
    # 2025-Q4 had no tickets and the running quarter is not over: 10 then 8, as before.
    assert measures["volume"].words == (
        "measured: Tickets raised 10 in 2026-Q1, 8 in 2026-Q2 (down 20%)"
    )
    # The window is the three complete quarters; no review was published in any.
    assert measures["cadence"].words == (
        "measured: reviews published for 0 of 3 quarters over 2025-Q4–2026-Q2"
    )
    assert measures["cadence"].score == 0 and "actions" not in measures


def test_the_comparison_page_shows_words_and_marks_measured_and_answered_columns(world, client_for):
    scored_world(world)
    page = client_for(world.owner).get(reverse("scorecard_compare", args=[world.acme.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "measured: Resolution SLA compliance 66.7% over 2026-Q1–Q2" in html
    assert "Current provider: measured history and answers" in html
    assert "Newcomer: answers only" in html
    assert "2.48 of 5" in html and "2.68 of 5" in html
    for key in ("resolution.compliance", "operating_model", "least_privilege", "proactive_ratio"):
        assert key not in html.replace('name="', "")


def test_weights_that_do_not_add_to_100_are_refused_with_the_total_and_nothing_changes(
    world, client_for
):
    assessment = assessment_ensure(client=world.acme, contract=world.acme_contract)
    url = reverse("scorecard", args=[world.acme.slug])
    form = {"action": "weights", **{f"weight_{k}": v for k, v in WEIGHTS.items()}}
    advisor = client_for(world.advisor)
    refused = advisor.post(url, {**form, "weight_fit": "5"})
    assert "The weights add to 95%; they must add to 100%." in refused.content.decode()
    refused = advisor.post(url, {**form, "weight_security": "twenty"})
    assert "Security practice: write a whole percentage from 0 to 100." in refused.content.decode()
    assessment.refresh_from_db()
    assert assessment.weights["responsiveness"] == 25  # the default, untouched
    assert advisor.post(url, form).status_code == 302
    assessment.refresh_from_db()
    assert assessment.weights == WEIGHTS
    # The client's admin edits too; its read-only member and the MSP's staff do not.
    assert client_for(world.owner).post(url, form).status_code == 302
    assert client_for(world.viewer).post(url, form).status_code == 403
    assert client_for(world.msp_staff).post(url, form).status_code == 403


def test_a_refused_evidence_file_names_its_question_and_stores_no_answer(world, client_for):
    assessment = assessment_ensure(client=world.acme, contract=world.acme_contract)
    harbor = Candidate.objects.create(assessment=assessment, name="Harbor Managed IT")
    url = reverse("scorecard_candidate", args=[world.acme.slug, harbor.pk])
    bad = SimpleUploadedFile("policy.exe", b"MZ\x90\x00 not a document", "application/octet-stream")
    page = client_for(world.advisor).post(
        url, {"answer_mfa": "yes", "answer_size_fit": "yes", "evidence_mfa": bad}
    )
    html = page.content.decode()
    assert page.status_code == 200 and "Nothing was stored" in html
    assert "Every technician signs in with multi-factor authentication:" in html
    assert not Answer.objects.filter(candidate=harbor).exists()


def test_the_incumbent_msp_sees_its_own_scores_and_never_a_rivals_answers(world, client_for):
    _assessment, incumbent, harbor = scored_world(world)
    staff = client_for(world.msp_staff)
    slug = world.acme.slug
    compare = staff.get(reverse("scorecard_compare", args=[slug])).content.decode()
    assert "Northwind IT" in compare and "2.48 of 5" in compare
    assert "Harbor" not in compare and "2.68" not in compare
    assert "Harbor" not in staff.get(reverse("scorecard", args=[slug])).content.decode()
    assert staff.get(reverse("scorecard_candidate", args=[slug, incumbent.pk])).status_code == 200
    assert staff.get(reverse("scorecard_candidate", args=[slug, harbor.pk])).status_code == 404
    rival_answer = harbor.answers.get(question="response_targets")
    own_answer = incumbent.answers.get(question="mfa")
    evidence = "scorecard_answer_evidence"
    assert staff.get(reverse(evidence, args=[slug, rival_answer.pk])).status_code == 404
    assert staff.get(reverse(evidence, args=[slug, own_answer.pk])).status_code == 200
    pdf = staff.get(reverse("scorecard_pdf", args=[slug]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # The client's side sees both.
    owner = client_for(world.owner)
    assert owner.get(reverse(evidence, args=[slug, rival_answer.pk])).status_code == 200


def test_another_tenants_scorecard_is_never_listed_nor_reachable(world, client_for):
    scored_world(world)
    other = assessment_ensure(client=world.other, contract=world.other_contract)
    zeta = Candidate.objects.create(assessment=other, name="Zeta Systems")
    owner = client_for(world.owner)
    for name in ("scorecard", "scorecard_compare"):
        html = owner.get(reverse(name, args=[world.acme.slug])).content.decode()
        assert "Zeta" not in html and "Rival MSP" not in html
        assert owner.get(reverse(name, args=[world.other.slug])).status_code == 404
    mixed = reverse("scorecard_candidate", args=[world.acme.slug, zeta.pk])
    assert owner.get(mixed).status_code == 404
    rival = client_for(world.rival_staff)
    for name in ("scorecard", "scorecard_compare", "scorecard_pdf"):
        assert rival.get(reverse(name, args=[world.acme.slug])).status_code == 404
    # The other client's own admin sees its scorecard, and only its own.
    other_owner = client_for(world.other_owner)
    html = other_owner.get(reverse("scorecard", args=[world.other.slug])).content.decode()
    assert "Zeta Systems" in html and "Harbor" not in html


def test_the_demo_step_adds_harbor_once(world):
    demo_scorecard_ensure(world.advisor)
    demo_scorecard_ensure(world.advisor)
    assessment = Assessment.objects.get(client=world.acme)
    names = list(assessment.candidates.values_list("name", flat=True))
    assert names == ["Northwind IT Services", "Harbor Managed IT"]
    harbor = assessment.candidates.get(name="Harbor Managed IT")
    assert harbor.answers.count() == 19
    assert harbor.answers.exclude(evidence="").count() == 2


@needs_pdf_tools
def test_the_pdf_command_writes_the_comparison_in_words(world, tmp_path):
    scored_world(world)
    output = tmp_path / "scorecard.pdf"
    call_command(
        "scorecard_pdf", "--client", world.acme.slug, "--output", str(output), stdout=io.StringIO()
    )
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(output), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "Provider comparison: Acme Dental" in text
    assert "Harbor Managed IT" in text and "Newcomer: answers only" in text
    assert "measured: Resolution SLA compliance 66.7% over 2026-Q1–Q2" in text
    assert "Weighted total 2.48 of 5 2.68 of 5" in text
    for key in ("resolution.compliance", "operating_model", "least_privilege", "_"):
        assert key not in text


def test_an_approved_matrix_scores_5_where_one_waiting_scored_2(world):
    import yaml

    from .conftest import agree, apply_yaml_text, demo_document, without_gaps

    assessment, _incumbent, _harbor = scored_world(world)
    # The demo's matrix has gaps (approving it is refused): the same matrix with none.
    apply_yaml_text(yaml.safe_dump(without_gaps(demo_document("acme-dental.yaml"))))
    agree(world.acme_contract.current_matrix(), client_user=world.owner, msp_user=world.msp_staff)
    documentation = _cells(comparison_build(assessment, with_rivals=True), 0)["documentation"]
    assert next((line.words, line.score) for line in documentation.lines) == (
        "measured: responsibility matrix approved by both sides",
        5,
    )
    # 5 + escalation paths with evidence 5 + sample reports not answered 0 = 10 / 3 = 3.3.
    assert documentation.score == 3.3


def test_mfa_and_phishing_kept_by_the_msps_reports_are_measured_instead_of_asked(world):
    """With commitments measured from the MSP's MFA attestations and phishing results, the
    incumbent's security practice reads them instead of its MFA and awareness answers; a
    period older than the four quarters, or still due, does not count."""
    from contracts.models import Commitment, CommitmentOccurrence

    assessment, _incumbent, _harbor = scored_world(world)
    contract = world.acme_contract
    today = contract_today(contract)
    quarter_start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    # The first day of the quarter three quarters back: four quarters with this one.
    months = quarter_start.year * 12 + quarter_start.month - 1 - 9
    window = date(months // 12, months % 12 + 1, 1)

    def measured(name, kind, dues_kept):
        commitment = Commitment.objects.create(
            contract=contract, name=name, cadence="quarterly", measured_by=kind
        )
        for due, kept in dues_kept:
            CommitmentOccurrence.objects.create(
                commitment=commitment,
                period_start=due.replace(day=1),
                due_date=due,
                measure={"kept": kept},
            )

    day_before = window.replace(day=1) - timedelta(days=1)
    # MFA: 3 judged inside the window, 2 kept (one kept period before the window is left out).
    measured(
        "MFA attested",
        "mfa",
        [
            (day_before, True),
            (window + timedelta(days=40), True),
            (window + timedelta(days=130), False),
            (window + timedelta(days=220), True),
        ],
    )
    # Phishing: 1 judged, kept.
    measured("Phishing", "phishing", [(window + timedelta(days=50), True)])
    measures = incumbent_measures(contract)
    # 2 of 3 = 66.7% → 3 (≥ 50%); 1 of 1 = 100% → 5.
    assert measures["mfa_attested"].score == 3
    assert measures["mfa_attested"].words == (
        "measured: every technician attested signing in with MFA in 2 of 3 periods since "
        f"{window:%b %Y}, by the MSP's own reports"
    )
    assert measures["phishing"].score == 5
    northwind = _cells(comparison_build(assessment, with_rivals=True), 0)
    lines = [(line.words, line.score) for line in northwind["security"].lines]
    assert lines[:2] == [(measures["mfa_attested"].words, 3), (measures["phishing"].words, 5)]
    # The MFA and awareness questions are not asked of the incumbent any more: least
    # privilege partly (2) and two unanswered (0, 0) remain. (3 + 5 + 2 + 0 + 0) / 5 = 2.0.
    assert len(lines) == 5
    assert northwind["security"].score == 2.0


def test_a_period_without_a_report_counts_as_not_kept_once_its_grace_days_are_over(world):
    """Phishing measured from the MSP's reports: one period kept, one whose report never came
    (due long ago: not kept, named), one due three days ago (its report may still come: not
    counted). 1 of 2 = 50 % → 3."""
    from contracts.models import Commitment, CommitmentOccurrence

    scored_world(world)
    contract = world.acme_contract
    today = contract_today(contract)
    commitment = Commitment.objects.create(
        contract=contract, name="Phishing", cadence="monthly", measured_by="phishing"
    )
    for due, measure in [
        (today - timedelta(days=90), {"kept": True}),
        (today - timedelta(days=60), None),
        (today - timedelta(days=3), None),
    ]:
        CommitmentOccurrence.objects.create(
            commitment=commitment, period_start=due.replace(day=1), due_date=due, measure=measure
        )
    measured = incumbent_measures(contract)["phishing"]
    assert measured.score == 3
    assert measured.words.startswith(
        "measured: phishing simulations run within the contract's click-rate limit in 1 of 2 "
        "periods since "
    )
    assert measured.words.endswith(", by the MSP's own reports (1 without a report)")
