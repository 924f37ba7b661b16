"""The tool report pages, one per kind (evidence/kinds.py): upload a report and list those
imported (MSP staff and the advisor upload, as for tickets: Action.IMPORT_TICKETS; every party
reads), and the rows behind a measured occurrence (the drill-down)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from contracts.models import CommitmentOccurrence
from contracts.services.commitments import contract_today
from msp_portal.downloads import stored_file_download
from msp_portal.feedback import refusals_said
from msp_portal.tenancy import Action, get_client_contract_or_404

from .backup_services import occurrence_backup_measure, occurrence_restore_measure
from .charts import TrendPoint, commitment_bound, measured_trend
from .jobs import progress_get, tool_report_job_create, tool_report_job_requeue_if_lost
from .kinds import KINDS, ReportKind
from .left_out import devices_left_out
from .models import ToolReport, ToolReportJob
from .problems import problems_count
from .saved_mappings import (
    saved_mapping_by_id,
    saved_mapping_chosen,
    saved_mapping_may_forget,
    saved_mapping_save,
    saved_mapping_scope_words,
    saved_mappings_for,
)
from .services import occurrence_patch_measure


def _kind(kind: str) -> ReportKind:
    found = KINDS.get(kind)
    if found is None:
        raise Http404("No such kind of report.")
    return found


@login_required
def tool_reports(request, slug, pk, kind):
    """A kind of tool report's page: upload one, the measured commitments period by period,
    the reports imported with their problems."""
    report_kind = _kind(kind)
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    can_upload = access.can(Action.IMPORT_TICKETS)
    if request.method == "POST":
        if not can_upload:
            raise PermissionDenied("Only the MSP's staff and the advisor import tool reports.")
        queued = _upload(request, contract, report_kind)
        if queued is not None:
            return redirect("tool_report_job", slug=client.slug, pk=contract.pk, job=queued.pk)
        return redirect(report_kind.page, slug=client.slug, pk=contract.pk)
    # The contract's own reports: another contract of the client may be another MSP's.
    of_kind = ToolReport.objects.filter(contract=contract, kind=kind)
    trends = _trends(contract, report_kind)
    return render(
        request,
        "evidence/tool_reports.html",
        {
            "client": client,
            "contract": contract,
            "kind": report_kind,
            "can_upload": can_upload,
            "reports": of_kind.select_related("uploaded_by"),
            "trends": trends,
            # The same trends drawn (the table stays: for screen readers and the print).
            **_charts(client, contract, trends, report_kind),
            # Reports are taken back newest first (a later one may build on an earlier one).
            "undoable": of_kind.order_by("-pk").values_list("pk", flat=True).first(),
            "presets": [(p.name, p.label) for p in report_kind.layout.presets.values()],
            **_upload_form(request, contract, report_kind, can_upload),
            "today": contract_today(contract),
            **_jobs(contract, kind),
        },
    )


def _upload_form(request, contract, kind: ReportKind, can_upload: bool) -> dict:
    """The upload form's column fields, pre-filled from the saved columns chosen (?columns=ID,
    one this contract's upload may use), the saved columns to choose from, and where new ones
    would be saved."""
    chosen = saved_mapping_chosen(contract, kind.kind, request.GET.get("columns", ""))
    columns = chosen.mapping if chosen is not None else {}
    return {
        "fields": [(f, kind.layout.field_words[f], columns.get(f, "")) for f in kind.layout.fields],
        "chosen_mapping": chosen,
        "saved_mappings": list(saved_mappings_for(contract, kind.kind)) if can_upload else [],
        "save_scope": saved_mapping_scope_words(contract, request.user) if can_upload else "",
        "may_forget": chosen is not None and saved_mapping_may_forget(chosen, request.user),
    }


@login_required
@require_POST
def saved_columns_forget(request, slug, pk, saved):
    """Forget saved columns (renaming is saving them again under the new name, then this), as
    the side that may save them there (saved_mapping_may_forget)."""
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    # The side that uploads nothing is refused before any lookup: whether an id exists is
    # none of its business.
    if not access.can(Action.IMPORT_TICKETS):
        raise PermissionDenied("Only the MSP's staff and the advisor keep saved columns.")
    found = saved_mapping_by_id(contract, saved)
    if found is None:
        raise Http404("No such saved columns.")
    if not saved_mapping_may_forget(found, request.user):
        raise PermissionDenied("Only the MSP's staff forget the MSP's own saved columns.")
    found.delete()
    messages.success(request, f"Saved columns “{found.name}” forgotten.")
    return redirect(KINDS[found.kind].page, slug=client.slug, pk=contract.pk)


# The imports that failed or were refused stay listed on the kind's page, the latest few.
ENDED_JOBS_SHOWN = 5


def _jobs(contract, kind: str) -> dict:
    """The kind's imports still queued or running, and the last that failed or were refused:
    the page names each, with what it is doing or why it ended."""
    of_kind = ToolReportJob.objects.filter(contract=contract, kind=kind).order_by("-pk")
    status = ToolReportJob.Status
    return {
        "jobs_active": list(of_kind.filter(status__in=[status.QUEUED, status.RUNNING])),
        "jobs_ended": list(
            of_kind.filter(status__in=[status.REJECTED, status.FAILED])[:ENDED_JOBS_SHOWN]
        ),
    }


def _trends(contract, kind: ReportKind) -> list[tuple]:
    """Each commitment measured by this kind with its measured occurrences, oldest first: the
    headline rate and the measure in words, period by period."""
    occurrences = (
        CommitmentOccurrence.objects.filter(
            commitment__contract=contract,
            commitment__measured_by=kind.kind,
            measure__isnull=False,
        )
        .select_related("commitment")
        .order_by("commitment__name", "period_start")
    )
    trends: dict = {}
    for occ in occurrences:
        trends.setdefault(occ.commitment, []).append(
            (occ, kind.headline(occ.measure), kind.words(occ.measure))
        )
    return list(trends.items())


def _charts(client, contract, trends: list[tuple], kind: ReportKind) -> dict:
    """Each commitment's trend as a Plotly figure (the headline rate per measured period), and
    per chart its one trace's links: each point opens the rows behind its period."""
    charts, links = {}, {}
    for commitment, rows in trends:
        name = f"trend-{commitment.pk}"
        points = [
            TrendPoint(f"{occ.period_start:%b %Y}", rate, bool(occ.measure["kept"]), words)
            for occ, rate, words in rows
        ]
        bound = commitment_bound(commitment.target_percent, commitment.limit_percent)
        charts[name] = measured_trend(points, kind.headline_words, bound)
        links[name] = [
            [
                reverse(kind.drilldown, args=[client.slug, contract.pk, occ.pk])
                for occ, _r, _w in rows
            ]
        ]
    return {"charts": charts, "chart_links": links}


