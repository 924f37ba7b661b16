"""Pages of the contract domain. Each view: resolve access through tenancy, call, render."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contracts import selectors
from contracts.audit_display import event_view
from contracts.models import (
    CommitmentOccurrence,
    Evidence,
    ResponsibilityMatrixVersion,
)
from contracts.rule_changes import pending_count
from contracts.services.commitments import (
    contract_today,
    evidence_add,
    occurrence_answer,
    occurrence_complete,
)
from contracts.services.matrix import matrix_approve
from msp_portal.context_processors import SESSION_KEY
from msp_portal.downloads import stored_file_download
from msp_portal.feedback import refusals_said
from msp_portal.tenancy import (
    Action,
    get_client_contract_or_404,
    get_client_or_404,
    may_answer_commitment,
    may_record_commitment,
    user_organisations,
    visible_clients,
)

RECENT_CHANGES = 5  # on the contract page; the history page has them all


@login_required
@require_POST
def organisation_switch(request):
    """Remember which of the user's organisations they are working as."""
    org = get_object_or_404(user_organisations(request.user), pk=request.POST.get("organisation"))
    request.session[SESSION_KEY] = org.pk
    clients = visible_clients(request.user)
    if org.kind == org.Kind.CLIENT:
        return redirect("client_home", slug=org.slug)
    return (
        redirect("home")
        if clients.count() != 1
        else redirect("client_home", slug=clients.first().slug)
    )


@login_required
def client_home(request, slug):
    client, access = get_client_or_404(request.user, slug)
    cards = []
    for contract in selectors.client_contracts(user=request.user, client=client):
        _version, gaps = selectors.matrix_with_gaps(contract=contract)
        cards.append(
            {
                "contract": contract,
                "policy": selectors.policy_with_targets(contract=contract),
                "gaps": gaps,
                "commitments": selectors.commitment_summary(contract=contract),
            }
        )
    return render(
        request,
        "contracts/client_home.html",
        {"client": client, "access": access, "cards": cards, "strip": _strip(client)},
    )


def _strip(client):
    """The verdict strip of the client's default period under its current contract, if any."""
    from kpis.dashboard.periods import default_periods
    from kpis.dashboard.verdicts import strip_load

    contract = selectors.current_contract(client=client)
    if contract is None:
        return None
    label = default_periods({client.pk: contract})[client.pk]
    return strip_load(client, contract, label, contract_today(contract)) if label else None


@login_required
def contract_detail(request, slug, pk):
    from kpis.dashboard.verdicts import targets_in_words

    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    _version, gaps = selectors.matrix_with_gaps(contract=contract)
    trail = selectors.audit_trail(contract=contract)
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "client": client,
            "contract": contract,
            "access": access,
            "can_set_up": access.can(Action.SET_UP_CONTRACT),
            "policy": selectors.policy_with_targets(contract=contract),
            "policy_history": selectors.policy_history(contract=contract),
            "pending_rules": pending_count(contract),
            "targets": targets_in_words(contract),
            "gaps": gaps,
            "views": [event_view(e) for e in trail[:RECENT_CHANGES]],
            "changes_count": trail.count(),
        },
    )


@login_required
def matrix(request, slug, pk):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    version, gaps = selectors.matrix_with_gaps(contract=contract)
    gap_areas = {g.area for g in gaps if g.area}
    return render(
        request,
        "contracts/matrix.html",
        {
            "client": client,
            "contract": contract,
            "access": access,
            "version": version,
            "gaps": gaps,
            "gap_areas": gap_areas,
            "can_approve_client": access.can(Action.APPROVE_MATRIX_CLIENT),
            "can_approve_msp": access.can(Action.APPROVE_MATRIX_MSP),
            # Unassigned areas and shared ones without a split refuse approval.
            "blocking": [g for g in gaps if g.kind != "not_approved"],
            "in_force": contract.matrix_in_force(),
        },
    )


@login_required
@require_POST
def matrix_approve_view(request, slug, pk, version, side):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    matrix_version = get_object_or_404(ResponsibilityMatrixVersion, contract=contract, pk=version)
    if side not in ("client", "msp"):
        raise Http404("No such side.")
    access.require(Action.APPROVE_MATRIX_CLIENT if side == "client" else Action.APPROVE_MATRIX_MSP)
    with refusals_said(request):
        matrix_approve(version=matrix_version, side=side, actor=request.user, source="web")
        messages.success(request, f"Matrix version {matrix_version.number} approved.")
    return redirect("contract_matrix", slug=client.slug, pk=contract.pk)


