"""Recompute a client's SLA clocks and KPI snapshots from its stored tickets.

Reads tickets set-based (COPY TO into polars), evaluates the pure clock per policy version and
calendar, writes every ticket's clock, then one snapshot per month, quarter and year. Runs under
the client's recompute lock, so two recomputes of one client never interleave; running it again
gives the same rows (idempotent).
"""

from __future__ import annotations

import io
from collections import defaultdict
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
from kpis.formulas import Figure, OutageWindow, Period, kpis_compute, uptime_figure
from kpis.models import KpiSnapshot, Outage, RecomputeRequest

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
BREAKDOWN_KEYS = ["tickets.created", "response.compliance", "resolution.compliance",
                  "resolution.mean_minutes", "first_time_fix_rate"]  # fmt: skip

_TICKET_SQL = """
COPY (SELECT id, created_at, first_response_at, resolved_at, kind, priority, origin, category,
             configuration_item, requester, title, tier, escalated_at, reopen_count,
             reassignment_count, state, paused_intervals::text, reopen_gaps::text,
             paused_minutes, exclude_from_sla
      FROM kpis_ticket WHERE client_id = %s ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)
"""
_TICKET_SCHEMA = {
    "id": pl.Int64, "created_at": pl.String, "first_response_at": pl.String,
    "resolved_at": pl.String, "kind": pl.String, "priority": pl.String, "origin": pl.String,
    "category": pl.String, "configuration_item": pl.String, "requester": pl.String,
    "title": pl.String, "tier": pl.Int16, "escalated_at": pl.String, "reopen_count": pl.Int64,
    "reassignment_count": pl.Int64, "state": pl.String, "paused_intervals": pl.String,
    "reopen_gaps": pl.String, "paused_minutes": pl.Float64, "exclude_from_sla": pl.String,
}  # fmt: skip
_STAMPS = ["created_at", "first_response_at", "resolved_at", "escalated_at"]


def tickets_load(client_id: int) -> pl.DataFrame:
    """The client's tickets as a frame; instants as naive UTC datetimes."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(cursor.mogrify(_TICKET_SQL, [client_id]).decode(), buffer)
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
    reasons = _no_verdict_reasons(tickets, version_index)
    out["no_verdict_reason"] = reasons
    first_day = (tickets["created_at"].min() - timedelta(days=2)).date()
    last_day = max(as_of.date(), (tickets["resolved_at"].max() or as_of).date()) + timedelta(366)
    years = range(first_day.year, last_day.year + 1)
    as_of_s = int(as_of.timestamp())
    for v_index, version in enumerate(versions):
        calendars = {c.key: CalendarIndex(_calendar_spec(c, years), first_day, last_day)
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


def _no_verdict_reasons(tickets: pl.DataFrame, version_index: np.ndarray) -> np.ndarray:
    """Why a ticket gets no SLA verdict (kpis.md), or "" when it gets one."""
    reasons = np.full(tickets.height, "", dtype=object)
    reasons[version_index < 0] = "created before the first SLA policy"
    reasons[tickets["priority"].to_numpy() == ""] = "unmapped priority"
    reasons[tickets["exclude_from_sla"].to_numpy()] = "excluded by the export"
    reasons[tickets["state"].to_numpy() == "cancelled"] = "cancelled or merged"
    return reasons


def clocks_store(client_id: int, clocks: pl.DataFrame) -> None:
    """Replace the client's stored clocks (COPY: a million rows in seconds)."""
    now = timezone.now().strftime("%Y-%m-%d %H:%M:%S+00")
    frame = clocks.with_columns(
        *[pl.when(pl.col(c) < 0).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("policy_version_id", "response_seconds", "resolution_seconds",
                    "response_target_seconds", "resolution_target_seconds")],
        client_id=pl.lit(client_id),
        computed_at=pl.lit(now),
    ).rename({"id": "ticket_id"})  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM kpis_ticketclock WHERE client_id = %s", [client_id])
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, null_value="\\N")
        buffer.seek(0)
        cursor.cursor.copy_expert(
            f"COPY kpis_ticketclock ({', '.join(frame.columns)}) FROM STDIN "
            "WITH (FORMAT csv, NULL '\\N')",
            buffer,
        )


def _periods(tickets: pl.DataFrame, zone: str) -> list[Period]:
    """Every month, quarter and year in which a ticket was created or resolved."""
    stamps = pl.concat([tickets["created_at"], tickets["resolved_at"]]).drop_nulls()
    if stamps.is_empty():
        return []
    local = stamps.dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
    months = sorted(set(local.dt.strftime("%Y-%m").to_list()))
    labels = set(months)
    labels |= {f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in months}
    labels |= {m[:4] for m in months}
    return [Period.parse(label, zone) for label in sorted(labels)]


