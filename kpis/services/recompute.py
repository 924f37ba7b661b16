"""Recompute a client's SLA clocks and KPI snapshots from its stored tickets.

Reads tickets set-based (COPY TO into polars), evaluates the pure clock per policy version and
calendar, writes every ticket's clock, then one snapshot per month, quarter and year. Runs under
the client's recompute lock, so two recomputes of one client never interleave; running it again
gives the same rows (idempotent).
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import numpy as np
import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from contracts.models import CommitmentOccurrence, Contract, Organisation, SlaPolicyVersion
from kpis.clock import CalendarIndex, CalendarSpec, Intervals, ticket_clocks, version_in_force
from kpis.formulas import Figure, Period, kpis_by_period, period_labels_of_month
from kpis.models import KpiSnapshot, Outage, RecomputeRequest
from kpis.uptime import OutageWindow, uptime_figure

RECOMPUTE_LOCK = 7303
KEYS_IN_ORDER = [
    "tickets.created", "tickets.resolved", "tickets.open_at_end", "tickets.per_seat",
    "response.mean_minutes", "response.median_minutes", "response.p90_minutes",
    "response.sla_met", "response.sla_breached", "response.sla_pending", "response.compliance",
    "resolution.mean_minutes", "resolution.median_minutes", "resolution.p90_minutes",
    "resolution.sla_met", "resolution.sla_breached", "resolution.sla_pending",
    "resolution.compliance", "first_time_fix_rate", "repeat_incident_rate", "repeat_clusters",
    "proactive_ratio", "reopen_rate", "escalation.rate", "escalation.mean_minutes_to_escalate",
    "escalation.resolved_at_tier", "uptime", "commitments.kept_rate", "service_credits",
    "excluded",
]  # fmt: skip

_TICKET_SQL = """
COPY (SELECT id, client_id, created_at, first_response_at, resolved_at, kind, priority, origin,
             category, configuration_item, requester, title, tier, escalated_at, reopen_count,
             reassignment_count, state, paused_intervals::text, reopen_gaps::text,
             paused_minutes, exclude_from_sla
      FROM kpis_ticket WHERE client_id = ANY(%s) ORDER BY client_id, id)
TO STDOUT WITH (FORMAT csv, HEADER)
"""
_TICKET_SCHEMA = {
    "id": pl.Int64, "client_id": pl.Int64, "created_at": pl.String, "first_response_at": pl.String,
    "resolved_at": pl.String, "kind": pl.String, "priority": pl.String, "origin": pl.String,
    "category": pl.String, "configuration_item": pl.String, "requester": pl.String,
    "title": pl.String, "tier": pl.Int16, "escalated_at": pl.String, "reopen_count": pl.Int64,
    "reassignment_count": pl.Int64, "state": pl.String, "paused_intervals": pl.String,
    "reopen_gaps": pl.String, "paused_minutes": pl.Float64, "exclude_from_sla": pl.String,
}  # fmt: skip
_STAMPS = ["created_at", "first_response_at", "resolved_at", "escalated_at"]


def tickets_load(client_ids: list[int]) -> pl.DataFrame:
    """The clients' tickets as one frame; instants as naive UTC datetimes."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(cursor.mogrify(_TICKET_SQL, [list(client_ids)]).decode(), buffer)
    buffer.seek(0)
    frame = pl.read_csv(buffer, schema=_TICKET_SCHEMA)
    text_columns = [
        c
        for c, t in _TICKET_SCHEMA.items()
        if t == pl.String and c not in (*_STAMPS, "exclude_from_sla")
    ]
    return frame.with_columns(
        *[
            pl.col(c).str.slice(0, 19).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False)
            for c in _STAMPS
        ],
        *[pl.col(c).fill_null("") for c in text_columns],
        exclude_from_sla=pl.col("exclude_from_sla") == "t",
    )


def _epoch(column: pl.Series) -> np.ndarray:
    return column.dt.epoch("s").fill_null(-1).to_numpy().astype(np.int64)


