"""Every ticket KPI of ../shared/spec/kpis.md for one client and period. Pure: a polars frame of
the client's tickets (with their clock results) in, figures out, each with its numerator,
denominator and the ids of the tickets behind it, so every number drills down.

Which period a ticket counts in (kpis.md): creation-based figures (volume, response, proactive
ratio, repeat incidents, escalation) by creation time; resolution-based figures (resolution time
and compliance, first-time fix, reopen rate, resolved at tier) by resolution time. Choices the
spec leaves open, made here and shown in the figure's note:
- "incidents" are tickets of kind incident or alert (an alert is an incident found by
  monitoring);
- resolution pending = tickets created in the period, still open and within target as of the
  computation;
- time to escalate is wall-clock minutes from creation to escalation;
- a ticket cancelled, merged or excluded has no SLA verdict but still counts in volumes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl

INCIDENT_KINDS = ["incident", "alert"]
DONE = ["resolved", "closed"]


@dataclass(frozen=True)
class Period:
    """A month, quarter or year in the contract's zone, as a half-open UTC range."""

    kind: str  # month | quarter | year
    label: str  # 2025-07 | 2025-Q3 | 2025
    first_day: date
    next_first_day: date
    start: datetime  # UTC, naive
    end: datetime

    @classmethod
    def parse(cls, label: str, zone: str) -> Period:
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", label):
            year, quarter = int(m[1]), int(m[2])
            first, months, kind = date(year, 3 * quarter - 2, 1), 3, "quarter"
        elif m := re.fullmatch(r"(\d{4})-(\d{2})", label):
            first, months, kind = date(int(m[1]), int(m[2]), 1), 1, "month"
        elif m := re.fullmatch(r"(\d{4})", label):
            first, months, kind = date(int(m[1]), 1, 1), 12, "year"
        else:
            raise ValueError(f"'{label}' is not a period like 2025-07, 2025-Q3 or 2025")
        total = first.month - 1 + months
        following = date(first.year + total // 12, total % 12 + 1, 1)
        return cls(kind, label, first, following, _utc(first, zone), _utc(following, zone))


def _utc(day: date, zone: str) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@dataclass
class Figure:
    """One KPI value with what it is made of."""

    value: float | int | dict | None
    numerator: float | int | None = None
    denominator: int | None = None
    tickets: list[int] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict:
        return {
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "tickets": self.tickets,
            "note": self.note,
        }


def _ids(frame: pl.DataFrame) -> list[int]:
    return frame["id"].to_list()


def _rate(numerator: pl.DataFrame, denominator: pl.DataFrame, note: str = "") -> Figure:
    n, d = numerator.height, denominator.height
    return Figure(n / d if d else None, n, d, _ids(numerator), note)


def _stats(frame: pl.DataFrame, column: str, prefix: str) -> dict[str, Figure]:
    values = frame[column].drop_nulls()
    ids = _ids(frame.filter(pl.col(column).is_not_null()))
    empty = values.len() == 0
    mean = None if empty else float(values.mean())
    median = None if empty else float(values.median())
    # p90: the nearest-rank 90th percentile (a value some ticket really had).
    p90 = None if empty else float(values.quantile(0.9, interpolation="higher"))
    count = values.len()
    return {
        f"{prefix}.mean_minutes": Figure(mean, None if empty else float(values.sum()), count, ids),
        f"{prefix}.median_minutes": Figure(median, None, count, ids),
        f"{prefix}.p90_minutes": Figure(p90, None, count, ids, "nearest-rank 90th percentile"),
    }


def _compliance(frame: pl.DataFrame, verdict: str, prefix: str) -> dict[str, Figure]:
    met = frame.filter(pl.col(verdict) == "met")
    breached = frame.filter(pl.col(verdict) == "breached")
    pending = frame.filter(pl.col(verdict) == "pending")
    judged = pl.concat([met, breached])
    return {
        f"{prefix}.sla_met": Figure(met.height, tickets=_ids(met)),
        f"{prefix}.sla_breached": Figure(breached.height, tickets=_ids(breached)),
        f"{prefix}.sla_pending": Figure(pending.height, tickets=_ids(pending)),
        f"{prefix}.compliance": _rate(met, judged, "met / (met + breached)"),
    }


def fingerprints(tickets: pl.DataFrame) -> pl.Series:
    """Configuration item + category when the item is known, else requester + category, else
    category + normalised title (kpis.md)."""
    title = (
        tickets["title"]
        .str.to_lowercase()
        .str.replace_all(r"\d+", "#")
        .str.replace_all(r"[^a-z#]+", " ")
        .str.strip_chars()
    )
    return pl.select(
        pl.when(tickets["configuration_item"] != "")
        .then(pl.lit("ci:") + tickets["configuration_item"].str.to_lowercase() + "|"
              + tickets["category"].str.to_lowercase())
        .when(tickets["requester"] != "")
        .then(pl.lit("user:") + tickets["requester"].str.to_lowercase() + "|"
              + tickets["category"].str.to_lowercase())
        .otherwise(pl.lit("title:") + tickets["category"].str.to_lowercase() + "|" + title)
    ).to_series().rename("fingerprint")  # fmt: skip


def repeat_flags(tickets: pl.DataFrame, window_days: int) -> pl.DataFrame:
    """Incidents with their fingerprint and whether an earlier incident of the same fingerprint
    was created within the window before them."""
    incidents = tickets.filter(pl.col("kind").is_in(INCIDENT_KINDS))
    incidents = incidents.with_columns(fingerprints(incidents)).sort("fingerprint", "created_at")
    previous = pl.col("created_at").shift(1).over("fingerprint")
    return incidents.with_columns(
        repeat=(pl.col("created_at") - previous).dt.total_seconds().fill_null(10**12)
        <= window_days * 86400
    )


def kpis_compute(
    tickets: pl.DataFrame, period: Period, *, seats: int | None, repeat_window_days: int
) -> dict[str, Figure]:
    """Every ticket KPI for the period. `tickets` holds all of the client's tickets (history
    matters for backlogs and repeats), with the clock results as columns."""
    in_period = (pl.col("created_at") >= period.start) & (pl.col("created_at") < period.end)
    resolved_in = (pl.col("resolved_at") >= period.start) & (pl.col("resolved_at") < period.end)
    created = tickets.filter(in_period)
    resolved = tickets.filter(resolved_in.fill_null(False))
    open_at_end = tickets.filter(
        (pl.col("created_at") < period.end)
        & (pl.col("resolved_at").is_null() | (pl.col("resolved_at") >= period.end))
        & (pl.col("state") != "cancelled")
    )
    figures: dict[str, Figure] = {
        "tickets.created": Figure(created.height, tickets=_ids(created)),
        "tickets.resolved": Figure(resolved.height, tickets=_ids(resolved)),
        "tickets.open_at_end": Figure(open_at_end.height, tickets=_ids(open_at_end)),
        "tickets.per_seat": Figure(
            created.height / seats if seats else None,
            created.height,
            seats,
            _ids(created),
            "created / seats in the contract",
        ),
    }
    figures |= _stats(created, "response_minutes", "response")
    figures |= _compliance(created, "response_verdict", "response")
    figures |= _stats(resolved, "resolution_minutes", "resolution")
    resolution = _compliance(resolved, "resolution_verdict", "resolution")
    pending = created.filter(pl.col("resolution_verdict") == "pending")
    resolution["resolution.sla_pending"] = Figure(
        pending.height, tickets=_ids(pending), note="created in the period, open, within target"
    )
    figures |= resolution

    first_fix = resolved.filter(
        (pl.col("reopen_count").fill_null(0) == 0)
        & (pl.col("tier").fill_null(1) <= 1)
        & (pl.col("reassignment_count").fill_null(0) == 0)
    )
    figures["first_time_fix_rate"] = _rate(
        first_fix, resolved, "never reopened, escalated or reassigned / resolved"
    )
    repeats = repeat_flags(tickets, repeat_window_days).filter(in_period)
    figures["repeat_incident_rate"] = _rate(
        repeats.filter(pl.col("repeat")), repeats,
        f"incidents repeating one of the last {repeat_window_days} days / incidents",
    )  # fmt: skip
    figures["repeat_clusters"] = _clusters(repeats)
    incidents = created.filter(pl.col("kind").is_in(INCIDENT_KINDS))
    known = incidents.filter(pl.col("origin") != "")
    figures["proactive_ratio"] = _rate(
        known.filter(pl.col("origin") == "proactive"), known,
        "proactive incidents / incidents with a known origin",
    )  # fmt: skip
    figures["reopen_rate"] = _rate(
        resolved.filter(pl.col("reopen_count").fill_null(0) > 0), resolved
    )
    escalated = created.filter(pl.col("tier").fill_null(1) > 1)
    figures["escalation.rate"] = _rate(escalated, created, "went above tier 1 / tickets")
    timed = created.filter(pl.col("escalated_at").is_not_null())
    minutes = (timed["escalated_at"] - timed["created_at"]).dt.total_seconds() / 60
    figures["escalation.mean_minutes_to_escalate"] = Figure(
        float(minutes.mean()) if timed.height else None,
        float(minutes.sum()) if timed.height else None,
        timed.height, _ids(timed), "wall-clock minutes, where the export says when",
    )  # fmt: skip
    tiered = resolved.filter(pl.col("tier").is_not_null())
    shares = {
        str(t): tiered.filter(pl.col("tier") == t).height / tiered.height if tiered.height else None
        for t in (1, 2, 3)
    }
    figures["escalation.resolved_at_tier"] = Figure(
        shares, None, tiered.height, _ids(tiered), "share of resolved tickets by highest tier"
    )
    excluded = created.filter(pl.col("no_verdict_reason") != "")
    counts = dict(
        excluded.group_by("no_verdict_reason").len().sort("no_verdict_reason").iter_rows()
    )
    figures["excluded"] = Figure(counts, None, excluded.height, _ids(excluded),
                                 "tickets without an SLA verdict, by reason")  # fmt: skip
    return figures


def _clusters(repeats: pl.DataFrame) -> Figure:
    """Fingerprints with repeats in the period: the recurring risks of a review."""
    with_repeat = repeats.filter(pl.col("repeat"))["fingerprint"].unique()
    members = repeats.filter(pl.col("fingerprint").is_in(with_repeat.implode()))
    clusters = (
        members.group_by("fingerprint")
        .agg(
            pl.len().alias("count"),
            pl.col("created_at").min().alias("first"),
            pl.col("created_at").max().alias("last"),
            pl.col("id").alias("tickets"),
        )
        .sort(["count", "fingerprint"], descending=[True, False])
    )
    value = [
        {"fingerprint": f, "count": c, "first": a.isoformat() + "Z", "last": b.isoformat() + "Z",
         "tickets": ids}
        for f, c, a, b, ids in clusters.iter_rows()
    ]  # fmt: skip
    return Figure(value, None, len(value), _ids(members), "fingerprints with repeats")


@dataclass(frozen=True)
class OutageWindow:
    """A service down from `start` to `end` (UTC, naive; end None while still down)."""

    service: str
    start: datetime
    end: datetime | None
    planned: bool = False


def uptime_figure(
    outages: list[OutageWindow], targets: dict[str, float], period: Period, as_of: datetime
) -> Figure:
    """Per service: 1 − unplanned outage time in the period / the period's length (kpis.md).
    Overlapping windows count once; a window still open runs to the period's end or now."""
    period_seconds = (period.end - period.start).total_seconds()
    services = sorted(set(targets) | {o.service for o in outages})
    value = {}
    for service in services:
        spans = sorted(
            (max(o.start, period.start), min(o.end or as_of, period.end))
            for o in outages
            if o.service == service and not o.planned
        )
        down, reach = 0.0, period.start
        for start, end in spans:
            start = max(start, reach)
            if end > start:
                down += (end - start).total_seconds()
                reach = end
        uptime = 1 - down / period_seconds
        target = targets.get(service)
        value[service] = {
            "value": uptime,
            "target": target,
            "met": None if target is None else uptime >= target,
            "outage_minutes": down / 60,
        }
    return Figure(
        value, None, None, [],
        "1 − unplanned outage minutes in the period / minutes in the period",
    )  # fmt: skip
