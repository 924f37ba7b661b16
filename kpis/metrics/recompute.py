"""Recompute a client's SLA clocks and KPI snapshots from its stored tickets.

Reads tickets set-based (COPY TO into polars), evaluates the pure clock per policy version and
calendar, writes every ticket's clock, then one snapshot per month, quarter and year. Runs under
the client's recompute lock, so two recomputes of one client never interleave; running it again
gives the same rows (idempotent).
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import numpy as np
import polars as pl
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from contracts.models import CommitmentOccurrence, Contract, Organisation, SlaPolicyVersion
from kpis.metrics.clock import (
    VERDICTS,
    CalendarIndex,
    CalendarSpec,
    Intervals,
    ticket_clocks,
    version_in_force,
)
from kpis.metrics.formulas import Figure, Period, kpi_inputs, kpis_by_period, period_labels_of_month
from kpis.metrics.uptime import OutageWindow, uptime_figure
from kpis.models import Outage, RecomputeRequest
from msp_portal import sql

RECOMPUTE_LOCK = 7303
# The tables a recompute reads and writes at a scale that can outdate their statistics.
RECOMPUTED_TABLES = ["kpis_ticket", "kpis_ticketclock", "kpis_kpisnapshot"]
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

# Instants travel as epoch seconds: PostgreSQL prints a number faster than a timestamp, and a
# million of each are read per full recompute. date_part, not extract: extract returns numeric,
# whose arithmetic made the four instants cost the server more than every other column
# together (0.9 s of 2.2 s for the million); date_part's double holds a microsecond instant
# closely enough that floor gives the same second. No ORDER BY: nothing downstream needs one.
_TICKET_SQL = """
COPY (SELECT id, client_id, floor(date_part('epoch', created_at))::bigint AS created_at,
             floor(date_part('epoch', first_response_at))::bigint AS first_response_at,
             floor(date_part('epoch', resolved_at))::bigint AS resolved_at, kind, priority,
             origin, category, configuration_item, requester, title, tier,
             floor(date_part('epoch', escalated_at))::bigint AS escalated_at, reopen_count,
             reassignment_count, state, paused_intervals::text, reopen_gaps::text,
             paused_minutes, exclude_from_sla
      FROM kpis_ticket WHERE client_id = ANY(%s))
TO STDOUT WITH (FORMAT csv, HEADER)
"""
_TICKET_SCHEMA = {
    "id": pl.Int64, "client_id": pl.Int64, "created_at": pl.Int64, "first_response_at": pl.Int64,
    "resolved_at": pl.Int64, "kind": pl.String, "priority": pl.String, "origin": pl.String,
    "category": pl.String, "configuration_item": pl.String, "requester": pl.String,
    "title": pl.String, "tier": pl.Int16, "escalated_at": pl.Int64, "reopen_count": pl.Int64,
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
        *[pl.from_epoch(c, time_unit="s").cast(pl.Datetime("us")) for c in _STAMPS],
        *[pl.col(c).fill_null("") for c in text_columns],
        exclude_from_sla=pl.col("exclude_from_sla") == "t",
    )


def _epoch(column: pl.Series) -> np.ndarray:
    return column.dt.epoch("s").fill_null(-1).to_numpy().astype(np.int64)


def _intervals(frame: pl.DataFrame, column: str) -> Intervals:
    """The JSON interval lists of every row, flat, indexed by row."""
    flat = (
        pl.DataFrame({"ticket": np.arange(frame.height), "pairs": frame[column]})
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


@dataclass(frozen=True)
class _Target:
    version_id: int
    priority: str
    response_seconds: int
    resolution_seconds: int
    calendar: int  # position in the list of distinct calendar indexes


def _policies(contracts: dict[int, Contract], first_day: date, last_day: date):
    """Every client's policy versions as (client_id, start epoch, version id) rows, their
    targets, and the distinct calendar indexes the targets run in (shared across clients).
    Read as plain rows: two hundred clients' policies are a few thousand of them."""
    from contracts.models import Calendar, SlaTarget

    zone_of = {c.pk: (client_id, c.timezone) for client_id, c in contracts.items()}
    versions = SlaPolicyVersion.objects.filter(contract_id__in=list(zone_of)).values_list(
        "pk", "contract_id", "effective_from"
    )
    starts = []
    for pk, contract_id, effective_from in versions:
        client_id, zone = zone_of[contract_id]
        midnight = datetime.combine(effective_from, datetime.min.time(), tzinfo=ZoneInfo(zone))
        starts.append((client_id, int(midnight.timestamp()), pk))
    version_ids = [pk for _, _, pk in starts]
    calendars = {c.pk: c for c in Calendar.objects.filter(policy_id__in=version_ids)}
    targets, indexes, positions = [], [], {}
    for row in SlaTarget.objects.filter(policy_id__in=version_ids).values_list(
        "policy_id", "priority", "response_minutes", "resolution_minutes", "calendar_id"
    ):
        version_id, priority, response, resolution, calendar_id = row
        index = calendar_index(calendars[calendar_id], first_day, last_day)
        if id(index) not in positions:
            positions[id(index)] = len(indexes)
            indexes.append(index)
        targets.append(_Target(version_id, priority, response * 60, resolution * 60,
                               positions[id(index)]))  # fmt: skip
    return starts, targets, indexes