def _intervals(frame: pl.DataFrame, column: str, rows: np.ndarray) -> Intervals:
    """The JSON interval lists of the selected rows, flat, indexed by position in `rows`."""
    subset = frame[column].gather(rows)
    flat = (
        pl.DataFrame({"ticket": np.arange(rows.size), "pairs": subset})
        .filter(pl.col("pairs") != "[]")
        .with_columns(pl.col("pairs").str.json_decode(pl.List(pl.List(pl.String))))
        .explode("pairs")
        .drop_nulls("pairs")
        .with_columns(
            start=pl.col("pairs").list.get(0).str.to_datetime("%Y-%m-%dT%H:%M:%SZ"),
            end=pl.col("pairs")
            .list.get(1, null_on_oob=True)
            .str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False),
        )
    )
    if flat.is_empty():
        return Intervals.empty()
    return Intervals(
        flat["ticket"].to_numpy().astype(np.int64), _epoch(flat["start"]), _epoch(flat["end"])
    )


def _calendar_spec(calendar, years: range) -> CalendarSpec:
    if calendar.is_24x7:
        return CalendarSpec(always=True)
    days = {date.fromisoformat(d) for d in calendar.extra_holidays}
    if calendar.holiday_country:
        days |= set(
            holidays_lib.country_holidays(
                calendar.holiday_country, subdiv=calendar.holiday_subdivision or None, years=years
            )
        )
    return CalendarSpec(
        zone=calendar.timezone,
        weekly_hours=calendar.weekly_hours,  # stored normalised: {"mon": [["08:00", "17:00"]]}
        holidays=frozenset(days),
    )


_INDEXES: dict[tuple, CalendarIndex] = {}


def calendar_index(calendar, first_day: date, last_day: date) -> CalendarIndex:
    """The calendar's open intervals over whole years, built once per process for each distinct
    calendar content: two hundred clients on the same business hours share one index."""
    key = (calendar.is_24x7, calendar.timezone, repr(calendar.weekly_hours),
           calendar.holiday_country, calendar.holiday_subdivision,
           tuple(calendar.extra_holidays), first_day, last_day)  # fmt: skip
    if key not in _INDEXES:
        if len(_INDEXES) >= 64:  # a worker lives for days: keep the cache bounded
            _INDEXES.clear()
        years = range(first_day.year, last_day.year + 1)
        _INDEXES[key] = CalendarIndex(_calendar_spec(calendar, years), first_day, last_day)
    return _INDEXES[key]


def clocks_compute(tickets: pl.DataFrame, contract: Contract, as_of: datetime) -> pl.DataFrame:
    """Each ticket's clocks under the policy version in force at its creation."""
    versions = list(
        SlaPolicyVersion.objects.filter(contract=contract)
        .prefetch_related("targets__calendar", "calendars")
        .order_by("effective_from")
    )
    n = tickets.height
    out = {
        "id": tickets["id"].to_numpy(),
        "policy_version_id": np.full(n, -1, dtype=np.int64),
        "response_seconds": np.full(n, -1, dtype=np.int64),
        "resolution_seconds": np.full(n, -1, dtype=np.int64),
        "response_target_seconds": np.full(n, -1, dtype=np.int64),
        "resolution_target_seconds": np.full(n, -1, dtype=np.int64),
        "response_verdict": np.full(n, "", dtype=object),
        "resolution_verdict": np.full(n, "", dtype=object),
        "no_verdict_reason": np.full(n, "", dtype=object),
    }
    if n == 0:
        return pl.DataFrame(out)
    created = _epoch(tickets["created_at"])
    zone = contract.timezone
    starts = np.array(
        [int(datetime.combine(v.effective_from, datetime.min.time(),
                              tzinfo=ZoneInfo(zone)).timestamp()) for v in versions],
        dtype=np.int64,
    )  # fmt: skip
    version_index = version_in_force(created, starts) if versions else np.full(n, -1)
    reasons = _no_verdict_reasons(tickets, version_index, customer_owned_categories(contract))
    out["no_verdict_reason"] = reasons
    # Whole years, so clients whose calendars read the same share one index (calendar_index).
    first_day = date((tickets["created_at"].min() - timedelta(days=2)).year, 1, 1)
    last_day = date(max(as_of.year, (tickets["resolved_at"].max() or as_of).year) + 1, 12, 31)
    as_of_s = int(as_of.timestamp())
    for v_index, version in enumerate(versions):
        calendars = {c.key: calendar_index(c, first_day, last_day)
                     for c in version.calendars.all()}  # fmt: skip
        for target in version.targets.all():
            rows = np.flatnonzero(
                (version_index == v_index)
                & (tickets["priority"].to_numpy() == target.priority)
                & (reasons == "")
            )
            if rows.size == 0:
                continue
            calendar = calendars[target.calendar.key]
            pick = tickets[rows]
            result = ticket_clocks(
                calendar,
                created=created[rows],
                first_response=_epoch(pick["first_response_at"]),
                resolved=_epoch(pick["resolved_at"]),
                response_target=np.full(rows.size, target.response_minutes * 60),
                resolution_target=np.full(rows.size, target.resolution_minutes * 60),
                pauses=_intervals(tickets, "paused_intervals", rows),
                reopen_gaps=_intervals(tickets, "reopen_gaps", rows),
                paused_seconds_exported=(pick["paused_minutes"].fill_null(0) * 60)
                .to_numpy()
                .astype(np.int64),
                as_of=as_of_s,
            )
            out["policy_version_id"][rows] = version.pk
            out["response_seconds"][rows] = result.response_seconds
            out["resolution_seconds"][rows] = np.where(
                pick["resolved_at"].is_null().to_numpy(), -1, result.resolution_seconds
            )
            out["response_target_seconds"][rows] = target.response_minutes * 60
            out["resolution_target_seconds"][rows] = target.resolution_minutes * 60
            out["response_verdict"][rows] = result.response_verdict
            out["resolution_verdict"][rows] = result.resolution_verdict
    return pl.DataFrame(out)


