"""The provider scorecard's pages: the assessment (weights, candidates), a candidate's answers,
the side-by-side comparison and its PDF. Views parse, authorise, call a service, render."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from msp_portal.downloads import stored_file_download
from msp_portal.tenancy import Action, may_see_rival_candidates

from .charts import history_figure
from .comparison import comparison_build
from .criteria import CRITERIA, DEFAULT_WEIGHTS
from .measured import measured_history
from .pdf import comparison_context, comparison_pdf_render, pdf_filename
from .selectors import (
    may_edit,
    scorecard_of_or_404,
    visible_answer_or_404,
    visible_candidate_or_404,
)
from .services import answers_save, assessment_ensure, candidate_add, weights_set


def _weights_typed(post) -> dict:
    """The weights form, each field a whole percent or None when it is not one."""
    typed = {}
    for criterion in CRITERIA:
        text = post.get(f"weight_{criterion.key}", "").strip().rstrip("%").strip()
        # ASCII digits only, and few of them: "²" is a digit to str.isdigit, not to int().
        typed[criterion.key] = int(text) if re.fullmatch(r"-?[0-9]{1,4}", text) else None
    return typed


@login_required
def assessment_page(request, slug):
    client, contract, assessment, access = scorecard_of_or_404(request.user, slug)
    can_edit = may_edit(access)
    if assessment is None and can_edit:
        assessment = assessment_ensure(client=client, contract=contract)
    errors: list[str] = []
    typed: dict = {}
    if request.method == "POST":
        access.require(Action.EDIT_SCORECARD)
        try:
            if request.POST.get("action") == "add":
                added = candidate_add(
                    assessment=assessment,
                    name=request.POST.get("name", ""),
                    actor=request.user,
                    source="web",
                )
                messages.success(request, f"{added.name} is on the scorecard.")
                return redirect("scorecard_candidate", slug=client.slug, pk=added.pk)
            typed = _weights_typed(request.POST)
            weights_set(assessment=assessment, weights=typed, actor=request.user, source="web")
            messages.success(request, "The weights are stored.")
            return redirect("scorecard", slug=client.slug)
        except ValidationError as error:
            errors = error.messages
    with_rivals = may_see_rival_candidates(access)
    candidates = []
    if assessment is not None:
        candidates = [c for c in assessment.candidates.all() if c.is_incumbent or with_rivals]
    shown = typed or (assessment.weights if assessment else DEFAULT_WEIGHTS)
    weights = [{"criterion": c, "value": shown.get(c.key)} for c in CRITERIA]
    return render(
        request,
        "scorecard/assessment.html",
        {
            "client": client,
            "contract": contract,
            "assessment": assessment,
            "candidates": candidates,
            "weights": weights,
            "can_edit": can_edit,
            "errors": errors,
            "typed_name": request.POST.get("name", "") if errors else "",
        },
    )


def _answers_typed(request) -> tuple[dict, dict]:
    answers, files = {}, {}
    for criterion in CRITERIA:
        for question in criterion.questions:
            answers[question.key] = {
                "answer": request.POST.get(f"answer_{question.key}", "").strip(),
                "note": request.POST.get(f"note_{question.key}", "").strip(),
            }
            upload = request.FILES.get(f"evidence_{question.key}")
            if upload is not None:
                files[question.key] = upload
    return answers, files


@login_required
def candidate_answers(request, slug, pk):
    client, contract, assessment, access = scorecard_of_or_404(request.user, slug)
    candidate = visible_candidate_or_404(assessment, pk, may_see_rival_candidates(access))
    errors: list[str] = []
    typed: dict = {}
    if request.method == "POST":
        access.require(Action.EDIT_SCORECARD)
        typed, files = _answers_typed(request)
        try:
            changed = answers_save(
                candidate=candidate, answers=typed, files=files, actor=request.user, source="web"
            )
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"{changed} answer(s) of {candidate.name} stored.")
            return redirect(reverse("scorecard_compare", args=[client.slug]))
    stored = {a.question: a for a in candidate.answers.all()}
    shown = typed or {key: {"answer": a.answer, "note": a.note} for key, a in stored.items()}
    sections = [
        {
            "criterion": criterion,
            "questions": [
                {
                    "question": q,
                    "stored": stored.get(q.key),
                    "answer": shown.get(q.key, {}).get("answer", ""),
                    "note": shown.get(q.key, {}).get("note", ""),
                }
                for q in criterion.questions
            ],
        }
        for criterion in CRITERIA
    ]
    return render(
        request,
        "scorecard/candidate.html",
        {
            "client": client,
            "contract": contract,
            "candidate": candidate,
            "sections": sections,
            "can_edit": may_edit(access),
            "errors": errors,
            "choices": [("yes", "Yes"), ("partly", "Partly"), ("no", "No")],
        },
    )


@login_required
def answer_evidence(request, slug, pk):
    _client, _contract, assessment, access = scorecard_of_or_404(request.user, slug)
    answer = visible_answer_or_404(assessment, pk, may_see_rival_candidates(access))
    if not answer.evidence:
        raise Http404("No file was attached to this answer.")
    # An attachment with its checked type: a browser never renders it in our origin.
    return stored_file_download(answer.evidence, answer.evidence_name, answer.evidence_type)


@login_required
def comparison_page(request, slug):
    client, contract, assessment, access = scorecard_of_or_404(request.user, slug)
    comparison = None
    if assessment is not None:
        comparison = comparison_build(assessment, with_rivals=may_see_rival_candidates(access))
    # The incumbent's measured history, drawn on the page (the comparison's table and the PDF
    # keep the figures it is scored on).
    history = measured_history(contract) if comparison is not None else None
    return render(
        request,
        "scorecard/comparison.html",
        {
            "client": client,
            "contract": contract,
            **comparison_context(comparison),
            "history": history,
            "charts": {"history": history_figure(history)} if history else {},
        },
    )


@login_required
def comparison_pdf(request, slug):
    client, _contract, assessment, access = scorecard_of_or_404(request.user, slug)
    if assessment is None:
        raise Http404("No scorecard has been started for this client.")
    comparison = comparison_build(assessment, with_rivals=may_see_rival_candidates(access))
    response = HttpResponse(comparison_pdf_render(comparison), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(client)}"'
    return response
