"""Import pages: upload, map, watch progress, read the history, download problems and files."""

from __future__ import annotations

from zoneinfo import available_timezones

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from contracts.models import Contract, Organisation
from kpis.imports.forms import VALUE_FIELDS, MappingForm
from kpis.imports.ingest.mapping import MappingError, mapping_from_json
from kpis.imports.ingest.normalise import safe_text
from kpis.imports.ingest.presets import (
    DATE_ORDERS,
    EVENT_FIELDS,
    NORMALISED_VALUES,
    PRESETS,
    TICKET_FIELDS,
)
from kpis.imports.ingest.read import UnusableFile
from kpis.imports.jobs import import_requeue_if_lost, progress_get
from kpis.imports.services import (
    import_confirm,
    import_create,
    import_preview,
    import_reject,
    preview_table,
)
from kpis.imports.undo import undo_deadline
from kpis.models import ImportJob
from msp_portal.csv_export import csv_writer
from msp_portal.tenancy import (
    Action,
    get_import_or_404,
    importable_clients,
    importing_msps,
    may_download_import_file,
    visible_imports,
    writes_for_msp,
)


@login_required
def import_list(request):
    jobs = visible_imports(request.user).select_related("msp", "client", "uploaded_by")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    can_upload = bool(importable_clients(request.user)) or importing_msps(request.user).exists()
    return render(request, "kpis/import_list.html", {"page": page, "can_upload": can_upload})


@login_required
def import_upload(request):
    pairs = importable_clients(request.user)
    msps = list(importing_msps(request.user))
    if not pairs and not msps:
        raise PermissionDenied("Only MSP staff and advisors with a writing role import tickets.")
    targets = [(f"client:{c.pk}:{m.pk}", f"{c.name} (from {m.name})") for c, m in pairs]
    targets += [(f"msp:{m.pk}", f"Several clients of {m.name} (a company column)") for m in msps]
    if request.method == "POST":
        upload = request.FILES.get("file")
        target = request.POST.get("target", "")
        error = None
        if upload is None:
            error = "Choose an export file to upload."
        elif upload.size > settings.IMPORT_MAX_BYTES:
            error = f"The file is larger than {settings.IMPORT_MAX_BYTES // 2**20} MB."
        elif target not in dict(targets):
            error = "Choose whose tickets these are."
        if error:
            messages.error(request, error)
        else:
            parts = target.split(":")
            client = Organisation.objects.get(pk=parts[1]) if parts[0] == "client" else None
            msp = Organisation.objects.get(pk=parts[2] if client else parts[1])
            job = import_create(
                msp=msp,
                client=client,
                user=request.user,
                via=ImportJob.Via.WEB,
                name=upload.name,
                content=upload,  # on disk (kpis/imports/upload_limit.py), copied in chunks
            )
            return redirect("import_mapping", pk=job.pk)
    # A choice made before a refused upload stays chosen; nothing is chosen on a first visit.
    chosen = request.POST.get("target", "") if request.method == "POST" else ""
    return render(request, "kpis/import_upload.html", {"targets": targets, "chosen": chosen})


def _clients_of_msp(job: ImportJob) -> list[Organisation]:
    """The clients a several-clients import can route a company to: those of the job's MSP."""
    contracts = (
        Contract.objects.filter(msp=job.msp).select_related("client").order_by("client__name")
    )
    return list({c.client_id: c.client for c in contracts}.values())