@login_required
def commitments(request, slug, pk):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    # Every occurrence of the term, grouped by the year of its period, newest year first: an
    # old one can still be recorded, confirmed or disputed (the page used to stop at six).
    sections = [
        (
            commitment,
            _by_year(rows),
            # A measured commitment is kept by its reports, not recorded or confirmed by hand.
            may_record_commitment(access, commitment.owner) and not commitment.measured_by,
            may_answer_commitment(access, commitment.owner) and not commitment.measured_by,
        )
        for commitment, rows in selectors.commitment_rows(contract=contract, recent=None)
    ]
    return render(
        request,
        "contracts/commitments.html",
        {
            "client": client,
            "contract": contract,
            "access": access,
            "sections": sections,
            "answer_days": settings.COMMITMENT_ANSWER_DAYS,
            "can_dispute": access.can(Action.OPEN_DISPUTE),
            "today": contract_today(contract),
        },
    )


def _by_year(rows: list) -> list[tuple[int, list]]:
    """Occurrence rows (newest first) as (year, rows) in the same order."""
    years: dict[int, list] = {}
    for row in rows:
        years.setdefault(row.occurrence.period_start.year, []).append(row)
    return list(years.items())


def _occurrence(request, slug, pk, occurrence, may=may_record_commitment):
    """The occurrence of this contract (404 otherwise), if the user's side may act on it: the
    recording side by default, `may_answer_commitment` for a confirmation (403 otherwise)."""
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    occ = get_object_or_404(
        CommitmentOccurrence.objects.select_related("commitment__contract"),
        pk=occurrence,
        commitment__contract=contract,
    )
    if not may(access, occ.commitment.owner):
        raise PermissionDenied("Your side does not record or answer for this commitment.")
    return client, contract, occ


@login_required
@require_POST
def occurrence_complete_view(request, slug, pk, occurrence):
    client, contract, occ = _occurrence(request, slug, pk, occurrence)
    try:
        completed_on = date.fromisoformat(request.POST.get("completed_on", ""))
        occurrence_complete(
            occurrence=occ,
            actor=request.user,
            source="web",
            completed_on=completed_on,
            note=request.POST.get("note", "")[:2000],
        )
        messages.success(request, f"{occ.commitment.name}: recorded as done on {completed_on}.")
    except ValueError:
        messages.error(request, "Completed on: give a date like 2025-09-30.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("contract_commitments", slug=client.slug, pk=contract.pk)


@login_required
@require_POST
def occurrence_answer_view(request, slug, pk, occurrence):
    """The other side confirms or disputes an occurrence recorded as done."""
    client, contract, occ = _occurrence(request, slug, pk, occurrence, may=may_answer_commitment)
    with refusals_said(request):
        occurrence_answer(
            occurrence=occ,
            actor=request.user,
            source="web",
            answer=request.POST.get("answer", ""),
            note=request.POST.get("note", "")[:2000],
        )
        said = "confirmed" if occ.answer == occ.Answer.CONFIRMED else "disputed"
        messages.success(request, f"{occ.commitment.name}: {said}.")
    return redirect("contract_commitments", slug=client.slug, pk=contract.pk)


@login_required
@require_POST
def evidence_upload_view(request, slug, pk, occurrence):
    client, contract, occ = _occurrence(request, slug, pk, occurrence)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a file to upload.")
    else:
        with refusals_said(request):
            evidence_add(occurrence=occ, upload=upload, actor=request.user, source="web")
            messages.success(request, f"Evidence '{upload.name}' stored.")
    return redirect("contract_commitments", slug=client.slug, pk=contract.pk)


@login_required
def evidence_download(request, slug, pk, evidence):
    _client, contract, _access = get_client_contract_or_404(request.user, slug, pk)
    item = get_object_or_404(Evidence, pk=evidence, occurrence__commitment__contract=contract)
    # Served as an attachment with its checked type, so a browser never renders it in our origin.
    return stored_file_download(item.file, item.original_name, item.content_type)
