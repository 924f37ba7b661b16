"""The tickets behind a stored figure: the drill-down every number on a page links to.

Reads the client's tickets with their *stored* clocks (never recomputing them) and applies the
figure's rule from kpis/formulas.py, the same rule the snapshot was aggregated with.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache

from contracts.models import Organisation
from contracts.selectors import current_contract
from kpis.formulas import RULES, Period, figure_tickets, prepared
from kpis.models import KpiSnapshot
from kpis.services.recompute import (
    clocks_load,
    credit_breach_key,
    tickets_load,
    tickets_with_clocks,
)


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
    period = Period.parse(period_label, contract.timezone)
    if key == "service_credits":
        key = credit_breach_key(contract.credit_measure or "resolution.compliance")
    if key not in RULES:
        if key in ("uptime", "commitments.kept_rate"):
            return []  # not ticket figures
        raise KeyError(key)
    # Cached until the period is recomputed: the key carries the snapshot's computed_at, and a
    # recompute rewrites the snapshot of every period whose tickets' clocks changed.
    computed_at = (
        KpiSnapshot.objects.filter(client=client, period_label=period_label)
        .values_list("computed_at", flat=True)
        .first()
    )
    digest = hashlib.md5(repr((period_label, key, part, fingerprint, computed_at)).encode(),
                         usedforsecurity=False).hexdigest()  # fmt: skip
    cache_key = f"figure-tickets:{client.pk}:{digest}"
    ids = cache.get(cache_key)
    if ids is None:
        policy = contract.sla_versions.order_by("-effective_from").first()
        window = policy.repeat_window_days if policy else 30
        clocks = clocks_load([client.pk]).rename({"ticket_id": "id"})
        frame = tickets_with_clocks(tickets_load([client.pk]), clocks)
        ids = figure_tickets(prepared(frame, contract.timezone, window), key, period, part=part,
                             fingerprint=fingerprint)  # fmt: skip
        cache.set(cache_key, ids, 24 * 3600)
    return ids