@login_required
def import_mapping(request, pk):
    job, access = get_import_or_404(request.user, pk)
    access.require(Action.IMPORT_TICKETS)
    if job.status != ImportJob.Status.MAPPING:
        return redirect("import_detail", pk=job.pk)
    mapping_json, problem = None, None
    try:
        table = preview_table(job)  # read once, for the form and the preview
        if request.method == "POST":
            form = MappingForm(
                request.POST,
                preview=import_preview(job, table=table),
                client_slugs=[c.slug for c in _clients_of_msp(job)],
            )
            if form.is_valid():
                mapping_json = form.mapping_json()
            else:
                problem = form.errors_in_words()
        try:
            preview = import_preview(job, mapping_json=mapping_json, table=table)
        except MappingError as error:
            problem = str(error)
            # The preset chosen stays chosen, with its own columns, beside the problem named.
            keys = ("preset", "timezone", "date_order")
            start = {k: mapping_json[k] for k in keys} if mapping_json else None
            preview = import_preview(job, mapping_json=start, table=table)
    except UnusableFile as error:
        import_reject(job, error)
        messages.error(request, str(error))
        return redirect("import_detail", pk=job.pk)
    if request.method == "POST" and request.POST.get("action") == "confirm" and not problem:
        try:
            mapping = mapping_from_json(mapping_json, preview.table.columns)
        except MappingError as error:
            problem = str(error)
        else:
            unmapped_companies = [c for c, _ in preview.companies if c not in mapping.clients]
            if job.client is None and unmapped_companies:
                problem = "Map or skip every company: " + ", ".join(unmapped_companies[:5])
            else:
                save_as = form.cleaned_data["save_as"]
                import_confirm(job, mapping=mapping, user=request.user, save_as=save_as)
                return redirect("import_detail", pk=job.pk)
    clients = _clients_of_msp(job) if job.client is None else []
    header = preview.table.columns
    rows = preview.table.frame.head(8).drop("__row").rows()
    return render(
        request,
        "kpis/import_mapping.html",
        {
            "job": job,
            "preview": preview,
            "problem": problem,
            "header": header,
            "rows": rows,
            "presets": [(p.name, p.label) for p in PRESETS.values()],
            "fields": [
                (name, label, preview.mapping.columns.get(name, ""))
                for name, label in (
                    {**TICKET_FIELDS, **EVENT_FIELDS}
                    if preview.mapping.shape == "event"
                    else TICKET_FIELDS
                ).items()
            ],
            "value_fields": [
                (
                    name,
                    preview.value_counts[name],
                    NORMALISED_VALUES[name],
                    *_unmapped(preview.value_counts[name]),
                    preview.left_off.get(name, 0),
                )
                for name in VALUE_FIELDS
                if preview.value_counts.get(name)
            ],
            "status_values": [raw for raw, _, _ in preview.value_counts.get("status", [])],
            "pause_states": set(preview.mapping.pause_states),
            "companies": [
                (company, count, preview.mapping.clients.get(company, ""))
                for company, count in preview.companies
            ],
            "clients": clients,
            "zones": sorted(available_timezones()),
            "date_orders": DATE_ORDERS,
            "save_as": job.mapping_name or PRESETS[preview.mapping.preset].label,
            "saves_for_msp": writes_for_msp(request.user, job.msp_id),
        },
    )


def _unmapped(values: list[tuple[str, int, str | None]]) -> tuple[int, int]:
    """How many listed values no rule maps, and on how many rows of the file."""
    unmapped = [count for _raw, count, guess in values if not guess]
    return len(unmapped), sum(unmapped)


@login_required
def import_detail(request, pk):
    job, access = get_import_or_404(request.user, pk)
    # A look at an import queued while the broker was down hands it over once it is back.
    job = import_requeue_if_lost(job)
    problems = job.problems.all()[:200]
    return render(
        request,
        "kpis/import_detail.html",
        {
            "job": job,
            "progress": progress_get(job),
            "problems": problems,
            "problem_count": job.problems.count(),
            "may_download_file": may_download_import_file(request.user, job),
            "can_import": access.can(Action.IMPORT_TICKETS),
            "can_undo": job.status == ImportJob.Status.DONE
            and writes_for_msp(request.user, job.msp_id),
            "undo_deadline": undo_deadline(job),
        },
    )


@login_required
def import_status(request, pk):
    job, _access = get_import_or_404(request.user, pk)
    return JsonResponse(progress_get(import_requeue_if_lost(job)))


@login_required
def import_problems_csv(request, pk):
    job, _access = get_import_or_404(request.user, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-problems.csv"'
    writer = csv_writer(response)
    writer.writerow(["row", "column", "value", "severity", "reason"])
    for problem in job.problems.all().iterator(chunk_size=5000):
        writer.writerow(
            [
                problem.row or "",
                safe_text(problem.column),
                safe_text(problem.value),
                problem.severity,
                safe_text(problem.reason),
            ]
        )
    return response


@login_required
def import_file(request, pk):
    job, _access = get_import_or_404(request.user, pk)
    if not may_download_import_file(request.user, job):
        raise PermissionDenied("Only the MSP's staff and the uploader download the original file.")
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.original_name,
        content_type="application/octet-stream",
    )


@login_required
@require_POST
def import_rerun(request, pk):
    """The kept file, mapped again: a new import that starts from the old one's mapping."""
    job, access = get_import_or_404(request.user, pk)
    access.require(Action.IMPORT_TICKETS)
    with job.file.open("rb") as handle:
        again = import_create(
            msp=job.msp,
            client=job.client,
            user=request.user,
            via=ImportJob.Via.WEB,
            name=job.original_name,
            content=handle,
        )
    again.mapping, again.mapping_name = job.mapping, job.mapping_name
    again.save(update_fields=["mapping", "mapping_name"])
    return redirect("import_mapping", pk=again.pk)
