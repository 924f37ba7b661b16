"""The reconciliation of one client and period: the tickets whose verdict the MSP reports
differently, each with its likely cause (causes.py), and the MSP's reported figures beside the
measured ones. Reads the stored tickets, clocks, histories and policy versions; the tickets a
verdict figure counts come from the drill-down (kpis/dashboard/drilldown.py), so the period a
verdict belongs to is decided exactly as for the snapshot."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from django.core.cache import cache
from django.utils import timezone

from contracts.models import Contract, Organisation, SlaPolicyVersion
from contracts.selectors import current_contract
from kpis.dashboard.drilldown import figure_ticket_ids
from kpis.imports.ingest.presets import value_key
from kpis.metrics.period import Period
from kpis.metrics.policy_clocks import calendar_index
from kpis.models import KpiSnapshot, Ticket, TicketEvent

from .causes import (
    RESOLUTION,
    RESPONSE,
    Cause,
    CauseCount,
    Claim,
    Target,
    Terms,
    TicketFacts,
    Update,
    causes_counted,
    claim_differs,
    difference_cause,
)
from .figures import FigureComparison, figures_compared
from .models import MspReport

# The figure whose tickets carry the verdicts of each clock for a period.
VERDICT_FIGURE = {RESPONSE: "response.compliance", RESOLUTION: "resolution.compliance"}


@dataclass(frozen=True)
class Difference:
    """One clock of one ticket on which the MSP and the portal disagree, and why."""

    ticket_id: int
    external_id: str
    title: str
    clock: str  # response | resolution
    measured: str  # met | breached
    reported: str  # met | breached | excluded | missing
    raw: str  # the export's own value, as it spelled it
    cause: Cause

    def to_json(self) -> dict:
        return {
            "ticket": self.external_id,
            "ticket_id": self.ticket_id,
            "clock": self.clock,
            "measured": self.measured,
            "reported": self.reported,
            "reported_raw": self.raw,
            "cause": self.cause.value,
        }


@dataclass
class Reconciliation:
    """A client's period reconciled: differences, their causes counted, and the figures."""

    client: Organisation
    period: Period
    differences: list[Difference] = field(default_factory=list)
    figures: list[FigureComparison] = field(default_factory=list)
    report: MspReport | None = None
    compared: int = 0  # judged verdicts the MSP's export says something about

    @property
    def counted(self) -> list[CauseCount]:
        return causes_counted([d.cause for d in self.differences])

    def counted_on(self, clock: str) -> list[CauseCount]:
        return causes_counted([d.cause for d in self.differences if d.clock == clock])

    def differences_on(self, clock: str) -> list[Difference]:
        return [d for d in self.differences if d.clock == clock]


def reconciliation_compute(
    *, client: Organisation, period_label: str, contract: Contract | None = None
) -> Reconciliation:
    """The client's period reconciled with the report of `contract`'s MSP (a page passes the
    reader's own contract: one MSP's report is not another's to read; the command, the client's
    current contract). ValueError for a malformed period label."""
    contract = contract or current_contract(client=client)
    zone = contract.timezone if contract else "UTC"
    period = Period.parse(period_label, zone)
    result = Reconciliation(client=client, period=period)
    if contract is None:
        return result
    result.report = msp_report_of(contract=contract, period_label=period.label)
    snapshot = KpiSnapshot.objects.filter(client=client, period_label=period.label).first()
    if result.report is not None:
        reported = {f.key: f.value for f in result.report.figures.all()}
        result.figures = figures_compared(reported, snapshot.values if snapshot else {})
    if snapshot is None:
        return result  # no tickets in the period, or not computed yet: nothing judged
    with_column = _imports_with_column(client)
    if not any(with_column.values()):
        # No export of the client's states a verdict of its own (an excluded ticket gets no
        # verdict here either): nothing to compare, and no ticket need be read.
        return result
    judged = {
        clock: figure_ticket_ids(client, period.label, key) for clock, key in VERDICT_FIGURE.items()
    }
    result.differences, result.compared = _differences(client, judged, with_column)
    return result


