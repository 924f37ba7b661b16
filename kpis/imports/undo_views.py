"""Import pages for the overlap question and for undo: each checks access first, then calls
one service (kpis/imports/overlap.py, kpis/imports/undo.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kpis.imports.overlap import overlap_choose
from kpis.imports.undo import UndoRefused, import_undo, undo_deadline, undo_refusal
from kpis.models import ImportJob
from msp_portal.jobs import recompute_enqueue
from msp_portal.tenancy import Action, get_import_or_404, writes_for_msp

CHOICES = {
    "import": "Importing anyway, beside the other source's tickets.",
    "replace": "Replacing the other source's tickets for the overlapping dates.",
    "cancel": "Cancelled: nothing was imported.",
}


@login_required
@require_POST
def import_overlap(request, pk):
    """The answer to the overlap question: import anyway, replace, or cancel."""
    job, access = get_import_or_404(request.user, pk)
    access.require(Action.IMPORT_TICKETS)
    choice = request.POST.get("choice", "")
    if choice not in CHOICES:
        messages.error(request, "Choose to import anyway, to replace, or to cancel.")
    elif job.status != ImportJob.Status.OVERLAP:
        messages.error(request, "This import is no longer waiting for a choice.")
    else:
        overlap_choose(job, choice)
        messages.success(request, CHOICES[choice])
    return redirect("import_detail", pk=job.pk)


def _require_undo_access(user, job: ImportJob) -> None:
    # Undo rewrites the client's tickets from the MSP's side: a writer of that MSP only.
    if not writes_for_msp(user, job.msp_id):
        raise PermissionDenied("Only the MSP's staff with a writing role undo an import.")


@login_required
def import_undo_view(request, pk):
    """GET: what an undo would do, to confirm; POST: undo it and recompute the KPIs."""
    job, _access = get_import_or_404(request.user, pk)
    _require_undo_access(request.user, job)
    if request.method == "POST":
        try:
            months = import_undo(job=job, user=request.user, source="web")
        except UndoRefused as refused:
            messages.error(request, str(refused))
        else:
            for client_id in sorted({c for c, _ in months}):
                transaction.on_commit(lambda c=client_id: recompute_enqueue(c))
            messages.success(
                request,
                f"Import {job.pk} undone: {job.created:,} tickets removed, "
                f"{job.updated:,} given back their earlier values; the KPIs of "
                f"{len(months):,} months are being recomputed.",
            )
        return redirect("import_detail", pk=job.pk)
    return render(
        request,
        "kpis/import_undo.html",
        {"job": job, "refusal": undo_refusal(job), "deadline": undo_deadline(job)},
    )