def customer_owned_categories(contract: Contract) -> dict[str, str]:
    """Ticket category (lower case) → the customer-owned area of the current responsibility
    matrix it belongs to. Tickets in those areas get no SLA verdict: the MSP does not own them."""
    matrix = contract.current_matrix()
    if matrix is None:
        return {}
    return {
        category.strip().lower(): assignment.area
        for assignment in matrix.assignments.filter(owner="customer")
        for category in assignment.categories
    }


def _no_verdict_reasons(
    tickets: pl.DataFrame, version_index: np.ndarray, customer_owned: dict[str, str]
) -> np.ndarray:
    """Why a ticket gets no SLA verdict (kpis.md), or "" when it gets one."""
    reasons = np.full(tickets.height, "", dtype=object)
    reasons[version_index < 0] = "created before the first SLA policy"
    if customer_owned:
        owned = tickets["category"].str.strip_chars().str.to_lowercase().is_in(list(customer_owned))
        reasons[owned.to_numpy()] = "customer-owned area"
    reasons[tickets["priority"].to_numpy() == ""] = "unmapped priority"
    reasons[tickets["exclude_from_sla"].to_numpy()] = "excluded by the export"
    reasons[tickets["state"].to_numpy() == "cancelled"] = "cancelled or merged"
    return reasons


def clocks_store(client_ids: list[int], clocks: pl.DataFrame) -> None:
    """Replace the clients' stored clocks (COPY: a million rows in seconds). `clocks` has a
    client_id column."""
    now = timezone.now().strftime("%Y-%m-%d %H:%M:%S+00")
    frame = clocks.with_columns(
        *[pl.when(pl.col(c) < 0).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("policy_version_id", "response_seconds", "resolution_seconds",
                    "response_target_seconds", "resolution_target_seconds")],
        computed_at=pl.lit(now),
    ).rename({"id": "ticket_id"})  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM kpis_ticketclock WHERE client_id = ANY(%s)", [list(client_ids)])
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, null_value="\\N")
        buffer.seek(0)
        cursor.cursor.copy_expert(
            f"COPY kpis_ticketclock ({', '.join(frame.columns)}) FROM STDIN "
            "WITH (FORMAT csv, NULL '\\N')",
            buffer,
        )


def _commitments_kept(occurrences: list, period: Period, today: date) -> Figure:
    """Occurrences fulfilled on time with evidence where required / occurrences due."""
    due = [o for o in occurrences
           if period.first_day <= o.due_date < min(period.next_first_day, today)]  # fmt: skip
    kept = [o for o in due if o.status_on(today, len(o.evidence.all())) == "kept"]
    return Figure(
        len(kept) / len(due) if due else None, len(kept), len(due), [],
        "occurrences done by their due date, with evidence where required / occurrences due",
    )  # fmt: skip


