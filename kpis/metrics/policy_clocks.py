"""Each ticket's SLA clocks under its client's policy version in force at its creation: reads
the policy versions, targets, calendars and customer-owned areas, and times every ticket that
runs in the same calendar in one call of the pure clock (clock.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import numpy as np
import polars as pl

from contracts.models import Contract, SlaPolicyVersion
from kpis.metrics.clock import (
    VERDICTS,
    CalendarIndex,
    CalendarSpec,
    Intervals,
    ticket_clocks,
    version_in_force,
)
from kpis.metrics.history import intervals_json, merged_pauses, pauses_from_history


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
    key = (
        calendar.is_24x7,
        calendar.timezone,
        repr(calendar.weekly_hours),
        calendar.holiday_country,
        calendar.holiday_subdivision,
        tuple(calendar.extra_holidays),
        first_day,
        last_day,
    )
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
    # Only versions both sides agreed decide verdicts (contracts/services/agreement.py).
    starts = _starts(SlaPolicyVersion, zone_of)
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
        targets.append(
            _Target(version_id, priority, response * 60, resolution * 60, positions[id(index)])
        )
    return starts, targets, indexes


def _starts(model, zone_of: dict[int, tuple[int, str]]) -> list[tuple[int, int, int]]:
    """(client_id, start epoch, version id) of every agreed version in force of the contracts,
    starting at midnight of its effective date in the contract's zone."""
    from contracts.models.agreement import Agreed

    starts = []
    for pk, contract_id, effective_from in model.objects.filter(
        Agreed.in_force_q(), contract_id__in=list(zone_of)
    ).values_list("pk", "contract_id", "effective_from"):
        client_id, zone = zone_of[contract_id]
        midnight = datetime.combine(effective_from, datetime.min.time(), tzinfo=ZoneInfo(zone))
        starts.append((client_id, int(midnight.timestamp()), pk))
    return starts


def clocks_compute_many(
    tickets: pl.DataFrame,
    contracts: dict[int, Contract],
    as_of: datetime,
    histories: pl.DataFrame | None = None,
    pauses_removed: Intervals | None = None,
) -> pl.DataFrame:
    """Each ticket's clocks under the policy version of its client in force at its creation.

    Set-based over any number of clients: tickets meet their version by an as-of join on the
    creation instant, their target by priority, and every ticket running in the same calendar is
    timed in one call of the pure clock, whichever client it belongs to.

    `histories` (metrics/store.py `histories_load`): the stored updates of event-log tickets,
    whose pauses are folded again under that version's pause states; the frame then carries
    `paused_intervals_now`, the JSON those tickets' pauses now read (null for the others).

    `pauses_removed`: intervals (by row of `tickets`) the clock must not take, as accepted
    disputes agreed (metrics/adjustments.py); only the agreed figures' clocks pass them."""
    n = tickets.height
    out = {
        "id": tickets["id"].to_numpy(),
        "client_id": tickets["client_id"].to_numpy(),
        "policy_version_id": np.full(n, -1, dtype=np.int64),
        "matrix_version_id": np.full(n, -1, dtype=np.int64),
        "response_seconds": np.full(n, -1, dtype=np.int64),
        "resolution_seconds": np.full(n, -1, dtype=np.int64),
        "response_target_seconds": np.full(n, -1, dtype=np.int64),
        "resolution_target_seconds": np.full(n, -1, dtype=np.int64),
        "resolution_breached_at": np.full(n, -1, dtype=np.int64),  # epoch seconds
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
    matrix = _matrix_in_force(tickets, created, contracts)
    out["matrix_version_id"] = matrix
    reasons = _no_verdict_reasons(tickets, version, matrix, _customer_owned(matrix))
    target_of = pl.DataFrame(
        [
            (t.version_id, t.priority, t.response_seconds, t.resolution_seconds, t.calendar)
            for t in targets
        ],
        schema={
            "version": pl.Int64,
            "priority": pl.String,
            "response_target": pl.Int64,
            "resolution_target": pl.Int64,
            "calendar": pl.Int64,
        },
        orient="row",
    )
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
    # A total of unknown kind (imported before the kind was kept) reads as calendar time.
    paused_calendar = (
        (tickets["paused_time"] != "business").fill_null(True).to_numpy()
        if "paused_time" in tickets.columns
        else np.ones(n, dtype=bool)
    )
    pauses = _intervals(tickets, "paused_intervals")
    refolded = None
    if histories is not None and histories.height:
        refolded = pauses_from_history(
            histories, tickets["id"].to_numpy(), version, _pause_states(version)
        )
        pauses = merged_pauses(pauses, refolded)
    if pauses_removed is not None:
        pauses = pauses.without(pauses_removed)
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
            paused_exported_calendar=paused_calendar[rows],
        )
        out["policy_version_id"][rows] = version[rows]
        out["response_seconds"][rows] = result.response_seconds
        out["resolution_seconds"][rows] = np.where(
            resolved[rows] < 0, -1, result.resolution_seconds
        )
        out["response_target_seconds"][rows] = response_target[rows]
        out["resolution_target_seconds"][rows] = resolution_target[rows]
        if result.paused_too_long is not None and result.paused_too_long.any():
            # No resolution verdict and no resolution time: the total cannot be (kpis.md).
            too_long = rows[result.paused_too_long]
            reasons[too_long] = REASONS.index("paused longer than open")
            out["resolution_seconds"][too_long] = -1
        out["response_verdict"][rows] = result.response_code
        out["resolution_verdict"][rows] = result.resolution_code
        if result.resolution_breached_at is not None:
            out["resolution_breached_at"][rows] = result.resolution_breached_at
    clocks = _named(out, reasons)
    if refolded is not None:
        rows = np.flatnonzero(refolded.has_history)
        now: list[str | None] = [None] * n
        for row, text in zip(rows.tolist(), intervals_json(refolded.intervals, rows), strict=True):
            now[row] = text
        clocks = clocks.with_columns(paused_intervals_now=pl.Series(now, dtype=pl.String))
    return clocks


