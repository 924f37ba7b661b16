"""The client dashboard and the ticket list every figure on it links to.

Both read stored snapshots and clocks; nothing is recomputed on a page load. Anyone who may see
the client may see both (the same rule as the client's overview).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from contracts.selectors import current_contract
from contracts.services.commitments import contract_today
from disputes.selectors import ticket_disputes
from kpis.dashboard.agreed import as_agreed
from kpis.dashboard.drilldown import figure_ticket_list, snapshot_computed_at
from kpis.dashboard.fee import FeeOnDemand
from kpis.dashboard.periods import Candidate, default_period, period_state, ticket_range
from kpis.dashboard.reported import reported_verdicts
from kpis.dashboard.selectors import TICKET_FIGURES, DashboardData
from kpis.dashboard.timeline import ticket_timeline
from kpis.dashboard.verdicts import StripOnDemand, overdue_count
from kpis.imports.ingest.normalise import safe_text
from kpis.imports.ingest.presets import value_key
from kpis.metrics.period import Period
from kpis.metrics.registry import RULES
from kpis.models import KpiSnapshot, Ticket, TicketEvent
from msp_portal import sql
from msp_portal.csv_export import csv_writer
from msp_portal.tenancy import (
    contract_access,
    get_client_or_404,
    get_client_with_contract_or_404,
)
from reconciliation.services import ReportedOnDemand, reports_stamp

KIND_NAMES = {"month": "Months", "quarter": "Quarters", "year": "Years"}


def _release(*paths: str) -> str:
    """A digest of the files that shape the pages' cached blocks, part of their cache keys: a
    deploy that changes any of them renders the blocks anew instead of serving old markup."""
    digest = hashlib.md5(usedforsecurity=False)
    for path in paths:
        digest.update((settings.BASE_DIR / path).read_bytes())
    return digest.hexdigest()[:12]


PAGE_RELEASE = _release(
    "templates/kpis/dashboard.html",
    "templates/kpis/ticket_list.html",
    "templates/kpis/_figure_cell.html",
    "templates/kpis/_times_table.html",
    "templates/kpis/_fee_card.html",
    "kpis/dashboard/fee.py",
    "kpis/dashboard/palette.py",
    "templates/contracts/_client_nav.html",
    "contracts/templatetags/portal.py",
    "kpis/dashboard/selectors.py",
    "kpis/dashboard/charts.py",
    "kpis/dashboard/views.py",
    "kpis/metrics/registry.py",
    "msp_portal/units.py",
    "kpis/metrics/risk_words.py",
)


class StoredPeriod(NamedTuple):
    """A stored snapshot without its figures: what the period picker, the chosen period and the
    page's stamp read. A tuple, not a model object: a client has dozens of periods, and
    building a model instance for each was a tenth of a cached dashboard's CPU."""

    period_kind: str
    period_label: str
    period_start: date
    computed_at: datetime
    tickets: int  # raised in the period: whether it has data, and enough to judge


_STORED_SQL = """
    SELECT s.period_kind, s.period_label, s.period_start, s.computed_at,
           coalesce((s.values ->> 'tickets.created')::int, 0)
    FROM kpis_kpisnapshot s
    WHERE s.client_id = %s ORDER BY s.period_start DESC, s.period_kind
"""


def _stored(client) -> list[StoredPeriod]:
    """The client's periods, newest first, in one small query. Written as SQL: it runs on every
    view of the dashboard (msp_portal/sql.py says why)."""
    return [StoredPeriod(*row) for row in sql.fetch(_STORED_SQL, [client.pk])]


def _periods(stored: list[StoredPeriod]) -> dict[str, list[str]]:
    """Stored period labels by kind, newest first."""
    out: dict[str, list[str]] = {"quarter": [], "month": [], "year": []}
    for s in stored:
        out[s.period_kind].append(s.period_label)
    return out


def _default_period(stored: list[StoredPeriod], reach, today) -> str | None:
    """The last complete quarter with data (kpis/dashboard/periods.py)."""
    candidates = [Candidate(s.period_label, s.period_kind, s.tickets) for s in stored]
    return default_period(candidates, reach, today)


def _period_notes(stored: list[StoredPeriod], reach, today) -> dict[str, str]:
    """A word beside each period the picker offers that cannot carry a verdict."""
    if today is None:
        return {}
    notes = {}
    for s in stored:
        state = period_state(s.period_label, s.tickets, reach, today)
        if state.partial:
            notes[s.period_label] = "partial"
        elif state.too_few:
            notes[s.period_label] = "too few tickets"
    return notes


