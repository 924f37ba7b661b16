"""The reconciliation pages: the MSP's reported figures entered with its report, and the
reconciliation of a client's period (reported vs measured, the differing tickets and why).

Every party to the client's current contract reads both; MSP staff and the advisor (write
roles) enter the figures (msp_portal.tenancy, Action.ENTER_REPORTED). The report file is served
only to parties of its contract."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from kpis.dashboard.periods import default_periods
from kpis.metrics.period import Period
from kpis.metrics.registry import KPI
from kpis.models import KpiSnapshot
from msp_portal.tenancy import (
    Action,
    contract_access,
    current_party_contract,
    get_client_or_404,
    visible_contracts,
)

from .causes import CAUSE_WORDS, RESOLUTION, RESPONSE
from .figures import EXAMPLES, REPORTED_KEYS, reported_value_parse, value_typed
from .models import MspReport
from .reports import msp_report_attach, msp_report_save, report_file_response
from .services import msp_report_of, reconciliation_compute

CLOCK_WORDS = {RESPONSE: "Response", RESOLUTION: "Resolution"}
VERDICT_WORDS = {
    "met": "within target",
    "breached": "missed target",
    "excluded": "excluded",
    "missing": "not in the MSP's figures",
}


def _client_and_party_contract(user, slug: str):
    """The client and the reader's own newest contract with it: a client may have several
    MSPs, and one MSP's reports are not another's to read (msp_portal/tenancy.py,
    party_contracts)."""
    client, _access = get_client_or_404(user, slug)
    return client, current_party_contract(user, client)


def _period_asked(request, client, contract) -> str:
    """The period the page is about: the one asked for, else the one every page opens on (the
    newest complete quarter with enough tickets, kpis/dashboard/periods.py)."""
    asked = request.GET.get("period", "").strip()
    if asked or contract is None:
        return asked
    return default_periods({client.pk: contract})[client.pk] or ""


def _stored_periods(client) -> list[str]:
    return list(
        KpiSnapshot.objects.filter(client=client)
        .order_by("-period_start", "period_kind")
        .values_list("period_label", flat=True)
    )


@login_required
def reconciliation_page(request, slug):
    client, contract = _client_and_party_contract(request.user, slug)
    label = _period_asked(request, client, contract)
    context = {
        "client": client,
        "contract": contract,
        "periods": _stored_periods(client),
        "label": label,
        "can_enter": contract is not None
        and contract_access(request.user, contract).can(Action.ENTER_REPORTED),
    }
    if label:
        try:
            result = reconciliation_compute(client=client, period_label=label, contract=contract)
        except ValueError as error:
            context["period_error"] = str(error)
        else:
            context |= _result_context(result)
    return render(request, "reconciliation/reconciliation.html", context)


def _result_context(result) -> dict:
    rows = [
        {
            "difference": d,
            "clock": CLOCK_WORDS[d.clock],
            "measured": VERDICT_WORDS[d.measured],
            "reported": VERDICT_WORDS[d.reported],
            "cause": CAUSE_WORDS[d.cause],
        }
        for d in result.differences
    ]
    return {
        "result": result,
        "rows": rows,
        "clocks": [
            (CLOCK_WORDS[clock], result.counted_on(clock), len(result.differences_on(clock)))
            for clock in (RESOLUTION, RESPONSE)
        ],
    }


@login_required
def reported_figures(request, slug):
    """The MSP's reported figures of a period: shown to every party, entered by MSP staff and
    the advisor, with the report attached."""
    client, contract = _client_and_party_contract(request.user, slug)
    if contract is None:
        raise Http404("This client has no contract.")
    access = contract_access(request.user, contract)
    can_enter = access.can(Action.ENTER_REPORTED)
    label = request.POST.get("period") or _period_asked(request, client, contract)
    errors: list[str] = []
    typed: dict[str, str] = {}
    if request.method == "POST":
        access.require(Action.ENTER_REPORTED)
        typed = {key: request.POST.get(key, "").strip() for key in REPORTED_KEYS}
        saved = _enter(request, contract, label, typed, errors)
        if saved is not None:
            messages.success(request, f"The MSP's figures for {saved.period_label} are stored.")
            url = reverse("client_reconciliation", args=[client.slug])
            return redirect(f"{url}?period={saved.period_label}")
    report = msp_report_of(contract=contract, period_label=label) if label else None
    stored = {f.key: f.value for f in report.figures.all()} if report else {}
    fields = [
        {
            "key": key,
            "label": KPI[key].label,
            "example": EXAMPLES[KPI[key].unit],
            "value": typed[key] if typed else value_typed(key, stored.get(key)),
        }
        for key in REPORTED_KEYS
    ]
    return render(
        request,
        "reconciliation/reported_figures.html",
        {
            "client": client,
            "contract": contract,
            "label": label,
            "report": report,
            "fields": fields,
            "note": request.POST.get("note", report.note if report else ""),
            "errors": errors,
            "can_enter": can_enter,
            "reports": MspReport.objects.filter(contract=contract)
            .prefetch_related("figures")
            .order_by("-period_label"),
        },
    )


def _enter(request, contract, label: str, typed: dict[str, str], errors: list[str]):
    """Parse the typed figures and store them with the file; every problem is collected into
    `errors` (in words, naming the figure) and nothing is stored unless all are right."""
    try:
        Period.parse(label, contract.timezone)
    except ValueError as error:
        errors.append(f"Period: {error}")
    figures: dict[str, float | None] = {}
    for key, text in typed.items():
        if not text:
            figures[key] = None  # an emptied field removes the figure
            continue
        try:
            figures[key] = reported_value_parse(key, text)
        except ValueError as error:
            errors.append(str(error))
    if errors:
        return None
    try:
        with transaction.atomic():
            report = msp_report_save(
                contract=contract,
                period_label=label,
                figures=figures,
                note=request.POST.get("note", ""),
                actor=request.user,
                source="web",
            )
            upload = request.FILES.get("file")
            if upload is not None:
                msp_report_attach(report=report, upload=upload, actor=request.user, source="web")
    except ValidationError as error:
        errors.extend(error.messages)
        return None
    return report


@login_required
def reported_file(request, slug, pk):
    """The MSP's report file, to parties of its contract only, as an attachment."""
    client, _access = get_client_or_404(request.user, slug)
    report = get_object_or_404(
        MspReport, pk=pk, client=client, contract__in=visible_contracts(request.user)
    )
    return report_file_response(report)