def clocks_compute_many(
    tickets: pl.DataFrame, contracts: dict[int, Contract], as_of: datetime
) -> pl.DataFrame:
    """Each ticket's clocks under the policy version of its client in force at its creation.

    Set-based over any number of clients: tickets meet their version by an as-of join on the
    creation instant, their target by priority, and every ticket running in the same calendar is
    timed in one call of the pure clock, whichever client it belongs to."""
    n = tickets.height
    out = {
        "id": tickets["id"].to_numpy(),
        "client_id": tickets["client_id"].to_numpy(),
        "policy_version_id": np.full(n, -1, dtype=np.int64),
        "response_seconds": np.full(n, -1, dtype=np.int64),
        "resolution_seconds": np.full(n, -1, dtype=np.int64),
        "response_target_seconds": np.full(n, -1, dtype=np.int64),
        "resolution_target_seconds": np.full(n, -1, dtype=np.int64),
        "response_verdict": np.full(n, NO_VERDICT, dtype=np.int8),  # codes, named at the end
        "resolution_verdict": np.full(n, NO_VERDICT, dtype=np.int8),
    }
    if n == 0:
        return _named(out, np.zeros(0, dtype=np.int8))
    # Whole years, so clients whose calendars read the same share one index (calendar_index).
    first_day = date((tickets["created_at"].min() - timedelta(days=2)).year, 1, 1)
    last_day = date(max(as_of.year, (tickets["resolved_at"].max() or as_of).year) + 1, 12, 31)
    starts, targets, indexes = _policies(contracts, first_day, last_day)
    created = _epoch(tickets["created_at"])
    version = _version_in_force(tickets, created, starts)
    reasons = _no_verdict_reasons(tickets, version, _customer_owned(contracts))
    target_of = pl.DataFrame(
        [(t.version_id, t.priority, t.response_seconds, t.resolution_seconds, t.calendar)
         for t in targets],
        schema={"version": pl.Int64, "priority": pl.String, "response_target": pl.Int64,
                "resolution_target": pl.Int64, "calendar": pl.Int64},
        orient="row",
    )  # fmt: skip
    matched = (
        pl.DataFrame({"version": version, "priority": tickets["priority"], "row": np.arange(n)})
        .join(target_of, on=["version", "priority"], how="left")
        .sort("row")
    )
    calendar_of = matched["calendar"].fill_null(-1).to_numpy().copy()  # polars' view is read-only
    calendar_of[reasons != 0] = -1
    response_target = matched["response_target"].fill_null(-1).to_numpy()
    resolution_target = matched["resolution_target"].fill_null(-1).to_numpy()
    as_of_s = int(as_of.timestamp())
    # Converted once for all tickets; each calendar's call takes its rows by index.
    first_response = _epoch(tickets["first_response_at"])
    resolved = _epoch(tickets["resolved_at"])
    paused = (tickets["paused_minutes"].fill_null(0) * 60).cast(pl.Int64).to_numpy()
    pauses = _intervals(tickets, "paused_intervals")
    reopen_gaps = _intervals(tickets, "reopen_gaps")
    for position, calendar in enumerate(indexes):
        rows = np.flatnonzero(calendar_of == position)
        if rows.size == 0:
            continue
        result = ticket_clocks(
            calendar,
            created=created[rows],
            first_response=first_response[rows],
            resolved=resolved[rows],
            response_target=response_target[rows],
            resolution_target=resolution_target[rows],
            pauses=pauses.subset(rows, n),
            reopen_gaps=reopen_gaps.subset(rows, n),
            paused_seconds_exported=paused[rows],
            as_of=as_of_s,
        )
        out["policy_version_id"][rows] = version[rows]
        out["response_seconds"][rows] = result.response_seconds
        out["resolution_seconds"][rows] = np.where(
            resolved[rows] < 0, -1, result.resolution_seconds
        )
        out["response_target_seconds"][rows] = response_target[rows]
        out["resolution_target_seconds"][rows] = resolution_target[rows]
        out["response_verdict"][rows] = result.response_code
        out["resolution_verdict"][rows] = result.resolution_code
    return _named(out, reasons)