def _service_credits(contract: Contract, figures: dict[str, Figure], period: Period) -> Figure:
    """The credit the contract's terms give for this period's measure, with the breaches."""
    if not contract.credit_measure or period.kind != contract.credit_period:
        return Figure(None, note="no credit terms for this kind of period")
    measure = figures.get(contract.credit_measure)
    if measure is None or measure.value is None:
        return Figure(None, note=f"{contract.credit_measure} has no value this period")
    percent = Decimal(0)
    for tier in sorted(contract.credit_tiers, key=lambda t: t["below"]):
        if measure.value < float(tier["below"]):
            percent = max(percent, Decimal(str(tier["credit_percent"])))
    if contract.credit_cap_percent is not None:
        percent = min(percent, contract.credit_cap_percent)
    fee = contract.monthly_fee or Decimal(0)
    months = {"month": 1, "quarter": 3}.get(period.kind, 12)
    amount = (fee * months * percent / 100).quantize(Decimal("0.01"))
    breach_key = credit_breach_key(contract.credit_measure)
    breaches = figures[breach_key].value if breach_key in figures else None
    return Figure(
        {"percent": float(percent), "amount": float(amount), "currency": contract.currency,
         "measure": contract.credit_measure, "measured": measure.value, "breaches": breaches},
        float(amount), None, [],
        f"{contract.credit_measure} {measure.value:.1%} against the contract's tiers",
    )  # fmt: skip


def credit_breach_key(measure: str) -> str:
    """The figure whose tickets triggered a credit: `resolution.compliance` → its breaches."""
    return measure.split(".")[0] + ".sla_breached"


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def tickets_with_clocks(tickets: pl.DataFrame, clocks: pl.DataFrame) -> pl.DataFrame:
    """The tickets with their clock results in minutes, as the KPI formulas read them."""
    return tickets.join(clocks.drop("client_id", strict=False), on="id", how="left").with_columns(
        response_minutes=pl.when(pl.col("response_seconds") >= 0)
        .then(pl.col("response_seconds") / 60),
        resolution_minutes=pl.when(pl.col("resolution_seconds") >= 0)
        .then(pl.col("resolution_seconds") / 60),
    )  # fmt: skip


@dataclass
class ClientContext:
    """What a client's snapshots need besides tickets, loaded once per recompute."""

    contract: Contract
    window: int
    uptime_targets: dict[str, float]
    outages: list[OutageWindow]
    occurrences: list
    today: date


def _contexts(contracts: list[Contract], as_of: datetime) -> dict[int, ClientContext]:
    ids = [c.pk for c in contracts]
    latest = {}
    for version in SlaPolicyVersion.objects.filter(contract_id__in=ids).prefetch_related(
        "uptime_targets"
    ).order_by("contract_id", "effective_from"):  # fmt: skip
        latest[version.contract_id] = version
    outages = defaultdict(list)
    for o in Outage.objects.filter(client_id__in=[c.client_id for c in contracts]):
        outages[o.client_id].append(
            OutageWindow(
                o.service,
                _naive_utc(o.started_at),
                o.ended_at and _naive_utc(o.ended_at),
                o.planned,
            )
        )
    occurrences = defaultdict(list)
    for o in (
        CommitmentOccurrence.objects.filter(commitment__contract_id__in=ids)
        .select_related("commitment")
        .prefetch_related("evidence")
    ):
        occurrences[o.commitment.contract_id].append(o)
    out = {}
    for contract in contracts:
        version = latest.get(contract.pk)
        out[contract.client_id] = ClientContext(
            contract=contract,
            window=version.repeat_window_days if version else 30,
            uptime_targets={u.service: float(u.target) for u in version.uptime_targets.all()}
            if version else {},
            outages=outages[contract.client_id],
            occurrences=occurrences[contract.pk],
            today=as_of.astimezone(ZoneInfo(contract.timezone)).date(),
        )  # fmt: skip
    return out


def _snapshot_data(figures: dict[str, Figure], breakdowns: dict, context: ClientContext,
                   period: Period, as_of: datetime) -> dict:  # fmt: skip
    """The stored form of one period: values, figures (numerator, denominator, note) and
    breakdowns, with uptime, commitments and credits added to the ticket figures."""
    figures["uptime"] = uptime_figure(context.outages, context.uptime_targets, period,
                                      _naive_utc(as_of))  # fmt: skip
    figures["commitments.kept_rate"] = _commitments_kept(context.occurrences, period, context.today)
    figures["service_credits"] = _service_credits(context.contract, figures, period)
    return {
        "values": {k: figures[k].value for k in KEYS_IN_ORDER},
        "figures": {k: figures[k].to_json() for k in KEYS_IN_ORDER},
        "breakdowns": breakdowns,
    }


