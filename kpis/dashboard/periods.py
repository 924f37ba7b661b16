"""Honest periods: how far a client's imported tickets reach, whether a period is complete
enough to judge, and which period a page opens on.

A period is judged (its figures coloured met or missed) only when it is over, the client's
tickets cover it from its first month to its last day, and it holds at least MIN_TICKETS
tickets. Anything else is labelled partial or too small, never painted as a verdict: a quarter
with one ticket read "0% missed" and a half-covered year read like a whole one.

`period_state` and `default_period` are pure; `ticket_ranges` reads the database (cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.core.cache import cache

from kpis.metrics.period import Period
from msp_portal import sql

# Under this many tickets raised, a rate moves by 5 points or more per ticket: too few to judge.
MIN_TICKETS = 20


@dataclass(frozen=True)
class TicketRange:
    """The span of a client's imported ticket activity, as dates in the contract's zone:
    the first ticket raised and the newest thing that happened to any ticket."""

    first: date
    last: date


@dataclass(frozen=True)
class PeriodState:
    """Whether a period can carry a verdict, and if not, the words that say why."""

    label: str
    tickets: int
    partial: str = ""  # why the period is partial, "" when it is complete
    too_few: bool = False

    @property
    def judged(self) -> bool:
        """Figures may be coloured met or missed only in a complete period with enough tickets."""
        return not self.partial and not self.too_few

    @property
    def note(self) -> str:
        """The label shown beside the period's figures, "" for a judged period."""
        if self.partial:
            return f"Partial period: {self.partial}. Figures are shown without a verdict."
        if self.too_few:
            count = f"{self.tickets} ticket{'' if self.tickets == 1 else 's'}"
            return (
                f"Too few tickets for a verdict: {count} raised (a verdict needs "
                f"{MIN_TICKETS}). Figures are shown without a verdict."
            )
        return ""


def period_state(label: str, tickets: int, reach: TicketRange | None, today: date) -> PeriodState:
    """`tickets`: raised in the period; `reach`: the client's ticket span; `today` in the
    contract's zone."""
    period = Period.parse(label, "UTC")  # only its dates are read: the zone does not matter
    last_day = date.fromordinal(period.next_first_day.toordinal() - 1)
    partial = ""
    if today <= last_day:
        partial = "it is not over yet"
    elif reach is None:
        partial = "no tickets have been imported"
    elif reach.last < last_day:
        partial = f"the imported tickets stop on {reach.last:%-d %b %Y}"
    elif reach.first.replace(day=1) > period.first_day:
        partial = f"the imported tickets start on {reach.first:%-d %b %Y}"
    return PeriodState(label, tickets, partial, tickets < MIN_TICKETS)


@dataclass(frozen=True)
class Candidate:
    """A stored period as the default is chosen from: label, kind and tickets raised."""

    label: str
    kind: str
    tickets: int


def default_period(
    stored: Sequence[Candidate], reach: TicketRange | None, today: date
) -> str | None:
    """The quarter a page opens on: the newest complete quarter with enough tickets to judge,
    else the newest complete one with any, else the newest with any tickets, else the newest
    period of any kind. `stored` newest first."""
    quarters = [s for s in stored if s.kind == "quarter"]
    states = [(s, period_state(s.label, s.tickets, reach, today)) for s in quarters]
    for wanted in (
        lambda s, st: st.judged,
        lambda s, st: not st.partial and s.tickets > 0,
        lambda s, st: s.tickets > 0,
    ):
        for candidate, state in states:
            if wanted(candidate, state):
                return candidate.label
    return next((s.label for s in stored), None)


_RANGES_SQL = """
    SELECT client_id, min(created_at),
           max(greatest(created_at, first_response_at, resolved_at, closed_at))
    FROM kpis_ticket WHERE client_id = ANY(%s) GROUP BY client_id
"""
_STAMPS_SQL = """
    SELECT client_id, max(computed_at) FROM kpis_kpisnapshot
    WHERE client_id = ANY(%s) GROUP BY client_id
"""


def _local_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def _range_key(client_id: int, zone: str, stamp: datetime | None) -> str:
    return f"ticket-range:{client_id}:{zone}:{stamp.timestamp() if stamp else 0}"


def ticket_ranges(zones: dict[int, str], stamps: dict | None = None) -> dict[int, TicketRange]:
    """Each client's ticket span (`zones`: client id → the contract's time zone). Reading it
    scans a client's tickets, so it is cached under the client's newest recompute (`stamps`,
    client id → its snapshots' newest computed_at, read when not given): an import that adds
    tickets recomputes, and the next page reads the new span."""
    if not zones:
        return {}
    if stamps is None:
        stamps = dict(sql.fetch(_STAMPS_SQL, [list(zones)]))
    keys = {pk: _range_key(pk, zones[pk], stamps.get(pk)) for pk in zones}
    found = cache.get_many(list(keys.values()))
    ranges = {pk: found[key] for pk, key in keys.items() if key in found}
    missing = [pk for pk in zones if pk not in ranges]
    if missing:
        fresh = {}
        for pk, first, last in sql.fetch(_RANGES_SQL, [missing]):
            ranges[pk] = TicketRange(_local_date(first, zones[pk]), _local_date(last, zones[pk]))
            fresh[keys[pk]] = ranges[pk]
        cache.set_many(fresh, 24 * 3600)
    return ranges


def ticket_range(client_id: int, zone: str, stamp: datetime | None = None) -> TicketRange | None:
    stamps = None if stamp is None else {client_id: stamp}
    return ticket_ranges({client_id: zone}, stamps).get(client_id)


_CANDIDATES_SQL = """
    SELECT client_id, period_label, period_kind,
           coalesce((values ->> 'tickets.created')::int, 0)
    FROM kpis_kpisnapshot WHERE client_id = ANY(%s)
    ORDER BY client_id, period_start DESC, period_kind
"""


def candidates_of(client_ids: Iterable[int]) -> dict[int, list[Candidate]]:
    """Each client's stored periods, newest first (one query for all of them)."""
    out: dict[int, list[Candidate]] = {}
    for client_id, label, kind, tickets in sql.fetch(_CANDIDATES_SQL, [list(client_ids)]):
        out.setdefault(client_id, []).append(Candidate(label, kind, tickets))
    return out


def default_periods(contracts: dict[int, object]) -> dict[int, str | None]:
    """Each client's default period (`contracts`: client id → its current contract), for the
    pages that open on one: the landing page, the portfolio and "Start a review"."""
    from contracts.services.commitments import contract_today

    zones = {pk: c.timezone for pk, c in contracts.items()}
    reaches = ticket_ranges(zones)
    stored = candidates_of(zones)
    return {
        pk: default_period(stored.get(pk, []), reaches.get(pk), contract_today(c))
        for pk, c in contracts.items()
    }
