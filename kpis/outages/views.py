"""The outages page: windows in which a monitored service was down, and uptime against target.

Times are entered and shown in the contract's time zone (stored in UTC). Anyone party to the
contract reads the page; write roles of every side may record or remove a window.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from kpis.models import KpiSnapshot, Outage
from kpis.outages.services import outage_add, outage_delete
from msp_portal.tenancy import Action, get_client_contract_or_404


def _local(text: str, zone: str, field: str) -> datetime | None:
    if not text:
        return None
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError({field: f"'{text}' is not a date and time"}) from None
    return naive.replace(tzinfo=ZoneInfo(zone))


@login_required
def outages(request, slug, pk):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    can_record = access.can(Action.RECORD_OUTAGE)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        access.require(Action.RECORD_OUTAGE)
        try:
            started = _local(request.POST.get("started_at", ""), contract.timezone, "started_at")
            if started is None:
                raise ValidationError({"started_at": "say when the outage started"})
            outage = outage_add(
                contract=contract,
                actor=request.user,
                service=request.POST.get("service", ""),
                started_at=started,
                ended_at=_local(request.POST.get("ended_at", ""), contract.timezone, "ended_at"),
                planned=request.POST.get("planned") == "on",
                note=request.POST.get("note", ""),
            )
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(
                request,
                f"Recorded: {outage.service} down from "
                f"{outage.started_at:%Y-%m-%d %H:%M} UTC. Uptime is being "
                "recomputed.",
            )
            return redirect("contract_outages", client.slug, contract.pk)
    version = contract.sla_versions.order_by("-effective_from").first()
    services = sorted({u.service for u in version.uptime_targets.all()}) if version else []
    page = Paginator(Outage.objects.filter(client=client).order_by("-started_at"), 25).get_page(
        request.GET.get("page")
    )
    latest = (
        KpiSnapshot.objects.filter(client=client, period_kind="month")
        .order_by("-period_start")
        .only("period_label", "values")
        .first()
    )
    uptime = sorted((latest.values.get("uptime") or {}).items()) if latest else []
    return render(
        request,
        "kpis/outages.html",
        {
            "client": client,
            "contract": contract,
            "page": page,
            "services": services,
            "can_record": can_record,
            "errors": errors,
            "form": request.POST if errors else {},
            "zone": ZoneInfo(contract.timezone),
            "latest": latest,
            "uptime": uptime,
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def outage_remove(request, slug, pk, outage):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    window = get_object_or_404(Outage, pk=outage, client=client)
    access.require(Action.RECORD_OUTAGE)
    outage_delete(contract=contract, actor=request.user, outage=window)
    messages.success(request, f"Removed the {window.service} outage. Uptime is being recomputed.")
    return redirect("contract_outages", client.slug, contract.pk)