NO_VERDICT = VERDICTS.index("")
REASONS = ("", "created before the first SLA policy", "customer-owned area", "unmapped priority",
           "excluded by the export", "cancelled or merged")  # fmt: skip


def _named(out: dict[str, np.ndarray], reasons: np.ndarray) -> pl.DataFrame:
    """The clock frame with verdict and reason codes turned into their words (in Rust)."""
    words = pl.Series(VERDICTS, dtype=pl.String)
    frame = pl.DataFrame({k: v for k, v in out.items() if not k.endswith("_verdict")})
    return frame.with_columns(
        response_verdict=words.gather(out["response_verdict"]),
        resolution_verdict=words.gather(out["resolution_verdict"]),
        no_verdict_reason=pl.Series(REASONS, dtype=pl.String).gather(reasons),
    )


def _version_in_force(tickets: pl.DataFrame, created: np.ndarray, starts: list) -> np.ndarray:
    """Per ticket, the id of its client's policy version in force at creation (-1: none)."""
    if not starts:
        return np.full(tickets.height, -1, dtype=np.int64)
    # By client, then start: the order version_in_force searches in.
    ordered = np.array(sorted(starts), dtype=np.int64)
    clients, begins, ids = ordered[:, 0], ordered[:, 1], ordered[:, 2]
    index = version_in_force(created, begins, tickets["client_id"].to_numpy(), clients)
    return np.where(index >= 0, ids[np.maximum(index, 0)], -1)


def _customer_owned(contracts: dict[int, Contract]) -> pl.DataFrame:
    """(client_id, category in lower case) of every customer-owned area in each client's
    current responsibility matrix: those tickets get no SLA verdict."""
    from contracts.models import ResponsibilityAssignment

    rows = []
    newest = {}
    for assignment in ResponsibilityAssignment.objects.filter(
        version__contract__in=list(contracts.values()), owner="customer"
    ).select_related("version__contract"):  # fmt: skip
        contract = assignment.version.contract
        newest[contract.pk] = max(newest.get(contract.pk, 0), assignment.version.number)
        rows.append((contract.client_id, contract.pk, assignment.version.number,
                     assignment.categories))  # fmt: skip
    owned = [
        (client_id, category.strip().lower())
        for client_id, contract_id, number, categories in rows
        if number == newest[contract_id] and _is_current(contracts, client_id, contract_id)
        for category in categories
    ]
    return pl.DataFrame(owned, schema={"client_id": pl.Int64, "category": pl.String},
                        orient="row")  # fmt: skip


def _is_current(contracts: dict[int, Contract], client_id: int, contract_id: int) -> bool:
    return contracts[client_id].pk == contract_id


