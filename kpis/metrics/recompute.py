"""Recompute a client's SLA clocks and KPI snapshots from its stored tickets.

Reads tickets set-based (COPY TO into polars), evaluates the pure clock per policy version and
calendar, writes every ticket's clock, then one snapshot per month, quarter and year. Runs under
the client's recompute lock, so two recomputes of one client never interleave; running it again
gives the same rows (idempotent).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from contracts.models import CommitmentOccurrence, Contract, Organisation, SlaPolicyVersion
from contracts.models.agreement import Agreed
from kpis.metrics.adjustments import (
    Adjustments,
    adjustments_merged,
    pauses_removed,
    replaced_rows,
    tickets_as_agreed,
    verdicts_as_agreed,
)
from kpis.metrics.formulas import kpis_by_period
from kpis.metrics.period import month_index, period_label, period_labels_of_month
from kpis.metrics.policy_clocks import clocks_compute_many, tickets_with_clocks
from kpis.metrics.registry import kpi_inputs
from kpis.metrics.snapshot import ClientContext, naive_utc, snapshot_rows
from kpis.metrics.store import (
    RECOMPUTED_TABLES,
    adjustments_load,
    clocks_store,
    histories_load,
    paused_intervals_store,
    snapshots_write,
    tickets_load,
)
from kpis.metrics.uptime import OutageWindow
from kpis.models import Outage, RecomputeRequest
from msp_portal import sql
from msp_portal.jobs import Locks


def _contexts(contracts: list[Contract], as_of: datetime) -> dict[int, ClientContext]:
    ids = [c.pk for c in contracts]
    latest = {}
    for version in (
        SlaPolicyVersion.objects.filter(Agreed.in_force_q(), contract_id__in=ids)
        .select_related("contract")
        .prefetch_related("uptime_targets")
        .order_by("contract_id", "effective_from")
    ):
        # The agreed version in force today: repeat window and uptime targets.
        today = as_of.astimezone(ZoneInfo(version.contract.timezone)).date()
        if version.effective_from <= today or version.contract_id not in latest:
            latest[version.contract_id] = version
    outages = defaultdict(list)
    for o in Outage.objects.filter(client_id__in=[c.client_id for c in contracts]):
        outages[o.client_id].append(
            OutageWindow(
                o.service,
                naive_utc(o.started_at),
                o.ended_at and naive_utc(o.ended_at),
                o.planned,
            )
        )
    occurrences = defaultdict(list)
    for o in (
        # Each commitment read once, not joined onto each of its occurrences: a client's few
        # commitments have hundreds of occurrences, and building the same commitment for every
        # one of them cost a nightly recompute of 200 clients 40,000 model instances.
        CommitmentOccurrence.objects.filter(commitment__contract_id__in=ids)
        .prefetch_related("commitment")
        .annotate(evidence_count=Count("evidence"))
    ):
        occurrences[o.commitment.contract_id].append(o)
    out = {}
    for contract in contracts:
        version = latest.get(contract.pk)
        out[contract.client_id] = ClientContext(
            contract=contract,
            window=version.repeat_window_days if version else 30,
            uptime_targets={u.service: float(u.target) for u in version.uptime_targets.all()}
            if version
            else {},
            outages=outages[contract.client_id],
            occurrences=occurrences[contract.pk],
            today=as_of.astimezone(ZoneInfo(contract.timezone)).date(),
        )
    return out


def rules_used(judged: pl.DataFrame, zone: str, client_ids: list[int]) -> dict:
    """(client id, period label) → {"sla": [...], "matrix": [...]}: the agreed versions the
    tickets created in each month, quarter and year were judged under."""
    months = (
        judged.filter(pl.col("client_id").is_in(client_ids))
        .select(
            "client_id",
            # Month indexes, labelled once each after unique: formatting a million instants
            # as text cost more than the rest of this function.
            month=month_index(
                pl.col("created_at").dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
            ),
            sla=pl.col("policy_version_id"),
            matrix=pl.col("matrix_version_id"),
        )
        .unique()
    )
    used: dict[tuple[int, str], dict[str, set]] = {}
    for client_id, month, sla, matrix in months.iter_rows():
        for label in period_labels_of_month(period_label(month)):
            entry = used.setdefault((client_id, label), {"sla": set(), "matrix": set()})
            if sla is not None and sla >= 0:
                entry["sla"].add(sla)
            if matrix is not None and matrix >= 0:
                entry["matrix"].add(matrix)
    return {key: {k: sorted(v) for k, v in entry.items()} for key, entry in used.items()}


def _add_periods_of(only: dict[int, set[str]], tickets: pl.DataFrame, contracts) -> None:
    """Add the months (with their quarters and years) in which these tickets were created,
    resolved or breached (`resolution_breached_at`, epoch seconds, -1 for none: an open ticket
    that went past its target counts in the month it did), in their contract's zone."""
    for (client_id,), part in tickets.partition_by("client_id", as_dict=True).items():
        zone = contracts[client_id].timezone
        breached = part["resolution_breached_at"]
        breached = (
            pl.from_epoch(breached.filter(breached >= 0), time_unit="s")
            .cast(pl.Datetime("us"))
            .alias("created_at")
        )
        stamps = pl.concat([part["created_at"], part["resolved_at"], breached]).drop_nulls()
        months = stamps.dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.strftime("%Y-%m")
        for month in months.unique().to_list():
            only.setdefault(client_id, set()).update(period_labels_of_month(month))