def _upload(request, contract, kind: ReportKind) -> ToolReportJob | None:
    """The upload checked as far as it can be without reading its rows, kept and queued; None
    (with the reason said) when it is refused."""
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, f"Choose the {kind.noun} file to upload.")
        return None
    try:
        report_date = date.fromisoformat(request.POST.get("report_date", ""))
    except ValueError:
        messages.error(
            request, "Report date: give the day the report was exported, like 2025-10-03."
        )
        return None
    columns = {f: request.POST.get(f"column_{f}", "").strip()[:200] for f in kind.layout.fields}
    mapping = {f: c for f, c in columns.items() if c}
    preset = request.POST.get("preset", "generic")
    with refusals_said(request):
        job = tool_report_job_create(
            contract=contract,
            kind=kind,
            upload=upload,
            preset=preset,
            report_date=report_date,
            mapping=mapping,
            statement=request.POST.get("statement", ""),
            actor=request.user,
            via=ToolReportJob.Via.WEB,
        )
        _columns_saved(request, contract, kind, preset, mapping)
        return job
    return None


def _columns_saved(request, contract, kind: ReportKind, preset: str, mapping: dict) -> None:
    """The upload's layout and columns saved under the name given, if one was (only once the
    upload was accepted: a refused layout is not worth keeping)."""
    name = request.POST.get("save_as", "").strip()[:100]
    if not name:
        return
    saved_mapping_save(
        contract, kind.kind, name=name, preset=preset, mapping=mapping, user=request.user
    )
    scope = saved_mapping_scope_words(contract, request.user)
    messages.success(request, f"Columns saved as “{name}”, {scope}.")


def _job(request, slug, pk, job) -> tuple:
    """(client, contract, access, the contract's job, its kind); 404 for another contract's."""
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    found = get_object_or_404(
        ToolReportJob.objects.select_related("report", "uploaded_by"), pk=job, contract=contract
    )
    # A look at a job queued while the broker was down hands it over once it is back.
    return client, contract, access, tool_report_job_requeue_if_lost(found), _kind(found.kind)