def _requested_periods(client_ids: list[int], as_of: datetime) -> dict[int, set[str]]:
    """Period labels made stale by imports: each requested month, its quarter and its year."""
    only: dict[int, set[str]] = {c: set() for c in client_ids}
    for client_id, month in RecomputeRequest.objects.filter(
        client_id__in=client_ids, requested_at__lte=as_of
    ).values_list("client_id", "month"):
        only[client_id] |= set(period_labels_of_month(f"{month:%Y-%m}"))
    return only


def kpis_recompute_clients(
    clients: list[Organisation], *, as_of: datetime | None = None, full: bool = True
) -> int:
    """Recompute the clients' clocks and snapshots; returns the number of snapshots written.

    `full`: every period of each client (nightly, after a contract change). Otherwise only the
    periods the clients' pending recompute requests name (after an import); the clocks are
    recomputed in full either way, since they are cheap and a policy may have changed."""
    as_of = as_of or timezone.now()
    contracts = {}
    for contract in Contract.objects.filter(client__in=clients).select_related("client").order_by(
        "client_id", "starts"
    ):  # fmt: skip
        contracts[contract.client_id] = contract  # the latest contract of each client
    client_ids = sorted(contracts)
    if not client_ids:
        return 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            for client_id in client_ids:  # in id order, so two recomputes never deadlock
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RECOMPUTE_LOCK, client_id])
        only = None if full else _requested_periods(client_ids, as_of)
        tickets = tickets_load(client_ids)
        by_client = tickets.partition_by("client_id", as_dict=True)
        clocks = pl.concat(
            [
                clocks_compute(part, contracts[client_id], as_of).with_columns(
                    client_id=pl.lit(client_id)
                )
                for (client_id,), part in by_client.items()
            ]
        ) if by_client else None  # fmt: skip
        if clocks is not None:
            clocks_store(client_ids, clocks)
        contexts = _contexts(list(contracts.values()), as_of)
        written = 0
        frame = tickets_with_clocks(tickets, clocks) if clocks is not None else None
        for zone in sorted({c.timezone for c in contracts.values()}):
            zone_ids = [c for c in client_ids if contracts[c].timezone == zone]
            results = []
            if frame is not None:
                results = kpis_by_period(
                    frame.filter(pl.col("client_id").is_in(zone_ids)), zone,
                    seats={c: contracts[c].seats or None for c in zone_ids},
                    repeat_window_days={c: contexts[c].window for c in zone_ids},
                    only=None if only is None else {c: only[c] for c in zone_ids},
                    last_month=f"{as_of.astimezone(ZoneInfo(zone)):%Y-%m}",
                )  # fmt: skip
            written += _snapshots_write(results, contexts, zone, as_of, zone_ids, only)
        RecomputeRequest.objects.filter(client_id__in=client_ids, requested_at__lte=as_of).delete()
    return written


def _snapshots_write(results, contexts, zone, as_of, client_ids, only) -> int:
    """Upsert the computed snapshots; drop those of periods that no longer have tickets."""
    rows = []
    for result in results:
        period = Period.parse(result.period, zone)
        data = _snapshot_data(result.figures, result.breakdowns, contexts[result.client_id],
                              period, as_of)  # fmt: skip
        rows.append(KpiSnapshot(client_id=result.client_id, period_label=period.label,
                                period_kind=period.kind, period_start=period.first_day,
                                computed_at=as_of, **data))  # fmt: skip
    KpiSnapshot.objects.bulk_create(
        rows, batch_size=500, update_conflicts=True, unique_fields=["client", "period_label"],
        update_fields=["period_kind", "period_start", "values", "figures", "breakdowns",
                       "computed_at"],
    )  # fmt: skip
    kept = defaultdict(set)
    for row in rows:
        kept[row.client_id].add(row.period_label)
    for client_id in client_ids:
        stale = KpiSnapshot.objects.filter(client_id=client_id).exclude(
            period_label__in=kept[client_id]
        )
        if only is not None:  # a partial recompute answers only for the periods it was asked
            stale = stale.filter(period_label__in=only[client_id])
        stale.delete()
    return len(rows)


def kpis_recompute(
    client: Organisation, *, as_of: datetime | None = None, full: bool = True
) -> int:
    """Recompute one client (see kpis_recompute_clients)."""
    return kpis_recompute_clients([client], as_of=as_of, full=full)
