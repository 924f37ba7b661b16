"""The tickets behind a stored figure: the drill-down every number on a page links to.

Reads the client's tickets with their *stored* clocks (never recomputing them) and applies the
figure's rule from kpis/metrics/formulas.py, the same rule the snapshot was aggregated with.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.core.cache import cache

from contracts.models import Contract, Organisation
from contracts.selectors import current_contract
from kpis.metrics.formulas import figure_tickets, prepared
from kpis.metrics.period import Period
from kpis.metrics.policy_clocks import tickets_with_clocks
from kpis.metrics.registry import RULES
from kpis.metrics.snapshot import credit_breach_key
from kpis.metrics.store import clocks_load, tickets_load
from kpis.models import Ticket
from msp_portal import sql

CACHE_SECONDS = 24 * 3600


def figure_ticket_ids(
    client: Organisation,
    period_label: str,
    key: str,
    *,
    part: str = "denominator",
    fingerprint: str | None = None,
) -> list[int]:
    """Ids of the tickets a figure of the client's period was computed over (`denominator`) or,
    for a rate, the ones it counts (`numerator`). Raises KeyError for an unknown key and
    ValueError for a malformed period."""
    contract = current_contract(client=client)
    if contract is None:
        return []
    computed_at = snapshot_computed_at(client, period_label)
    return _figure_ids(client, contract, period_label, computed_at, key, part, fingerprint)


def figure_ticket_list(
    client: Organisation,
    contract: Contract,
    period_label: str,
    computed_at: datetime,
    key: str,
    *,
    part: str = "denominator",
    fingerprint: str | None = None,
    priority: str = "",
    verdict: str | None = None,
    order="-created_at",
) -> tuple[int, list[int]]:
    """The list page's tickets of a figure: how many tickets the figure was computed over (its
    denominator, whatever `part` is listed), and the ids of those of `part` with this priority
    and resolution verdict ("" for none; None for any) in this order (a Ticket field, `-` for
    descending, or an expression), ticket id breaking ties. Cached like figure_ticket_ids, by the
    snapshot's `computed_at`: the verdicts and clock times it filters and sorts by are written
    by the same recompute, and a page of the list then reads only its own fifty tickets."""
    digest = _digest(period_label, key, part, fingerprint, computed_at, priority, verdict, order)
    cache_key = f"figure-list:{client.pk}:{digest}"
    listed = cache.get(cache_key)
    if listed is None:
        ids = _figure_ids(client, contract, period_label, computed_at, key, part, fingerprint)
        total = len(ids)
        if part != "denominator":
            every = "denominator"
            total = len(_figure_ids(client, contract, period_label, computed_at, key, every, None))
        tickets = Ticket.objects.filter(client=client, pk__in=ids)
        if priority:
            tickets = tickets.filter(priority=priority)
        if verdict is not None:
            tickets = tickets.filter(clock__resolution_verdict=verdict)
        listed = (total, list(tickets.order_by(order, "pk").values_list("pk", flat=True)))
        cache.set(cache_key, listed, CACHE_SECONDS)
    return listed


def snapshot_computed_at(client: Organisation, period_label: str) -> datetime | None:
    """When the client's snapshot of the period was computed (None: no such snapshot); the
    drill-down's caches are keyed by it."""
    # Written as SQL: every ticket list reads it (msp_portal/sql.py says why).
    rows = sql.fetch(
        "SELECT computed_at FROM kpis_kpisnapshot WHERE client_id = %s AND period_label = %s "
        "ORDER BY id LIMIT 1",
        [client.pk, period_label],
    )
    return rows[0][0] if rows else None


def _digest(*parts) -> str:
    return hashlib.md5(repr(parts).encode(), usedforsecurity=False).hexdigest()


def _figure_ids(client, contract, period_label, computed_at, key, part, fingerprint) -> list[int]:
    period = Period.parse(period_label, contract.timezone)
    if key == "service_credits":
        key = credit_breach_key(contract.credit_measure or "resolution.compliance")
    if key not in RULES:
        if key in ("uptime", "commitments.kept_rate"):
            return []  # not ticket figures
        raise KeyError(key)
    # Cached until the period is recomputed: the key carries the snapshot's computed_at, and a
    # recompute rewrites the snapshot of every period whose tickets' clocks changed.
    digest = _digest(period_label, key, part, fingerprint, computed_at)
    cache_key = f"figure-tickets:{client.pk}:{digest}"
    ids = cache.get(cache_key)
    if ids is None:
        policy = contract.sla_versions.order_by("-effective_from").first()
        window = policy.repeat_window_days if policy else 30
        clocks = clocks_load([client.pk]).rename({"ticket_id": "id"})
        frame = tickets_with_clocks(tickets_load([client.pk]), clocks)
        ids = figure_tickets(
            prepared(frame, contract.timezone, window),
            key,
            period,
            part=part,
            fingerprint=fingerprint,
        )
        cache.set(cache_key, ids, CACHE_SECONDS)
    return ids