def _first_months(
    contexts: dict[int, ClientContext], client_ids: list[int], zone: str
) -> dict[int, str]:
    """The month of each client's first outage or first commitment occurrence due (before
    today), in the contract's zone: months with an outage or a commitment due before the first
    ticket have snapshots too (their uptime, their commitments kept, the credits a missed one
    gives), docs/kpis.md."""
    out = {}
    for client_id in client_ids:
        context = contexts[client_id]
        months = []
        starts = [o.start for o in context.outages]
        if starts:
            first = min(starts).replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone))
            months.append(f"{first:%Y-%m}")
        # Due dates are days of the contract's own calendar already.
        dues = [o.due_date for o in context.occurrences if o.due_date < context.today]
        if dues:
            months.append(f"{min(dues):%Y-%m}")
        if months:
            out[client_id] = min(months)
    return out


def _requested_periods(client_ids: list[int], as_of: datetime) -> dict[int, set[str]]:
    """Period labels made stale by imports: each requested month, its quarter and its year."""
    only: dict[int, set[str]] = {c: set() for c in client_ids}
    for client_id, month in RecomputeRequest.objects.filter(
        client_id__in=client_ids, requested_at__lte=as_of
    ).values_list("client_id", "month"):
        only[client_id] |= set(period_labels_of_month(f"{month:%Y-%m}"))
    return only