@login_required
def dashboard(request, slug):
    client, _access, contract = get_client_with_contract_or_404(request.user, slug)
    stored = _stored(client)
    periods = _periods(stored)
    newest = max((s.computed_at for s in stored), default=None)
    reach = ticket_range(client.pk, contract.timezone, newest) if contract is not None else None
    today = contract_today(contract) if contract is not None else None
    asked = request.GET.get("period", "")
    label = asked or _default_period(stored, reach, today)
    # Only labels and times here: the figures load inside the page's cached block (see
    # DashboardData), so a repeat view costs a handful of small queries.
    snapshot = next((s for s in stored if s.period_label == label), None)
    context = {
        "client": client,
        "contract": contract,
        "periods": periods,
        "kind_names": KIND_NAMES,
        "snapshot": snapshot,
        "asked": asked if snapshot is None else "",
        "ticket_figures": TICKET_FIGURES,
        "release": PAGE_RELEASE,
        "reach": reach,
        "period_notes": _period_notes(stored, reach, today),
    }
    if snapshot is not None and contract is not None:
        context["data"] = DashboardData(client, contract, snapshot, stored)
        context["state"] = period_state(label, snapshot.tickets, reach, today)
        overdue = overdue_count(contract, today)
        context["overdue"] = overdue
        # The strip also reads today's overdue commitments, the period's state and the
        # contract's targets: they vary the cached block too.
        context["strip_key"] = (overdue, today, reach, contract.updated_at)
        context["lazy"] = StripOnDemand(client, contract, label, today, overdue)
        # The MSP's own figures beside ours (reconciliation/), read only when the cached block
        # renders; a change of the client's reports varies it, so a figure entered shows at once.
        # Only the reader's own contract's: a client's earlier MSP never reads its successor's
        # report, nor its fee (msp_portal/tenancy.py, party_contracts).
        # (The roles are read once per request: no query.)
        context["own_contract"] = bool(contract_access(request.user, contract).roles)
        if context["own_contract"]:
            context["reported"] = ReportedOnDemand(contract, label)
            context["reported_stamp"] = reports_stamp(client_id=client.pk)
            # What the fee buys, with the per-ticket price the advisor may type on its card.
            context["fee"] = FeeOnDemand(
                client, contract, label, stored, request.GET.get("ticket_price", "")
            )
    # A page for a price typed on the fee card is one reader's question of the moment: kept a
    # minute, so typed prices cannot fill the cache with a day's copy each.
    context["cache_seconds"] = TYPED_PRICE_SECONDS if request.GET.get("ticket_price") else DAY
    return render(request, "kpis/dashboard.html", context)


DAY = 86400
TYPED_PRICE_SECONDS = 60


SORTS = {
    "created": "created_at",
    "-created": "-created_at",
    "resolved": "resolved_at",
    "-resolved": "-resolved_at",
    "priority": "priority",
    "-priority": "-priority",
    "resolution": "clock__resolution_seconds",
    "-resolution": "-clock__resolution_seconds",
    "response": "clock__response_seconds",
    "-response": "-clock__response_seconds",
}
SORT_CHOICES = [
    ("worst", "furthest over target first"),
    ("-created", "newest first"),
    ("created", "oldest first"),
    ("-resolution", "longest to resolve"),
    ("resolution", "quickest to resolve"),
    ("-response", "slowest response"),
    ("response", "quickest response"),
    ("priority", "priority"),
]
VERDICT_FILTERS = ("met", "breached", "pending", "none")
PARTS = ("denominator", "numerator", "rest")


def _worst_first(key: str):
    """Furthest over target first: the clock the figure is about (response or resolution),
    its business time past the target, largest first; tickets without a measured time (still
    open) after those with one."""
    clock = "response" if key.startswith("response.") else "resolution"
    over = F(f"clock__{clock}_seconds") - F(f"clock__{clock}_target_seconds")
    return over.desc(nulls_last=True)


def _order(sort: str, key: str):
    return _worst_first(key) if sort == "worst" else SORTS.get(sort, "-created_at")


