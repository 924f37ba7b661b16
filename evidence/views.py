"""The patch report pages: upload a report and list those imported (MSP staff and the advisor
upload, as for tickets: Action.IMPORT_TICKETS; every party reads), and the rows behind a
measured occurrence (the drill-down)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contracts.models import CommitmentOccurrence
from contracts.services.commitments import contract_today
from msp_portal.feedback import refusals_said
from msp_portal.tenancy import Action, get_client_contract_or_404

from .models import ToolReport
from .presets import FIELD_WORDS, FIELDS, PRESETS
from .services import occurrence_patch_measure, patch_report_import, patch_report_undo


@login_required
def patch_reports(request, slug, pk):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    can_upload = access.can(Action.IMPORT_TICKETS)
    if request.method == "POST":
        if not can_upload:
            raise PermissionDenied("Only the MSP's staff and the advisor import tool reports.")
        _upload(request, contract)
        return redirect("patch_reports", slug=client.slug, pk=contract.pk)
    return render(
        request,
        "evidence/patch_reports.html",
        {
            "client": client,
            "contract": contract,
            "can_upload": can_upload,
            "reports": ToolReport.objects.filter(
                contract=contract, kind=ToolReport.Kind.PATCHES
            ).select_related("uploaded_by"),
            "trends": _trends(contract),
            # Reports are taken back newest first (a later one may build on an earlier one).
            "undoable": ToolReport.objects.filter(client=client, kind=ToolReport.Kind.PATCHES)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first(),
            "presets": [(p.name, p.label) for p in PRESETS.values()],
            "fields": [(f, FIELD_WORDS[f]) for f in FIELDS],
            "today": contract_today(contract),
        },
    )


def _trends(contract) -> list[tuple]:
    """Each patch-measured commitment with its measured occurrences, oldest first: the trend of
    the on-time share, the median and the p90 period by period."""
    occurrences = (
        CommitmentOccurrence.objects.filter(
            commitment__contract=contract,
            commitment__measured_by="patches",
            measure__isnull=False,
        )
        .select_related("commitment")
        .order_by("commitment__name", "period_start")
    )
    trends: dict = {}
    for occ in occurrences:
        m = occ.measure
        share = m["on_time"] / m["counted"] if m["counted"] else None
        trends.setdefault(occ.commitment, []).append((occ, share))
    return list(trends.items())


def _upload(request, contract) -> None:
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose the patch report file to upload.")
        return
    try:
        report_date = date.fromisoformat(request.POST.get("report_date", ""))
    except ValueError:
        messages.error(
            request, "Report date: give the day the report was exported, like 2025-10-03."
        )
        return
    mapping = {f: request.POST.get(f"column_{f}", "").strip()[:200] for f in FIELDS}
    with refusals_said(request):
        report = patch_report_import(
            contract=contract,
            upload=upload,
            preset=request.POST.get("preset", "generic"),
            report_date=report_date,
            actor=request.user,
            source="web",
            mapping={f: c for f, c in mapping.items() if c},
        )
        left_out = len(report.problems)
        messages.success(
            request,
            f"{report.original_name}: {report.rows_imported} of {report.rows_read} rows imported"
            + (
                f"; {left_out} problem{'s' if left_out != 1 else ''} listed below."
                if left_out
                else "."
            ),
        )


@login_required
@require_POST
def patch_report_undo_view(request, slug, pk, report):
    """Take an imported report back (the newest first), as the side that imports them."""
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    item = get_object_or_404(ToolReport, pk=report, contract=contract, kind=ToolReport.Kind.PATCHES)
    if not access.can(Action.IMPORT_TICKETS):
        raise PermissionDenied("Only the MSP's staff and the advisor import tool reports.")
    with refusals_said(request):
        patch_report_undo(report=item, actor=request.user, source="web")
        messages.success(request, f"{item.original_name}: taken back; its rows are gone.")
    return redirect("patch_reports", slug=client.slug, pk=contract.pk)


@login_required
def occurrence_patches(request, slug, pk, occurrence):
    """The (device, patch) pairs behind a measured occurrence, late ones first."""
    client, contract, _access = get_client_contract_or_404(request.user, slug, pk)
    occ = get_object_or_404(
        CommitmentOccurrence.objects.select_related("commitment__contract"),
        pk=occurrence,
        commitment__contract=contract,
        commitment__measured_by="patches",
    )
    measure = occurrence_patch_measure(occ)
    return render(
        request,
        "evidence/occurrence_patches.html",
        {
            "client": client,
            "contract": contract,
            "occurrence": occ,
            "commitment": occ.commitment,
            "measure": measure,
            "status_label": dict(CommitmentOccurrence.Status.choices)[
                occ.status_on(contract_today(contract), 0)
            ],
        },
    )