def _differences(
    client: Organisation, judged: dict[str, list[int]], with_column: dict[str, set]
) -> tuple[list, int]:
    """The differing clocks of the judged tickets, with causes; and how many judged verdicts
    the MSP's export speaks to."""
    ids = sorted(set(judged[RESPONSE]) | set(judged[RESOLUTION]))
    tickets = {
        t.pk: t for t in Ticket.objects.filter(client=client, pk__in=ids).select_related("clock")
    }
    found: list[tuple[Ticket, Claim]] = []
    compared = 0
    for clock in (RESPONSE, RESOLUTION):
        for pk in judged[clock]:
            ticket = tickets.get(pk)
            if ticket is None:  # removed since the figures were cached (an import undone)
                continue
            claim = _claim(ticket, clock, with_column[clock])
            if claim.reported is not None or claim.raw:
                compared += 1
            if claim_differs(claim, excluded_by_export=ticket.exclude_from_sla):
                found.append((ticket, claim))
    if not found:
        return [], compared
    histories = _histories(client, {t.pk for t, _ in found})
    terms = _terms({t.clock.policy_version_id for t, _ in found}, [t for t, _ in found])
    differences = []
    for ticket, claim in found:
        facts = _facts(ticket, histories.get(ticket.pk, ()))
        version = terms.get(ticket.clock.policy_version_id, Terms({}, frozenset()))
        differences.append(
            Difference(
                ticket_id=ticket.pk,
                external_id=ticket.external_id,
                title=ticket.title,
                clock=claim.clock,
                measured=claim.measured,
                reported=claim.reported_word,
                raw=getattr(ticket, f"reported_{claim.clock}_raw"),
                cause=difference_cause(facts, version, claim) or Cause.UNEXPLAINED,
            )
        )
    order = list(Cause)  # the causes in the order they are tried, not alphabetically
    differences.sort(key=lambda d: (d.clock != RESOLUTION, order.index(d.cause), d.external_id))
    return differences, compared


def _claim(ticket: Ticket, clock: str, imports_with_column: set) -> Claim:
    return Claim(
        clock=clock,
        measured=getattr(ticket.clock, f"{clock}_verdict"),
        reported=getattr(ticket, f"reported_{clock}_met"),
        raw=getattr(ticket, f"reported_{clock}_raw"),
        column_in_export=ticket.import_job_id in imports_with_column,
    )


def _imports_with_column(client: Organisation) -> dict[str, set]:
    """Per clock, the imports (None: tickets written otherwise) of which some ticket carries a
    reported verdict: a ticket of such an import without one is missing from the MSP's figures;
    an export without the column says nothing."""
    out = {}
    for clock in (RESPONSE, RESOLUTION):
        rows = (
            Ticket.objects.filter(client=client)
            .exclude(**{f"reported_{clock}_met": None, f"reported_{clock}_raw": ""})
            .values_list("import_job_id", flat=True)
            .distinct()
        )
        out[clock] = set(rows)
    return out


def _epoch(value: datetime | None) -> int:
    return int(value.timestamp()) if value is not None else -1


def _iso_epoch(text: str | None) -> int:
    if not text:
        return -1
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _pairs(stored: list) -> tuple[tuple[int, int], ...]:
    return tuple((_iso_epoch(start), _iso_epoch(end)) for start, end in stored)