def _commitments_kept(contract: Contract, period: Period, today: date) -> Figure:
    """Occurrences fulfilled on time with evidence where required / occurrences due."""
    due = list(
        CommitmentOccurrence.objects.filter(
            commitment__contract=contract,
            due_date__gte=period.first_day,
            due_date__lt=min(period.next_first_day, today),
        )
        .select_related("commitment")
        .prefetch_related("evidence")
    )
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
    breach_key = contract.credit_measure.split(".")[0] + ".sla_breached"
    breaches = figures[breach_key].tickets if breach_key in figures else []
    return Figure(
        {"percent": float(percent), "amount": float(amount), "currency": contract.currency,
         "measure": contract.credit_measure, "measured": measure.value},
        float(amount), None, breaches,
        f"{contract.credit_measure} {measure.value:.1%} against the contract's tiers",
    )  # fmt: skip


def _uptime(contract: Contract, period: Period, as_of: datetime) -> Figure:
    version = contract.sla_versions.order_by("-effective_from").first()
    targets = {u.service: float(u.target) for u in version.uptime_targets.all()} if version else {}
    windows = [
        OutageWindow(o.service, _naive_utc(o.started_at), o.ended_at and _naive_utc(o.ended_at),
                     o.planned)
        for o in Outage.objects.filter(client=contract.client, started_at__lt=_aware(period.end))
        .exclude(ended_at__lte=_aware(period.start))
    ]  # fmt: skip
    return uptime_figure(windows, targets, period, _naive_utc(as_of))


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=ZoneInfo("UTC"))


def tickets_with_clocks(tickets: pl.DataFrame, clocks: pl.DataFrame) -> pl.DataFrame:
    """The tickets with their clock results in minutes, as the KPI formulas read them."""
    return tickets.join(clocks, on="id", how="left").with_columns(
        response_minutes=pl.when(pl.col("response_seconds") >= 0)
        .then(pl.col("response_seconds") / 60),
        resolution_minutes=pl.when(pl.col("resolution_seconds") >= 0)
        .then(pl.col("resolution_seconds") / 60),
    )  # fmt: skip


def snapshot_build(
    frame: pl.DataFrame,
    contract: Contract,
    period: Period,
    *,
    today: date,
    as_of: datetime,
    window: int,
) -> dict:
    """Values, figures and breakdowns of one period, from `tickets_with_clocks`."""
    figures = kpis_compute(frame, period, seats=contract.seats or None, repeat_window_days=window)
    figures["uptime"] = _uptime(contract, period, as_of)
    figures["commitments.kept_rate"] = _commitments_kept(contract, period, today)
    figures["service_credits"] = _service_credits(contract, figures, period)
    breakdowns: dict[str, dict] = defaultdict(dict)
    for column in ("priority", "category", "origin"):
        for value in sorted(v for v in frame[column].unique().to_list() if v):
            part = kpis_compute(frame.filter(pl.col(column) == value), period,
                                seats=None, repeat_window_days=window)  # fmt: skip
            if part["tickets.created"].value or part["tickets.resolved"].value:
                breakdowns[column][value] = {k: part[k].value for k in BREAKDOWN_KEYS}
    return {
        "values": {k: figures[k].value for k in KEYS_IN_ORDER},
        "figures": {k: figures[k].to_json() for k in KEYS_IN_ORDER},
        "breakdowns": dict(breakdowns),
    }


def kpis_recompute(client: Organisation, *, as_of: datetime | None = None) -> int:
    """Recompute every clock and snapshot of the client; returns the number of snapshots."""
    as_of = as_of or timezone.now()
    contract = (
        Contract.objects.filter(client=client).select_related("client").order_by("-starts").first()
    )
    if contract is None:
        return 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RECOMPUTE_LOCK, client.pk])
        tickets = tickets_load(client.pk)
        clocks = clocks_compute(tickets, contract, as_of)
        clocks_store(client.pk, clocks)
        today = as_of.astimezone(ZoneInfo(contract.timezone)).date()
        periods = _periods(tickets, contract.timezone)
        # Built once for all periods: the join and the policy do not change between them.
        frame = tickets_with_clocks(tickets, clocks)
        policy = contract.sla_versions.order_by("-effective_from").first()
        window = policy.repeat_window_days if policy else 30
        KpiSnapshot.objects.filter(client=client).exclude(
            period_label__in=[p.label for p in periods]
        ).delete()
        for period in periods:
            data = snapshot_build(frame, contract, period, today=today, as_of=as_of, window=window)
            KpiSnapshot.objects.update_or_create(
                client=client,
                period_label=period.label,
                defaults={"period_kind": period.kind, "period_start": period.first_day,
                          "computed_at": as_of, **data},
            )  # fmt: skip
        RecomputeRequest.objects.filter(client=client, requested_at__lte=as_of).delete()
    return len(periods)