def _pause_states(version: np.ndarray) -> dict[int, list[str]]:
    """The pause states each policy version in use lists, keyed as statuses are compared."""
    from kpis.imports.ingest.presets import value_key

    ids = [int(v) for v in np.unique(version) if v >= 0]
    return {
        pk: [value_key(state) for state in states]
        for pk, states in SlaPolicyVersion.objects.filter(pk__in=ids).values_list(
            "pk", "pause_states"
        )
    }


NO_VERDICT = VERDICTS.index("")

REASONS = (
    "",
    "created before the first SLA policy",
    "customer-owned area",
    "unmapped priority",
    "excluded by the export",
    "cancelled or merged",
    "paused longer than open",
)


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


def _matrix_in_force(
    tickets: pl.DataFrame, created: np.ndarray, contracts: dict[int, Contract]
) -> np.ndarray:
    """Per ticket, the agreed responsibility-matrix version in force at its creation (-1: none):
    a version nobody approved, or one superseded, decides nothing."""
    from contracts.models import ResponsibilityMatrixVersion

    zone_of = {c.pk: (client_id, c.timezone) for client_id, c in contracts.items()}
    return _version_in_force(tickets, created, _starts(ResponsibilityMatrixVersion, zone_of))


def _customer_owned(matrix: np.ndarray) -> pl.DataFrame:
    """(matrix version id, category in lower case) of every customer-owned area of the matrix
    versions in force for these tickets: those tickets get no SLA verdict."""
    from contracts.models import ResponsibilityAssignment

    ids = [int(v) for v in np.unique(matrix) if v >= 0]
    owned = [
        (version_id, category.strip().lower())
        for version_id, categories in ResponsibilityAssignment.objects.filter(
            version_id__in=ids, owner="customer"
        ).values_list("version_id", "categories")
        for category in categories
    ]
    return pl.DataFrame(
        owned, schema={"matrix": pl.Int64, "category": pl.String}, orient="row"
    ).unique()


def _no_verdict_reasons(
    tickets: pl.DataFrame, version: np.ndarray, matrix: np.ndarray, customer_owned: pl.DataFrame
) -> np.ndarray:
    """Why a ticket gets no SLA verdict (kpis.md), as a code into REASONS (0: it gets one).
    The later reasons win: a cancelled ticket is "cancelled or merged" whatever else holds."""
    reasons = np.zeros(tickets.height, dtype=np.int8)
    reasons[version < 0] = REASONS.index("created before the first SLA policy")
    if customer_owned.height:
        owned = (
            pl.DataFrame(
                {
                    "matrix": matrix,
                    "category": tickets["category"].str.strip_chars().str.to_lowercase(),
                }
            )
            .join(
                customer_owned.with_columns(owned=pl.lit(True)),
                on=["matrix", "category"],
                how="left",
                maintain_order="left",
            )["owned"]
            .fill_null(False)
        )
        reasons[owned.to_numpy()] = REASONS.index("customer-owned area")
    reasons[(tickets["priority"] == "").to_numpy()] = REASONS.index("unmapped priority")
    reasons[tickets["exclude_from_sla"].to_numpy()] = REASONS.index("excluded by the export")
    reasons[(tickets["state"] == "cancelled").to_numpy()] = REASONS.index("cancelled or merged")
    return reasons


def tickets_with_clocks(tickets: pl.DataFrame, clocks: pl.DataFrame) -> pl.DataFrame:
    """The tickets with their clock results in minutes, as the KPI formulas read them."""
    clocks = clocks.drop("client_id", strict=False)
    if clocks["id"].equals(tickets["id"]):  # computed from these tickets: side by side already
        joined = tickets.hstack(clocks.drop("id").get_columns())
    else:
        joined = tickets.join(clocks, on="id", how="left")
    return joined.with_columns(
        response_minutes=pl.when(pl.col("response_seconds") >= 0).then(
            pl.col("response_seconds") / 60
        ),
        resolution_minutes=pl.when(pl.col("resolution_seconds") >= 0).then(
            pl.col("resolution_seconds") / 60
        ),
        # Epoch seconds (-1 or null: none) → an instant like created_at.
        resolution_breached_at=pl.when(pl.col("resolution_breached_at") >= 0).then(
            pl.from_epoch("resolution_breached_at", time_unit="s").cast(pl.Datetime("us"))
        ),
    )