def _no_verdict_reasons(
    tickets: pl.DataFrame, version: np.ndarray, customer_owned: pl.DataFrame
) -> np.ndarray:
    """Why a ticket gets no SLA verdict (kpis.md), as a code into REASONS (0: it gets one).
    The later reasons win: a cancelled ticket is "cancelled or merged" whatever else holds."""
    reasons = np.zeros(tickets.height, dtype=np.int8)
    reasons[version < 0] = REASONS.index("created before the first SLA policy")
    if customer_owned.height:
        owned = (
            tickets.select(pl.col("client_id").cast(pl.Int64),
                           category=pl.col("category").str.strip_chars().str.to_lowercase())
            .join(customer_owned.with_columns(owned=pl.lit(True)), on=["client_id", "category"],
                  how="left", maintain_order="left")["owned"]
            .fill_null(False)
        )  # fmt: skip
        reasons[owned.to_numpy()] = REASONS.index("customer-owned area")
    reasons[(tickets["priority"] == "").to_numpy()] = REASONS.index("unmapped priority")
    reasons[tickets["exclude_from_sla"].to_numpy()] = REASONS.index("excluded by the export")
    reasons[(tickets["state"] == "cancelled").to_numpy()] = REASONS.index("cancelled or merged")
    return reasons


CLOCK_VALUES = ["policy_version_id", "response_seconds", "resolution_seconds",
                "response_target_seconds", "resolution_target_seconds", "response_verdict",
                "resolution_verdict", "no_verdict_reason"]  # fmt: skip
_STORED_CLOCKS_SQL = """
COPY (SELECT ticket_id, {columns} FROM kpis_ticketclock WHERE client_id = ANY(%s))
TO STDOUT WITH (FORMAT csv, HEADER)
"""


def clocks_store(client_ids: list[int], clocks: pl.DataFrame) -> pl.Series:
    """Make the clients' stored clocks equal `clocks` (which has a client_id column), writing
    only what changed: a nightly recompute of a million tickets rewrites the few still open,
    not the million. A row's computed_at is when its values were last written. Returns the ids
    of the tickets whose clocks were written."""
    frame = clocks.with_columns(
        *[pl.when(pl.col(c) < 0).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("policy_version_id", "response_seconds", "resolution_seconds",
                    "response_target_seconds", "resolution_target_seconds")],
    ).rename({"id": "ticket_id"})  # fmt: skip
    stored = clocks_load(client_ids).with_columns(known=pl.lit(True))
    if stored.height:
        compared = frame.join(stored, on="ticket_id", how="left", suffix="_stored")
        differs = pl.col("known").is_null()  # not stored yet
        for column in CLOCK_VALUES:
            differs = differs | pl.col(column).ne_missing(pl.col(f"{column}_stored"))
        changed = compared.filter(differs).select(frame.columns)
        if compared["known"].sum() < stored.height:  # some stored clock has no ticket any more
            gone = stored.join(frame, on="ticket_id", how="anti")["ticket_id"]
        else:
            gone = pl.Series("ticket_id", [], dtype=pl.Int64)
    else:
        changed, gone = frame, pl.Series("ticket_id", [], dtype=pl.Int64)
    now = timezone.now().strftime("%Y-%m-%d %H:%M:%S+00")
    changed = changed.with_columns(computed_at=pl.lit(now))
    with connection.cursor() as cursor:
        if gone.len():
            cursor.execute("DELETE FROM kpis_ticketclock WHERE ticket_id = ANY(%s)",
                           [gone.to_list()])  # fmt: skip
        if changed.is_empty():
            return changed["ticket_id"]
        target = "kpis_ticketclock"
        if stored.height:  # upsert through a staging table
            cursor.execute("CREATE TEMP TABLE clock_staging (LIKE kpis_ticketclock) "
                           "ON COMMIT DROP")  # fmt: skip
            target = "clock_staging"
        buffer = io.BytesIO()
        changed.write_csv(buffer, include_header=False, null_value="\\N")
        buffer.seek(0)
        columns = ", ".join(changed.columns)
        cursor.cursor.copy_expert(
            f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
        )
        if target == "clock_staging":
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in changed.columns if c != "ticket_id")
            # Our own column names; no value is interpolated.
            cursor.execute(
                f"INSERT INTO kpis_ticketclock ({columns}) SELECT {columns} FROM clock_staging "  # noqa: S608
                f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}"
            )
            cursor.execute("DROP TABLE clock_staging")
    return changed["ticket_id"]