@contextmanager
def _without_cycle_collection():
    """Python's cycle collector off while figures are built: a full recompute makes a few
    hundred thousand small dicts and Figures, none in a cycle (reference counting frees them),
    and the collections their allocations set off cost 0.3 s per 100 clients."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _agreed_frame(
    tickets: pl.DataFrame,
    clocks: pl.DataFrame,
    histories: pl.DataFrame,
    contracts: dict[int, Contract],
    as_of: datetime,
    adjusted: dict[int, Adjustments],
) -> pl.DataFrame | None:
    """The KPI frame of the clients whose accepted disputes change a ticket, as agreed: the
    adjusted tickets timed again by the same clock with the agreed facts, the rest as measured.
    None when no accepted dispute changes a ticket."""
    changed = {c: a for c, a in adjusted.items() if a.tickets()}
    if not changed:
        return None
    ticket_ids = sorted(set().union(*(a.tickets() for a in changed.values())))
    combined = adjustments_merged(changed.values())
    mine = pl.col("client_id").is_in(list(changed))
    part = tickets_as_agreed(tickets.filter(pl.col("id").is_in(ticket_ids)), combined)
    part_clocks = clocks_compute_many(
        part,
        contracts,
        as_of,
        histories.filter(pl.col("ticket_id").is_in(ticket_ids)) if histories.height else None,
        pauses_removed=pauses_removed(part, combined),
    ).drop("paused_intervals_now", strict=False)
    part_clocks = verdicts_as_agreed(part_clocks, part, combined)
    agreed_tickets = replaced_rows(tickets.filter(mine), part)
    agreed_clocks = replaced_rows(clocks.filter(mine), part_clocks)
    return kpi_inputs(tickets_with_clocks(kpi_inputs(agreed_tickets), agreed_clocks))


def _agreed_results(
    agreed_frame: pl.DataFrame | None,
    zone: str,
    zone_ids: list[int],
    contracts: dict[int, Contract],
    contexts: dict[int, ClientContext],
    only: dict[int, set[str]] | None,
    as_of: datetime,
) -> dict[tuple[int, str], tuple]:
    """(client id, period label) → the ticket figures and breakdowns as agreed, for this zone's
    clients whose accepted disputes change a ticket (the others' are the measured ones)."""
    if agreed_frame is None:
        return {}
    ids = [c for c in zone_ids if contexts[c].adjustments.tickets()]
    part = agreed_frame.filter(pl.col("client_id").is_in(ids))
    if not ids or part.is_empty():
        return {}
    results = kpis_by_period(
        part,
        zone,
        seats={c: contracts[c].seats or None for c in ids},
        repeat_window_days={c: contexts[c].window for c in ids},
        only=None if only is None else {c: only[c] for c in ids},
        last_month=f"{as_of.astimezone(ZoneInfo(zone)):%Y-%m}",
        since=_first_months(contexts, ids, zone),
    )
    return {(r.client_id, r.period): (r.figures, r.breakdowns) for r in results}


def kpis_recompute_clients(
    clients: list[Organisation], *, as_of: datetime | None = None, full: bool = True
) -> int:
    """Recompute the clients' clocks and snapshots; returns the number of snapshots written.

    `full`: every period of each client (nightly, after a contract change). Otherwise only the
    periods the clients' pending recompute requests name (after an import); the clocks are
    recomputed in full either way, since they are cheap and a policy may have changed."""
    as_of = as_of or timezone.now()
    contracts = {}
    for contract in (
        Contract.objects.filter(client__in=clients)
        .select_related("client")
        .order_by("client_id", "starts", "id")
    ):
        # The latest contract of each client, ties broken by id as current_contract breaks them.
        contracts[contract.client_id] = contract
    client_ids = sorted(contracts)
    if not client_ids:
        return 0
    with transaction.atomic(), _without_cycle_collection():
        with connection.cursor() as cursor:
            for client_id in client_ids:  # in id order, so two recomputes never deadlock
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [Locks.RECOMPUTE, client_id])
        only = None if full else _requested_periods(client_ids, as_of)
        tickets = tickets_load(client_ids)
        histories = histories_load(client_ids)
        clocks = clocks_compute_many(tickets, contracts, as_of, histories)
        paused_intervals_store(tickets, clocks)
        clocks = clocks.drop("paused_intervals_now", strict=False)
        changed = clocks_store(client_ids, clocks)
        if only is not None:
            # Time moves open tickets from pending to breached: every period whose figures
            # count a ticket with a changed clock is recomputed too, so a snapshot and the
            # clocks its drill-down lists never disagree.
            moved = tickets.filter(pl.col("id").is_in(changed.implode())).join(
                clocks.select("id", "resolution_breached_at"), on="id", how="left"
            )
            _add_periods_of(only, moved, contracts)
        contexts = _contexts(list(contracts.values()), as_of)
        adjusted = adjustments_load(client_ids)
        for client_id, adjustments in adjusted.items():
            contexts[client_id].adjustments = adjustments
        written = 0
        judged = tickets.select("client_id", "created_at").hstack(
            clocks.select("policy_version_id", "matrix_version_id").get_columns()
        )
        frame = kpi_inputs(tickets_with_clocks(kpi_inputs(tickets), clocks))
        agreed_frame = _agreed_frame(tickets, clocks, histories, contracts, as_of, adjusted)
        del histories
        zones = sorted({c.timezone for c in contracts.values()})
        for zone in zones:
            zone_ids = [c for c in client_ids if contracts[c].timezone == zone]
            results = []
            if frame.height:
                results = kpis_by_period(
                    frame if len(zones) == 1 else frame.filter(pl.col("client_id").is_in(zone_ids)),
                    zone,
                    seats={c: contracts[c].seats or None for c in zone_ids},
                    repeat_window_days={c: contexts[c].window for c in zone_ids},
                    only=None if only is None else {c: only[c] for c in zone_ids},
                    last_month=f"{as_of.astimezone(ZoneInfo(zone)):%Y-%m}",
                    since=_first_months(contexts, zone_ids, zone),
                )
            rules = rules_used(judged, zone, zone_ids) if results else {}
            agreed = _agreed_results(agreed_frame, zone, zone_ids, contracts, contexts, only, as_of)
            written += snapshots_write(
                snapshot_rows(results, contexts, zone, as_of, rules, agreed),
                as_of,
                zone_ids,
                only,
            )
        RecomputeRequest.objects.filter(client_id__in=client_ids, requested_at__lte=as_of).delete()
    # Every import ends in a recompute: the place to refresh the statistics a large one spoiled.
    sql.analyze_if_stale(RECOMPUTED_TABLES)
    return written


def kpis_recompute(
    client: Organisation, *, as_of: datetime | None = None, full: bool = True
) -> int:
    """Recompute one client (see kpis_recompute_clients)."""
    return kpis_recompute_clients([client], as_of=as_of, full=full)
