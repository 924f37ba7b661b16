"""Import pages: upload, map, watch progress, read the history, download problems and files."""

from __future__ import annotations

from zoneinfo import available_timezones

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from contracts.models import Organisation
from kpis.imports.company_routing import routes_remember, routing_clients
from kpis.imports.done_page import done_facts
from kpis.imports.forms import SKIP, MappingForm
from kpis.imports.ingest.mapping import MappingError, mapping_from_json
from kpis.imports.ingest.normalise import safe_text
from kpis.imports.ingest.presets import (
    DATE_ORDERS,
    EVENT_FIELDS,
    PRESETS,
    TICKET_FIELDS,
)
from kpis.imports.ingest.read import UnusableFile
from kpis.imports.jobs import import_requeue_if_lost, progress_get
from kpis.imports.mapping_errors import GENERAL, mapping_error_fields
from kpis.imports.mapping_page import check_build
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
from msp_portal.downloads import stored_file_download
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
    # A choice made before a refused upload stays chosen; on a first visit, the one a link
    # named (the setup guide's first import), if it is one of the user's.
    chosen = request.POST.get("target", "") if request.method == "POST" else ""
    if request.method != "POST" and request.GET.get("target", "") in dict(targets):
        chosen = request.GET["target"]
    return render(request, "kpis/import_upload.html", {"targets": targets, "chosen": chosen})


@login_required
def import_mapping(request, pk):
    job, access = get_import_or_404(request.user, pk)
    access.require(Action.IMPORT_TICKETS)
    if job.status != ImportJob.Status.MAPPING:
        return redirect("import_detail", pk=job.pk)
    # Only the clients this person may import for with the job's MSP: an advisor never sees
    # the names of the MSP's other clients (kpis/imports/company_routing.py).
    clients = routing_clients(job.msp, request.user)
    errors: dict[str, str] = {}  # form field name (GENERAL: the whole mapping) → sentence
    mapping_json, form = None, None
    try:
        table = preview_table(job)  # read once, for the form and the preview
        if request.method == "POST":
            form = MappingForm(
                request.POST,
                preview=import_preview(job, table=table),
                client_slugs=[c.slug for c in clients],
            )
            if form.is_valid():
                mapping_json = form.mapping_json()
            else:
                errors = form.errors_by_field()
        try:
            preview = import_preview(job, mapping_json=mapping_json, table=table)
        except MappingError as error:
            errors |= mapping_error_fields(str(error))
            # The page shows what was chosen beside the problem, not a fresh guess that would
            # contradict it (a "not mapped" error beside a column shown as chosen).
            preview = import_preview(job, mapping_json=mapping_json, table=table, check=False)
        if not errors:
            # A guessed mapping is not checked when it is made: a file without a ticket number
            # column is named on that field on the first view, not at the import.
            try:
                mapping_from_json(preview.mapping.to_json(), preview.table.columns)
            except MappingError as error:
                errors |= mapping_error_fields(str(error))
        check = check_build(job, preview, clients, parse=not errors)
    except UnusableFile as error:
        import_reject(job, error)
        return redirect("import_detail", pk=job.pk)
    if why := check.summary.date_order_needed:
        errors.setdefault("date_order", why[:1].upper() + why[1:])
    if request.method == "POST" and request.POST.get("action") == "confirm" and not errors:
        errors = _confirm_blockers(job, preview, check)
        if not errors:
            mapping = mapping_from_json(mapping_json, preview.table.columns)
            mapping.clients = {
                line.company: None if line.choice == SKIP else line.choice
                for line in check.companies
            }
            if mapping.clients and writes_for_msp(request.user, job.msp_id):
                routes_remember(job.msp, mapping.clients, clients, request.user)
            save_as = form.cleaned_data["save_as"]
            import_confirm(job, mapping=mapping, user=request.user, save_as=save_as)
            return redirect("import_detail", pk=job.pk)
    return render(
        request,
        "kpis/import_mapping.html",
        {
            "job": job,
            "preview": preview,
            "check": check,
            "errors": errors,
            "general_error": errors.get(GENERAL, ""),
            "field_errors": [
                (name, _field_label(name, form), text) for name, text in errors.items() if name
            ],
            "header": preview.table.columns,
            "rows": preview.table.frame.head(8).drop("__row").rows(),
            "presets": [(p.name, p.label) for p in PRESETS.values()],
            "fields": [
                (name, label, preview.mapping.columns.get(name, ""), errors.get(f"col__{name}"))
                for name, label in (
                    {**TICKET_FIELDS, **EVENT_FIELDS}
                    if preview.mapping.shape == "event"
                    else TICKET_FIELDS
                ).items()
            ],
            "status_values": [raw for raw, _, _ in preview.value_counts.get("status", [])],
            "pause_states": set(preview.mapping.pause_states),
            "skip": SKIP,
            "clients": clients,
            "zones": sorted(available_timezones()),
            "date_orders": DATE_ORDERS,
            "save_as": job.mapping_name or PRESETS[preview.mapping.preset].label,
            "saves_for_msp": writes_for_msp(request.user, job.msp_id),
        },
    )


def _confirm_blockers(job: ImportJob, preview, check) -> dict[str, str]:
    """What must be settled before the import is queued, on the field it concerns."""
    if job.client is None and "company" not in preview.mapping.columns:
        return {
            "col__company": "This import is for several clients: choose the column that names "
            "each ticket's company."
        }
    unchosen = check.companies_unchosen
    if unchosen:
        named = ", ".join(f"“{line.company}”" for line in unchosen[:5])
        more = f" and {len(unchosen) - 5} more" if len(unchosen) > 5 else ""
        return {
            "companies": f"Choose a client, or “Skip these tickets”, for {named}{more}: their "
            f"{check.companies_unchosen_rows:,} rows would not be imported."
        }
    return {}


def _field_label(name: str, form: MappingForm | None) -> str:
    """The label a person sees for a form field named in an error."""
    if name.startswith("col__"):
        return {**TICKET_FIELDS, **EVENT_FIELDS}.get(name[5:], name[5:])
    if name.startswith(("val__", "company__")) and form is not None and name in form.fields:
        return f"“{form.fields[name].label}”"  # the value as the file writes it
    return {
        "timezone": "Time zone of times without an offset",
        "date_order": "Date order",
        "preset": "Preset",
        "companies": "Companies",
        "save_as": "Save this mapping as",
    }.get(name, "A value")


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
            "done": done_facts(job, request.user) if job.status == ImportJob.Status.DONE else {},
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
    return stored_file_download(job.file, job.original_name)


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