def clocks_load(client_ids: list[int]) -> pl.DataFrame:
    """The clients' stored clocks (ticket_id and CLOCK_VALUES); no verdict reads as ""."""
    buffer = io.BytesIO()
    query = _STORED_CLOCKS_SQL.format(columns=", ".join(CLOCK_VALUES))
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(cursor.mogrify(query, [list(client_ids)]).decode(), buffer)
    buffer.seek(0)
    schema = {"ticket_id": pl.Int64, **{c: pl.Int64 for c in CLOCK_VALUES[:5]},
              **{c: pl.String for c in CLOCK_VALUES[5:]}}  # fmt: skip
    return pl.read_csv(buffer, schema=schema).with_columns(
        pl.col(c).fill_null("") for c in CLOCK_VALUES[5:]
    )


def _commitments_kept(occurrences: list, period: Period, today: date) -> Figure:
    """Occurrences fulfilled on time with evidence where required / occurrences due."""
    due = [o for o in occurrences
           if period.first_day <= o.due_date < min(period.next_first_day, today)]  # fmt: skip
    kept = [o for o in due if o.status_on(today, o.evidence_count) == "kept"]
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
    clocks = clocks.drop("client_id", strict=False)
    if clocks["id"].equals(tickets["id"]):  # computed from these tickets: side by side already
        joined = tickets.hstack(clocks.drop("id").get_columns())
    else:
        joined = tickets.join(clocks, on="id", how="left")
    return joined.with_columns(
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


def _add_periods_of(only: dict[int, set[str]], tickets: pl.DataFrame, contracts) -> None:
    """Add the months (with their quarters and years) in which these tickets were created or
    resolved, in their contract's zone."""
    for (client_id,), part in tickets.partition_by("client_id", as_dict=True).items():
        zone = contracts[client_id].timezone
        stamps = pl.concat([part["created_at"], part["resolved_at"]]).drop_nulls()
        months = stamps.dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.strftime("%Y-%m")
        for month in months.unique().to_list():
            only.setdefault(client_id, set()).update(period_labels_of_month(month))


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
        "client_id", "starts", "id"
    ):  # fmt: skip
        # The latest contract of each client, ties broken by id as current_contract breaks them.
        contracts[contract.client_id] = contract
    client_ids = sorted(contracts)
    if not client_ids:
        return 0
    with transaction.atomic(), _without_cycle_collection():
        with connection.cursor() as cursor:
            for client_id in client_ids:  # in id order, so two recomputes never deadlock
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RECOMPUTE_LOCK, client_id])
        only = None if full else _requested_periods(client_ids, as_of)
        tickets = tickets_load(client_ids)
        clocks = clocks_compute_many(tickets, contracts, as_of)
        changed = clocks_store(client_ids, clocks)
        if only is not None:
            # Time moves open tickets from pending to breached: every period whose figures
            # count a ticket with a changed clock is recomputed too, so a snapshot and the
            # clocks its drill-down lists never disagree.
            _add_periods_of(only, tickets.filter(pl.col("id").is_in(changed.implode())), contracts)
        contexts = _contexts(list(contracts.values()), as_of)
        written = 0
        frame = kpi_inputs(tickets_with_clocks(kpi_inputs(tickets), clocks))
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
                )  # fmt: skip
            written += _snapshots_write(results, contexts, zone, as_of, zone_ids, only)
        RecomputeRequest.objects.filter(client_id__in=client_ids, requested_at__lte=as_of).delete()
    # Every import ends in a recompute: the place to refresh the statistics a large one spoiled.
    sql.analyze_if_stale(RECOMPUTED_TABLES)
    return written