@login_required
@require_GET
def tool_report_job(request, slug, pk, job):
    """One upload's import: its live progress while it runs, then what it did (rows imported of
    read, the rows left out and why) or why the file could not be used."""
    client, contract, access, found, kind = _job(request, slug, pk, job)
    report = found.report
    return render(
        request,
        "evidence/tool_report_job.html",
        {
            "client": client,
            "contract": contract,
            "kind": kind,
            "job": found,
            "progress": progress_get(found),
            "report": report,
            "problems": report.problems if report is not None else [],
            "left_out": problems_count(report.problems) if report is not None else 0,
            "can_upload": access.can(Action.IMPORT_TICKETS),
            "file_days": settings.TOOL_REPORT_JOB_FILE_DAYS,
        },
    )


@login_required
@require_GET
def tool_report_job_file(request, slug, pk, job):
    """A refused or failed upload's file as it was sent, for the side that uploads (to see what
    the tool exported), until it is deleted (TOOL_REPORT_JOB_FILE_DAYS after the import ended).
    An imported upload's file is its report's: tool_report_file."""
    _client, _contract, access, found, _job_kind = _job(request, slug, pk, job)
    if not access.can(Action.IMPORT_TICKETS):
        raise PermissionDenied("Only the MSP's staff and the advisor see what they uploaded.")
    if not found.file:
        raise Http404("This upload's file has been deleted.")
    return stored_file_download(found.file, found.original_name)


@login_required
@require_GET
def tool_report_job_status(request, slug, pk, job):
    """What the job's page polls while the import runs."""
    found = _job(request, slug, pk, job)[3]
    return JsonResponse(progress_get(found))


@login_required
@require_POST
def tool_report_undo(request, slug, pk, report, kind):
    """Take an imported report back (the newest of its kind first), as the side that imports
    them."""
    report_kind = _kind(kind)
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    item = get_object_or_404(ToolReport, pk=report, contract=contract, kind=kind)
    if not access.can(Action.IMPORT_TICKETS):
        raise PermissionDenied("Only the MSP's staff and the advisor import tool reports.")
    with refusals_said(request):
        report_kind.undo_report(report=item, actor=request.user, source="web")
        messages.success(request, f"{item.original_name}: taken back; its rows are gone.")
    return redirect(report_kind.page, slug=client.slug, pk=contract.pk)


def measured_occurrence(request, slug, pk, occurrence, measured_by: str) -> dict:
    """The page context of a drill-down: the client, the contract, one occurrence of its
    commitment measured by `measured_by` (404 for any other) and its status in words."""
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    occ = get_object_or_404(
        CommitmentOccurrence.objects.select_related("commitment__contract"),
        pk=occurrence,
        commitment__contract=contract,
        commitment__measured_by=measured_by,
    )
    return {
        "client": client,
        "contract": contract,
        "occurrence": occ,
        "commitment": occ.commitment,
        "status_label": dict(CommitmentOccurrence.Status.choices)[
            occ.status_on(contract_today(contract), 0)
        ],
        "left_out": devices_left_out(contract.pk, measured_by, occ.due_date),
        "can_dispute": access.can(Action.OPEN_DISPUTE),
    }


@login_required
def occurrence_patches(request, slug, pk, occurrence):
    """The (device, patch) pairs behind a measured occurrence, late ones first."""
    context = measured_occurrence(request, slug, pk, occurrence, "patches")
    context["measure"] = occurrence_patch_measure(context["occurrence"])
    return render(request, "evidence/occurrence_patches.html", context)


@login_required
def tool_report_file(request, slug, pk, report, kind):
    """A tool report's file as uploaded (the evidence behind an attestation), for every party
    of the contract."""
    _kind(kind)
    _client, contract, _access = get_client_contract_or_404(request.user, slug, pk)
    item = get_object_or_404(ToolReport, pk=report, contract=contract, kind=kind)
    return stored_file_download(item.file, item.original_name)


@login_required
def occurrence_backups(request, slug, pk, occurrence):
    """The devices and runs behind a backup-measured occurrence, late devices first."""
    context = measured_occurrence(request, slug, pk, occurrence, "backups")
    context["measure"] = occurrence_backup_measure(context["occurrence"])
    return render(request, "evidence/occurrence_backups.html", context)


@login_required
def occurrence_restores(request, slug, pk, occurrence):
    """The protected systems and their restore tests behind an occurrence, missing first."""
    context = measured_occurrence(request, slug, pk, occurrence, "restores")
    context["measure"] = occurrence_restore_measure(context["occurrence"])
    return render(request, "evidence/occurrence_restores.html", context)
