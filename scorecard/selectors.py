"""Reads of the provider scorecard, scoped to what the reader may see: parties to the
assessment's contract see it; the incumbent MSP's people see only the incumbent
(msp_portal.tenancy.may_see_rival_candidates). Anything else is a 404."""

from __future__ import annotations

from django.http import Http404

from msp_portal.tenancy import (
    Access,
    Action,
    contract_access,
    get_client_with_contract_or_404,
)

from .models import Answer, Assessment, Candidate


def scorecard_of_or_404(user, slug: str) -> tuple:
    """(client, its current contract, its assessment or None, the reader's access on the
    contract the assessment is about). 404 for a client without a contract, or for a reader
    who is not party to that contract."""
    client, _access, contract = get_client_with_contract_or_404(user, slug)
    assessment = Assessment.objects.filter(client=client).select_related("contract__msp").first()
    about = assessment.contract if assessment is not None else contract
    if about is None:
        raise Http404("This client has no contract.")
    access = contract_access(user, about)
    if not access.roles:
        raise Http404("No such scorecard.")
    return client, about, assessment, access


def visible_candidate_or_404(assessment: Assessment | None, pk, with_rivals: bool) -> Candidate:
    candidate = (
        Candidate.objects.filter(assessment=assessment, pk=pk).first() if assessment else None
    )
    if candidate is None or not (candidate.is_incumbent or with_rivals):
        raise Http404("No such candidate.")
    return candidate


def visible_answer_or_404(assessment: Assessment | None, pk, with_rivals: bool) -> Answer:
    answer = (
        Answer.objects.filter(candidate__assessment=assessment, pk=pk)
        .select_related("candidate")
        .first()
        if assessment
        else None
    )
    if answer is None or not (answer.candidate.is_incumbent or with_rivals):
        raise Http404("No such answer.")
    return answer


def may_edit(access: Access) -> bool:
    """Weights, candidates and answers: the client's admins and its advisory firm."""
    return access.can(Action.EDIT_SCORECARD)