def _snapshots_write(results, contexts, zone, as_of, client_ids, only) -> int:
    """Store the computed snapshots, writing only those whose content changed (the others get
    the new computed_at); drop those of periods that no longer have tickets. Returns the number
    of snapshots computed."""
    rows = []
    for result in results:
        period = Period.parse(result.period, zone)
        data = _snapshot_data(result.figures, result.breakdowns, contexts[result.client_id],
                              period, as_of)  # fmt: skip
        # Built in a fixed order by the same code, so equal content gives equal text.
        texts = [json.dumps(data[k], separators=(",", ":"), allow_nan=False)
                 for k in ("values", "figures", "breakdowns")]  # fmt: skip
        digest = hashlib.md5("\n".join(texts).encode(), usedforsecurity=False).hexdigest()
        rows.append((result.client_id, period.label, period.kind, period.first_day.isoformat(),
                     *texts, digest))  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_id, period_label, content_hash FROM kpis_kpisnapshot "
            "WHERE client_id = ANY(%s)",
            [list(client_ids)],
        )
        stored = {(c, p): h for c, p, h in cursor.fetchall()}
        changed = [r for r in rows if stored.get((r[0], r[1])) != r[-1]]
        same = [r for r in rows if stored.get((r[0], r[1])) == r[-1]]
        if changed:
            _snapshots_upsert(cursor, changed, as_of)
        if same:
            cursor.execute(
                "UPDATE kpis_kpisnapshot s SET computed_at = %s FROM unnest(%s::bigint[], "
                "%s::text[]) AS k(client_id, period_label) "
                "WHERE s.client_id = k.client_id AND s.period_label = k.period_label",
                [as_of, [r[0] for r in same], [r[1] for r in same]],
            )
        # Periods of these clients that no longer have tickets (a partial recompute answers
        # only for the periods it was asked about).
        asked = [(c, p) for c, labels in (only or {}).items() for p in labels]
        cursor.execute(
            "DELETE FROM kpis_kpisnapshot s WHERE s.client_id = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM unnest(%s::bigint[], %s::text[]) AS k(c, p) "
            "                WHERE k.c = s.client_id AND k.p = s.period_label) "
            "AND (%s OR EXISTS (SELECT 1 FROM unnest(%s::bigint[], %s::text[]) AS a(c, p) "
            "                   WHERE a.c = s.client_id AND a.p = s.period_label))",
            [list(client_ids), [r[0] for r in rows], [r[1] for r in rows], only is None,
             [c for c, _ in asked], [p for _, p in asked]],
        )  # fmt: skip
    return len(rows)


def _snapshots_upsert(cursor, rows: list[tuple], as_of: datetime) -> None:
    """COPY the snapshots' JSON text into a staging table, then one upsert: PostgreSQL parses
    the JSON once, and no per-row statement is sent."""
    cursor.execute(
        "CREATE TEMP TABLE snapshot_staging (client_id bigint, period_label text, "
        "period_kind text, period_start date, vals text, figures text, breakdowns text, "
        "content_hash text) ON COMMIT DROP"
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    buffer.seek(0)
    cursor.cursor.copy_expert("COPY snapshot_staging FROM STDIN WITH (FORMAT csv)", buffer)
    cursor.execute(
        "INSERT INTO kpis_kpisnapshot (client_id, period_label, period_kind, period_start, "
        "values, figures, breakdowns, content_hash, computed_at) "
        "SELECT client_id, period_label, period_kind, period_start, vals::jsonb, "
        "figures::jsonb, breakdowns::jsonb, content_hash, %s FROM snapshot_staging "
        "ON CONFLICT (client_id, period_label) DO UPDATE SET period_kind = EXCLUDED.period_kind, "
        "period_start = EXCLUDED.period_start, values = EXCLUDED.values, "
        "figures = EXCLUDED.figures, breakdowns = EXCLUDED.breakdowns, "
        "content_hash = EXCLUDED.content_hash, computed_at = EXCLUDED.computed_at",
        [as_of],
    )
    cursor.execute("DROP TABLE snapshot_staging")


def kpis_recompute(
    client: Organisation, *, as_of: datetime | None = None, full: bool = True
) -> int:
    """Recompute one client (see kpis_recompute_clients)."""
    return kpis_recompute_clients([client], as_of=as_of, full=full)