@login_required
def ticket_list(request, slug):
    """The tickets behind one figure of one period: `?period=2026-Q2&figure=...` (the figure's
    denominator; `part=numerator` for the part a rate counts), narrowed by priority or
    verdict, sorted, paginated, or downloaded as CSV (`format=csv`)."""
    client, _access, contract = get_client_with_contract_or_404(request.user, slug)
    key = request.GET.get("figure", "tickets.created")
    part = request.GET.get("part", "denominator")
    if part not in PARTS:
        part = "denominator"
    if key not in TICKET_FIGURES and key not in RULES and key not in ("service_credits",):
        raise Http404("No such figure.")
    label = request.GET.get("period") or ""
    if not label and contract is not None:
        reach = ticket_range(client.pk, contract.timezone)
        label = _default_period(_stored(client), reach, contract_today(contract)) or ""
    if contract is None or not label:
        return render(
            request,
            "kpis/ticket_list.html",
            {"client": client, "contract": contract, "empty": True},
        )
    computed_at = snapshot_computed_at(client, label)
    if computed_at is None:
        # A period with no figures (a link kept from before, a period typed in): said, not 404.
        return render(
            request,
            "kpis/ticket_list.html",
            {"client": client, "contract": contract, "empty": True, "asked": label},
        )
    fingerprint = request.GET.get("fingerprint") if key == "repeat_clusters" else None
    priority = request.GET.get("priority", "")
    if priority not in ("P1", "P2", "P3", "P4"):
        priority = ""
    verdict = request.GET.get("verdict", "")
    # A figure's breaches (`part=rest`) read worst first; any other list newest first.
    sort = request.GET.get("sort") or ("worst" if part == "rest" else "-created")
    count, listed = figure_ticket_list(
        client,
        contract,
        label,
        computed_at,
        key,
        part=part,
        fingerprint=fingerprint,
        priority=priority,
        order=_order(sort, key),
        verdict=("" if verdict == "none" else verdict) if verdict in VERDICT_FILTERS else None,
    )
    if request.GET.get("format") == "csv":
        return _csv(client, listed, label, key)
    page = Paginator(listed, 50).get_page(request.GET.get("page"))
    page.object_list = _tickets_in_order(client, page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "client": client,
        "contract": contract,
        "page": page,
        "count": count,
        "shown": len(listed),
        "filtered": bool(priority or verdict or part != "denominator" or fingerprint),
        "period": Period.parse(label, contract.timezone),
        "key": key,
        "part": part,
        "rule": RULES.get(key),
        "sort": sort,
        "priority": priority,
        "verdict": verdict,
        "query": query.urlencode(),
        "zone": ZoneInfo(contract.timezone),
        "verdicts": VERDICT_FILTERS,
        "fingerprint": fingerprint,
        "sort_choices": SORT_CHOICES,
        # The credits' page also names the missed commitments the contract credits.
        # (The client's current contract's credits: a party of an earlier contract is shown
        # none of them.)
        "credited_commitments": _credited_commitments(client, label)
        if key == "service_credits" and current_contract(client=client) == contract
        else [],
    }
    context["page_stamp"] = _page_stamp(context)
    return render(request, "kpis/ticket_list.html", context)


# What a listed ticket shows (the page and the CSV): its JSON history columns stay unread.
TICKET_FIELDS = (
    "source_system",
    "external_id",
    "title",
    "priority",
    "created_at",
    "resolved_at",
    "paused_minutes",
)
CLOCK_FIELDS = (
    "response_seconds",
    "resolution_seconds",
    "response_verdict",
    "resolution_verdict",
    "no_verdict_reason",
)


# Written as SQL: every ticket list reads its page of tickets (msp_portal/sql.py says why).
_TICKETS_SQL = f"""
    SELECT t.id, {", ".join(f"t.{f}" for f in TICKET_FIELDS)},
           {", ".join(f"c.{f}" for f in CLOCK_FIELDS)}
    FROM kpis_ticket t LEFT JOIN kpis_ticketclock c ON c.ticket_id = t.id
    WHERE t.client_id = %s AND t.id = ANY(%s)
"""  # noqa: S608 - names from _meta; values are parameters


