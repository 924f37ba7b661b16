"""The client dashboard and the ticket list every figure on it links to.

Both read stored snapshots and clocks; nothing is recomputed on a page load. Anyone who may see
the client may see both (the same rule as the client's overview).
"""

from __future__ import annotations

import csv
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from contracts.selectors import current_contract
from kpis.dashboard import TICKET_FIGURES, DashboardData
from kpis.formulas import RULES, Period
from kpis.ingest.normalise import safe_text
from kpis.models import KpiSnapshot, Ticket
from kpis.services.drilldown import figure_ticket_ids
from kpis.timeline import ticket_timeline
from msp_portal.tenancy import get_client_or_404

KIND_NAMES = {"month": "Months", "quarter": "Quarters", "year": "Years"}


def _periods(client) -> dict[str, list[str]]:
    """Stored period labels by kind, newest first."""
    out: dict[str, list[str]] = {"quarter": [], "month": [], "year": []}
    for kind, label in (
        KpiSnapshot.objects.filter(client=client)
        .order_by("-period_start", "period_kind")
        .values_list("period_kind", "period_label")
    ):
        out[kind].append(label)
    return out


def _default_period(client, periods: dict[str, list[str]]) -> str | None:
    """The newest quarter in which tickets were raised (a quarter holding only the last few
    resolutions of older tickets says little), else the newest period of any kind."""
    busy = (
        KpiSnapshot.objects.filter(
            client=client, period_kind="quarter", **{"values__tickets.created__gt": 0}
        )
        .order_by("-period_start")
        .values_list("period_label", flat=True)
        .first()
    )
    return busy or next(iter(periods["quarter"] or periods["month"]), None)


@login_required
def dashboard(request, slug):
    client, _access = get_client_or_404(request.user, slug)
    contract = current_contract(client=client)
    periods = _periods(client)
    label = request.GET.get("period") or _default_period(client, periods)
    # Only the label and time here: the figures load inside the page's cached block (see
    # DashboardData), so a repeat view costs a handful of small queries.
    snapshot = (
        KpiSnapshot.objects.filter(client=client, period_label=label)
        .only("period_label", "period_kind", "period_start", "computed_at")
        .first()
        if label
        else None
    )
    if label and snapshot is None and request.GET.get("period"):
        raise Http404("No figures for that period.")
    context = {"client": client, "contract": contract, "periods": periods,
               "kind_names": KIND_NAMES, "snapshot": snapshot,
               "ticket_figures": TICKET_FIGURES}  # fmt: skip
    if snapshot is not None:
        context["data"] = DashboardData(client, contract, snapshot)
    return render(request, "kpis/dashboard.html", context)


SORTS = {
    "created": "created_at", "-created": "-created_at", "resolved": "resolved_at",
    "-resolved": "-resolved_at", "priority": "priority", "-priority": "-priority",
    "resolution": "clock__resolution_seconds", "-resolution": "-clock__resolution_seconds",
    "response": "clock__response_seconds", "-response": "-clock__response_seconds",
}  # fmt: skip
SORT_CHOICES = [
    ("-created", "newest first"), ("created", "oldest first"),
    ("-resolution", "longest to resolve"), ("resolution", "quickest to resolve"),
    ("-response", "slowest response"), ("response", "quickest response"),
    ("priority", "priority"),
]  # fmt: skip
VERDICT_FILTERS = ("met", "breached", "pending", "none")


@login_required
def ticket_list(request, slug):
    """The tickets behind one figure of one period: `?period=2026-Q2&figure=...` (the figure's
    denominator; `part=numerator` for the part a rate counts), narrowed by priority or
    verdict, sorted, paginated, or downloaded as CSV (`format=csv`)."""
    client, _access = get_client_or_404(request.user, slug)
    contract = current_contract(client=client)
    key = request.GET.get("figure", "tickets.created")
    part = "numerator" if request.GET.get("part") == "numerator" else "denominator"
    if key not in TICKET_FIGURES and key not in RULES and key not in ("service_credits",):
        raise Http404("No such figure.")
    periods = _periods(client)
    label = request.GET.get("period") or _default_period(client, periods) or ""
    if contract is None or not label:
        return render(request, "kpis/ticket_list.html", {"client": client, "contract": contract,
                                                         "empty": True})  # fmt: skip
    if not KpiSnapshot.objects.filter(client=client, period_label=label).exists():
        raise Http404("No figures for that period.")
    fingerprint = request.GET.get("fingerprint") if key == "repeat_clusters" else None
    ids = figure_ticket_ids(client, label, key, part=part, fingerprint=fingerprint)
    tickets = Ticket.objects.filter(client=client, pk__in=ids).select_related("clock")
    priority = request.GET.get("priority", "")
    if priority in ("P1", "P2", "P3", "P4"):
        tickets = tickets.filter(priority=priority)
    verdict = request.GET.get("verdict", "")
    if verdict in VERDICT_FILTERS:
        tickets = tickets.filter(clock__resolution_verdict="" if verdict == "none" else verdict)
    sort = request.GET.get("sort", "-created")
    tickets = tickets.order_by(SORTS.get(sort, "-created_at"), "pk")
    if request.GET.get("format") == "csv":
        return _csv(tickets, client, label, key)
    page = Paginator(tickets, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "kpis/ticket_list.html", {
        "client": client, "contract": contract, "page": page, "count": len(ids),
        "period": Period.parse(label, contract.timezone), "key": key, "part": part,
        "rule": RULES.get(key), "sort": sort, "priority": priority, "verdict": verdict,
        "query": query.urlencode(), "zone": ZoneInfo(contract.timezone),
        "verdicts": VERDICT_FILTERS, "fingerprint": fingerprint, "sort_choices": SORT_CHOICES,
    })  # fmt: skip


def _minutes(seconds: int | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def _csv(tickets, client, label: str, key: str) -> HttpResponse:
    """The listed tickets as CSV; text that a spreadsheet would run as a formula is made inert."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{client.slug}-{label}-{key.replace(".", "-")}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["source", "ticket", "title", "priority", "created (UTC)", "resolved (UTC)",
                     "response minutes", "resolution minutes", "response verdict",
                     "resolution verdict", "paused minutes", "no verdict because"])  # fmt: skip
    for t in tickets.iterator(chunk_size=2000):
        clock = getattr(t, "clock", None)
        writer.writerow([
            safe_text(t.source_system), safe_text(t.external_id), safe_text(t.title), t.priority,
            t.created_at.isoformat(), t.resolved_at.isoformat() if t.resolved_at else "",
            _minutes(clock and clock.response_seconds),
            _minutes(clock and clock.resolution_seconds),
            clock.response_verdict if clock else "", clock.resolution_verdict if clock else "",
            t.paused_minutes if t.paused_minutes is not None else "",
            safe_text(clock.no_verdict_reason) if clock else "",
        ])  # fmt: skip
    return response


@login_required
def ticket_detail(request, slug, pk):
    """One ticket: what the export said, its clocks against their targets, and its timeline."""
    client, _access = get_client_or_404(request.user, slug)
    ticket = get_object_or_404(
        Ticket.objects.select_related("clock", "clock__policy_version", "import_job"),
        pk=pk, client=client,
    )  # fmt: skip
    contract = current_contract(client=client)
    return render(request, "kpis/ticket_detail.html", {
        "client": client, "contract": contract, "ticket": ticket,
        "clock": getattr(ticket, "clock", None), "timeline": ticket_timeline(ticket),
        "zone": ZoneInfo(contract.timezone if contract else "UTC"),
    })  # fmt: skip