def _facts(ticket: Ticket, history: tuple[Update, ...]) -> TicketFacts:
    """What the portal timed the ticket from, as the last recompute left it."""
    return TicketFacts(
        ticket_id=ticket.pk,
        priority=ticket.priority,
        created=_epoch(ticket.created_at),
        as_of=_epoch(ticket.clock.computed_at),
        first_response=_epoch(ticket.first_response_at),
        resolved=_epoch(ticket.resolved_at),
        closed=_epoch(ticket.closed_at),
        pauses=_pairs(ticket.paused_intervals),
        reopen_gaps=_pairs(ticket.reopen_gaps),
        paused_seconds_exported=int((ticket.paused_minutes or 0) * 60),
        paused_exported_calendar=ticket.paused_time != "business",
        history=history,
        excluded_by_export=ticket.exclude_from_sla,
    )


def _histories(client: Organisation, ticket_ids: set[int]) -> dict[int, tuple[Update, ...]]:
    out: dict[int, list[Update]] = defaultdict(list)
    for ticket_id, at, status, state, assignee in (
        TicketEvent.objects.filter(client=client, ticket_id__in=ticket_ids)
        .order_by("ticket_id", "position")
        .values_list("ticket_id", "at", "status_raw", "state", "assignee")
    ):
        out[ticket_id].append(Update(_epoch(at), value_key(status), state, assignee))
    return {pk: tuple(updates) for pk, updates in out.items()}


def _terms(version_ids: set, tickets: list[Ticket]) -> dict[int, Terms]:
    """Each policy version's targets and pause states, its calendars over a span that holds
    every instant of these tickets (whole years, as the recompute's)."""
    instants = [
        stamp
        for t in tickets
        for stamp in (t.created_at, t.resolved_at, t.closed_at, t.clock.computed_at)
        if stamp is not None
    ]
    first_day = date((min(instants) - timedelta(days=2)).year, 1, 1)
    last_day = date(max(max(instants), datetime.now(UTC)).year + 1, 12, 31)
    out = {}
    for version in SlaPolicyVersion.objects.filter(pk__in=version_ids).prefetch_related(
        "targets__calendar"
    ):
        out[version.pk] = Terms(
            targets={
                t.priority: Target(
                    t.response_minutes * 60,
                    t.resolution_minutes * 60,
                    calendar_index(t.calendar, first_day, last_day),
                )
                for t in version.targets.all()
            },
            pause_states=frozenset(value_key(s) for s in version.pause_states),
        )
    return out


def msp_report_of(*, contract: Contract, period_label: str) -> MspReport | None:
    """The MSP's report for the contract's period, with its figures, or None."""
    return (
        MspReport.objects.filter(contract=contract, period_label=period_label)
        .prefetch_related("figures")
        .first()
    )


def reported_lines(*, contract: Contract, period_label: str) -> dict[str, FigureComparison]:
    """Each figure the MSP's report states for the period, beside the measured value, by KPI
    key: what the dashboard shows beside its figures ({} without a report)."""
    report = msp_report_of(contract=contract, period_label=period_label)
    if report is None:
        return {}
    reported = {f.key: f.value for f in report.figures.all()}
    values = (
        KpiSnapshot.objects.filter(client_id=contract.client_id, period_label=period_label)
        .values_list("values", flat=True)
        .first()
    )
    return {f.key: f for f in figures_compared(reported, values or {})}


def _stamp_key(client_id: int) -> str:
    return f"msp-reports-changed:{client_id}"


def reports_stamp(*, client_id: int) -> str | None:
    """When the client's MSP reports last changed (None: not since the cache was emptied): what
    the dashboard's cached block varies on, read from the cache so the page costs no query."""
    return cache.get(_stamp_key(client_id))


def reports_changed(*, client_id: int) -> None:
    """Mark the client's MSP reports changed: pages that show them render afresh."""
    cache.set(_stamp_key(client_id), timezone.now().isoformat(), None)


class ReportedOnDemand:
    """The dashboard's reported lines, read only when its cached block renders afresh."""

    def __init__(self, contract: Contract, period_label: str):
        self.contract, self.period_label = contract, period_label

    @cached_property
    def lines(self) -> dict[str, FigureComparison]:
        return reported_lines(contract=self.contract, period_label=self.period_label)
