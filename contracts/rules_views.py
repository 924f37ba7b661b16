"""The page of rule changes: proposals waiting for approval with what each would change, each
side's approve button, withdraw, and the history of every version (issue 24)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contracts.models import ResponsibilityMatrixVersion, SlaPolicyVersion
from contracts.rule_changes import rule_changes
from contracts.services.agreement import version_approve, version_withdraw
from msp_portal.feedback import refusals_said
from msp_portal.tenancy import Action, get_client_contract_or_404

KINDS = {"sla": SlaPolicyVersion, "matrix": ResponsibilityMatrixVersion}


@login_required
def rules(request, slug, pk):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    pending, history = rule_changes(contract)
    return render(
        request,
        "contracts/rules.html",
        {
            "client": client,
            "contract": contract,
            "access": access,
            "pending": pending,
            "history": history,
            "can_approve_client": access.can(Action.APPROVE_MATRIX_CLIENT),
            "can_approve_msp": access.can(Action.APPROVE_MATRIX_MSP),
            "can_withdraw": access.can(Action.EDIT_CONTRACT),
        },
    )


def _version(contract, kind: str, version: int):
    if kind not in KINDS:
        raise Http404("No such kind of version.")
    return get_object_or_404(KINDS[kind], contract=contract, pk=version)


@login_required
@require_POST
def rules_approve(request, slug, pk, kind, version, side):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    target = _version(contract, kind, version)
    if side not in ("client", "msp"):
        raise Http404("No such side.")
    access.require(Action.APPROVE_MATRIX_CLIENT if side == "client" else Action.APPROVE_MATRIX_MSP)
    with refusals_said(request):
        target = version_approve(version=target, side=side, actor=request.user, source="web")
        messages.success(
            request,
            "Approved. Both sides have agreed: it applies from its effective date."
            if target.is_agreed
            else "Approved. It applies once the other side approves it too.",
        )
    return redirect("contract_rules", slug=client.slug, pk=contract.pk)


@login_required
@require_POST
def rules_withdraw(request, slug, pk, kind, version):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    target = _version(contract, kind, version)
    access.require(Action.EDIT_CONTRACT)
    with refusals_said(request):
        version_withdraw(
            version=target,
            actor=request.user,
            source="web",
            reason=request.POST.get("reason", "")[:500],
        )
        messages.success(request, "Withdrawn. It is kept in the history and decides nothing.")
    return redirect("contract_rules", slug=client.slug, pk=contract.pk)