def _tickets_in_order(client, ids: list[int]) -> list[dict]:
    """The client's tickets with these ids, in the order of `ids`, as plain values: each with
    its `clock` (None for a ticket not yet recomputed). Cheaper to read than model objects,
    and what the page's rows are cached by."""
    by_id = {}
    for pk, *values in sql.fetch(_TICKETS_SQL, [client.pk, list(ids)]):
        ticket = dict(zip(TICKET_FIELDS, values, strict=False))
        clock = dict(zip(CLOCK_FIELDS, values[len(TICKET_FIELDS) :], strict=True))
        # A stored clock always has a verdict text ("" for none); NULL means no clock row.
        ticket["pk"], ticket["clock"] = pk, clock if clock["response_verdict"] is not None else None
        by_id[pk] = ticket
    return [by_id[pk] for pk in ids if pk in by_id]


def _credited_commitments(client, label: str) -> list[dict]:
    """The missed occurrences the period's credit counts (as agreed, like the strip's total)."""
    snapshot = KpiSnapshot.objects.filter(client=client, period_label=label).first()
    if snapshot is None:
        return []
    credit = as_agreed(snapshot).values.get("service_credits") or {}
    return [{**m, "due": date.fromisoformat(m["due"])} for m in credit.get("commitments") or []]


def _page_stamp(context: dict) -> str:
    """Names everything the list's content shows: the client and contract in its header and
    links, the figure, filters and page, and the values of the page's tickets. The rendered
    content is cached under it, so a change to any ticket or clock renders it again."""
    client, contract, page = context["client"], context["contract"], context["page"]
    shown = (
        PAGE_RELEASE,
        client.pk,
        client.slug,
        client.name,
        contract.pk,
        contract.timezone,
        [
            context[k]
            for k in (
                "count",
                "shown",
                "key",
                "part",
                "sort",
                "priority",
                "verdict",
                "fingerprint",
                "query",
                "credited_commitments",
            )
        ],
        context["period"].label,
        page.number,
        page.paginator.num_pages,
        page.object_list,
    )
    return hashlib.md5(repr(shown).encode(), usedforsecurity=False).hexdigest()


def _minutes(seconds: int | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def _csv(client, ids: list[int], label: str, key: str) -> HttpResponse:
    """The listed tickets as CSV; text that a spreadsheet would run as a formula is made inert."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{client.slug}-{label}-{key.replace(".", "-")}.csv"'
    )
    writer = csv_writer(response)
    writer.writerow(
        [
            "source",
            "ticket",
            "title",
            "priority",
            "created (UTC)",
            "resolved (UTC)",
            "response minutes",
            "resolution minutes",
            "response verdict",
            "resolution verdict",
            "paused minutes",
            "no verdict because",
        ]
    )
    for start in range(0, len(ids), 2000):
        for t in _tickets_in_order(client, ids[start : start + 2000]):
            clock = t["clock"] or dict.fromkeys(CLOCK_FIELDS)
            writer.writerow(
                [
                    safe_text(t["source_system"]),
                    safe_text(t["external_id"]),
                    safe_text(t["title"]),
                    t["priority"],
                    t["created_at"].isoformat(),
                    t["resolved_at"].isoformat() if t["resolved_at"] else "",
                    _minutes(clock["response_seconds"]),
                    _minutes(clock["resolution_seconds"]),
                    clock["response_verdict"] or "",
                    clock["resolution_verdict"] or "",
                    t["paused_minutes"] if t["paused_minutes"] is not None else "",
                    safe_text(clock["no_verdict_reason"] or ""),
                ]
            )
    return response


@login_required
def ticket_detail(request, slug, pk):
    """One ticket: what the export said, its clocks against their targets, and its timeline."""
    client, access = get_client_or_404(request.user, slug)
    ticket = get_object_or_404(
        Ticket.objects.select_related("clock", "clock__policy_version", "import_job"),
        pk=pk,
        client=client,
    )
    contract = current_contract(client=client)
    zone = ZoneInfo(contract.timezone if contract else "UTC")
    clock = getattr(ticket, "clock", None)
    version = clock.policy_version if clock else None
    history = TicketEvent.objects.filter(client=client, ticket=ticket).order_by("position")
    return render(
        request,
        "kpis/ticket_detail.html",
        {
            "client": client,
            "contract": contract,
            "ticket": ticket,
            "clock": clock,
            "reported": reported_verdicts(ticket, clock),
            "timeline": ticket_timeline(
                ticket,
                history=list(history),
                pause_states=[value_key(s) for s in (version.pause_states if version else [])],
            ),
            "zone": zone,
            **ticket_disputes(request.user, access, ticket, zone),
        },
    )
