"""Every ticket KPI of docs/kpis.md, for many clients and periods at once. Pure: a polars frame
of tickets (with their clock results) in, figures out.

Each figure's rule is defined once, in registry.py: the basis it counts over and polars
conditions for its denominator and numerator. The same rule drives the aggregation here (every
client and period in one group-by) and the drill-down (`figure_tickets`: exactly the tickets
behind a figure), so the two cannot disagree.

Which period a ticket counts in (docs/kpis.md): creation-based figures (volume, response,
proactive ratio, repeat incidents, escalation) by creation time; resolution times, first-time
fix, reopen rate and resolved at tier by resolution time; a resolution verdict by the period it
belongs to: a met one that of the resolution, a breached one that of its breach moment, whether
the ticket is resolved or not (each verdict in exactly one month). Every month from a client's
first ticket to the last month asked for has its figures, with or without tickets. Choices the
spec leaves open, made here and shown in the figure's note:
- "incidents" are tickets of kind incident or alert (an alert is an incident found by
  monitoring);
- resolution pending = tickets open at the period's end, created before it, not past their
  target at that end;
- a rate whose input the export does not carry (no ticket of the period has it: the rule's
  `carried`) is null, with the reason as its note;
- time to escalate is wall-clock minutes from creation to escalation;
- a ticket cancelled, merged or excluded has no SLA verdict but still counts in volumes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import polars as pl

from kpis.metrics.bases import basis_frame
from kpis.metrics.breakdowns import breakdowns_by_period
from kpis.metrics.period import Period, month_index, period_key, period_keys, period_label
from kpis.metrics.registry import INCIDENT, RULES, kpi_inputs
from kpis.metrics.repeats import fingerprint, mark_repeats, repeat_clusters

BASES = ("created", "resolved", "verdict", "open_at_end")


@dataclass
class Figure:
    """One KPI value with what it is made of."""

    value: float | int | dict | list | None
    numerator: float | int | None = None
    denominator: int | None = None
    tickets: list[int] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict:
        """What a snapshot stores besides the value (kept once, in the snapshot's values)."""
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "note": self.note,
        }


# --- The rules ---------------------------------------------------------------------------------


# --- Preparing the frame -----------------------------------------------------------------------


def prepared(tickets: pl.DataFrame, zone: str, repeat_window_days: int) -> pl.DataFrame:
    """The tickets with what every rule reads: the local month of creation and resolution (as a
    month index, year × 12 + month − 1), the fingerprint and repeat flag of incidents, and the
    minutes to escalate. Repeats look at the client's whole history, not just one period."""
    frame = tickets if "client_id" in tickets.columns else tickets.with_columns(client_id=0)

    def local_month(column: str) -> pl.Expr:
        local = pl.col(column).dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
        return month_index(local).alias(f"{column[:-3]}_month")

    frame = frame.with_columns(
        local_month("created_at"),
        local_month("resolved_at"),
        local_month("resolution_breached_at"),
        fingerprint(),
        escalation_minutes=(pl.col("escalated_at") - pl.col("created_at")).dt.total_seconds() / 60,
    ).with_columns(
        # The one month a resolution verdict belongs to (docs/kpis.md).
        verdict_month=pl.when(pl.col("resolution_verdict") == "met")
        .then(pl.col("resolved_month"))
        .when(pl.col("resolution_verdict") == "breached")
        .then(pl.col("resolution_breached_month")),
    )
    return mark_repeats(frame, repeat_window_days)


# --- Aggregation -------------------------------------------------------------------------------


def _aggregations(basis: str) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """The columns a group-by over a basis frame needs for the rules on that basis, in two
    lists: counts, which add up from months to quarters and years, and what must be taken
    over all of a period's tickets at once (float sums, medians, percentiles)."""
    counts, values_of_period = [pl.len().alias("n")], []
    for key, rule in RULES.items():
        if rule.basis != basis:
            continue
        den = rule.over
        if rule.kind in ("count", "rate", "shares"):
            counts.append(den.sum().alias(f"{key}|d"))
        if rule.kind == "rate":
            counts.append((den & rule.counted).sum().alias(f"{key}|n"))
        if rule.carried is not None:
            counts.append(rule.carried.sum().alias(f"{key}|c"))
        if rule.kind in ("mean", "median", "p90"):
            counts.append((den & pl.col(rule.column).is_not_null()).sum().alias(f"{key}|d"))
        if rule.kind == "mean":
            # Summed in sorted order: a group's rows arrive in an order that depends on the
            # threads, and float sums must not change from one recompute to the next.
            values = pl.col(rule.column).filter(den).sort()
            values_of_period += [
                values.sum().alias(f"{key}|n"),
                pl.when(values.count() > 0).then(values.sum() / values.count()).alias(f"{key}|v"),
            ]
        if rule.kind == "median":
            values_of_period.append(pl.col(rule.column).filter(den).median().alias(f"{key}|v"))
        if rule.kind == "p90":  # nearest rank, ceil(0.9 n): a value some ticket really had
            values = pl.col(rule.column).filter(den)
            rank = (values.count() * 9 + 9) // 10  # integer ceil(0.9 n): no float round-off
            values_of_period.append(values.sort().get(rank - 1, null_on_oob=True).alias(f"{key}|v"))
        if rule.kind == "shares":
            for tier in (1, 2, 3):
                counts.append((den & (pl.col(rule.column) == tier)).sum().alias(f"{key}|{tier}"))
    return counts, values_of_period


def _counted(frame: pl.DataFrame, basis: str, counts: list[pl.Expr]) -> pl.DataFrame:
    """The counts of a created, resolved or verdict basis, grouped once by month over the
    tickets and then summed into quarters and years: a third of the rows of grouping every
    period's copy of the tickets, and integer sums are exact in any order."""
    month = pl.col(f"{basis}_month")
    monthly = (
        frame.filter(month.is_not_null()).group_by("client_id", month.alias("month")).agg(counts)
    )
    return (
        pl.concat([monthly.with_columns(period=key) for key in period_keys(pl.col("month"))])
        .group_by("client_id", "period")
        .agg(pl.all().exclude("month").sum())
    )


@dataclass
class PeriodFigures:
    client_id: int
    period: str
    figures: dict[str, Figure]
    breakdowns: dict[str, dict[str, dict]]


def kpis_by_period(
    tickets: pl.DataFrame,
    zone: str,
    *,
    seats: dict[int, int | None] | None = None,
    repeat_window_days: int | dict[int, int] = 30,
    only: dict[int, set[str]] | None = None,
    last_month: str | None = None,
    since: dict[int, str] | None = None,
) -> list[PeriodFigures]:
    """Every KPI for every client and every month from its first ticket (or the earlier month
    `since` names: its first outage) to `last_month` (or its last month with a ticket created,
    resolved or judged), with their quarters and years; or only the periods `only` names per
    client. `tickets` holds the clients' whole histories (backlogs and repeats need them) with
    the clock results as columns, the breach moment included; all clients share `zone`."""
    tickets = kpi_inputs(tickets)
    if isinstance(repeat_window_days, dict):
        # Clients grouped by their policy's window: one pass for each distinct window.
        by_window: dict[int, list[int]] = defaultdict(list)
        for client, window in repeat_window_days.items():
            by_window[window].append(client)
        present = set(tickets["client_id"].unique().to_list())
        if len(by_window) == 1 and present <= set(repeat_window_days):
            repeat_window_days = next(iter(by_window))  # one window: no need to split the frame
    if isinstance(repeat_window_days, dict):
        parts = [
            prepared(tickets.filter(pl.col("client_id").is_in(clients)), zone, window)
            for window, clients in sorted(by_window.items())
        ]
        frame = pl.concat(parts) if parts else prepared(tickets, zone, 30)
    else:
        frame = prepared(tickets, zone, repeat_window_days)
    frame = frame.drop("title", "requester", "configuration_item")  # read by the fingerprint only
    months = pl.concat(
        [frame["created_month"], frame["resolved_month"], frame["verdict_month"]]
    ).drop_nulls()
    if months.is_empty():
        return []
    newest = int(months.cast(pl.Int64).to_numpy().max())
    if last_month is not None:
        newest = max(newest, period_key(last_month))
    last = newest // 12 * 12 + 11  # the year's end, so a year in progress has its backlog
    bases = {b: basis_frame(frame, b, last) for b in BASES}
    if only is not None:  # a few periods of a few clients: drop the rest before grouping
        asked = _asked(only, bases["created"].schema)
        bases = {b: f.join(asked, on=["client_id", "period"], how="semi") for b, f in bases.items()}
    reason_values = sorted(v for v in frame["no_verdict_reason"].unique().to_list() if v)
    aggregated = {}
    for basis, rows in bases.items():
        counts, values_of_period = _aggregations(basis)
        if basis == "created":
            counts += _reason_counts(reason_values)
        if basis == "open_at_end":  # a backlog does not add up: a quarter's is its last month's
            agg = rows.group_by("client_id", "period").agg(counts + values_of_period)
        else:
            agg = _counted(frame, basis, counts)
            if only is not None:
                agg = agg.join(asked, on=["client_id", "period"], how="semi")
            if values_of_period:
                agg = agg.join(
                    rows.group_by("client_id", "period").agg(values_of_period),
                    on=["client_id", "period"],
                    how="left",
                )
        aggregated[basis] = agg.rename({"n": f"{basis}|n"})
    current = None if last_month is None else period_key(last_month)
    wanted = _every_period(frame, current, {c: period_key(m) for c, m in (since or {}).items()})
    if only is not None:
        wanted = wanted.join(asked, on=["client_id", "period"], how="semi")
    totals = wanted
    for agg in aggregated.values():
        totals = totals.join(agg, on=["client_id", "period"], how="left")
    clusters = repeat_clusters(frame, wanted, last)
    breakdowns = breakdowns_by_period(frame, wanted)
    seats = seats or {}
    out = []
    for row in totals.sort("client_id", "period").iter_rows(named=True):
        key = (row["client_id"], row["period"])
        reasons = {r: row[f"reason|{r}"] for r in reason_values if row.get(f"reason|{r}")}
        figures = _figures(row, seats.get(row["client_id"]), reasons, clusters.get(key, []))
        out.append(
            PeriodFigures(
                row["client_id"], period_label(row["period"]), figures, breakdowns.get(key, {})
            )
        )
    return out


def _every_period(
    frame: pl.DataFrame, current: int | None, since: dict[int, int] | None = None
) -> pl.DataFrame:
    """(client, period key) of every month from the client's first ticket (or the earlier
    month `since` gives it: its first outage) to the current month (or, when none is given,
    the client's last month with a ticket created, resolved or judged), and their quarters
    and years: a month with nothing created or resolved still has its backlog, and says it
    had no tickets (docs/kpis.md)."""
    newest = pl.max_horizontal(
        pl.col("created_month").max(),
        pl.col("resolved_month").max(),
        pl.col("verdict_month").max(),
        *([] if current is None else [pl.lit(current, dtype=pl.Int32)]),
    )
    ranges = frame.group_by("client_id").agg(first=pl.col("created_month").min(), last=newest)
    if since:
        earlier = pl.DataFrame(
            {"client_id": list(since), "since": list(since.values())},
            schema={"client_id": ranges.schema["client_id"], "since": pl.Int32},
        )
        ranges = ranges.join(earlier, on="client_id", how="left").with_columns(
            first=pl.min_horizontal("first", "since")
        )
    months = ranges.select(
        "client_id",
        month=pl.int_ranges(pl.col("first"), pl.col("last") + 1, dtype=pl.Int32),
    ).explode("month")
    return pl.concat(
        [months.select("client_id", period=key) for key in period_keys(pl.col("month"))]
    ).unique()


def _asked(only: dict[int, set[str]], schema) -> pl.DataFrame:
    """The (client, period key) pairs `only` names."""
    return pl.DataFrame(
        [(c, period_key(p)) for c, labels in only.items() for p in labels],
        schema={"client_id": schema["client_id"], "period": schema["period"]},
        orient="row",
    )


def _reason_counts(reasons: list[str]) -> list[pl.Expr]:
    """Tickets without a verdict, one count per reason (the `excluded` figure)."""
    return [(pl.col("no_verdict_reason") == r).sum().alias(f"reason|{r}") for r in reasons]


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else None


# Column names of each rule's aggregates, made once: _figures runs for every client-period.
_COLUMNS = [(key, rule, f"{key}|d", f"{key}|n", f"{key}|v") for key, rule in RULES.items()]


def _figures(row: dict, seats: int | None, reasons: dict, clusters: list) -> dict[str, Figure]:
    """A period's figures from its aggregated row (columns `key|d`, `key|n`, `key|v`)."""
    figures = {}
    for key, rule, d_column, n_column, v_column in _COLUMNS:
        d, n, v = row.get(d_column), row.get(n_column), row.get(v_column)
        if rule.kind == "count":
            value = d or 0
            figures[key] = Figure(value, None, None, note=rule.note)
        elif rule.kind == "rate":
            figure = Figure(_ratio(n or 0, d or 0), n or 0, d or 0, note=rule.note)
            if rule.carried is not None and not row.get(f"{key}|c"):
                figure.value = None  # the export does not carry what the rate reads
                if row.get(f"{rule.basis}|n"):
                    figure.note = rule.missing
            figures[key] = figure
        elif rule.kind == "mean":
            figures[key] = Figure(v, n if d else None, d or 0, note=rule.note)
        elif rule.kind in ("median", "p90"):
            figures[key] = Figure(v, None, d or 0, note=rule.note)
        elif rule.kind == "shares":
            shares = {str(t): _ratio(row.get(f"{key}|{t}") or 0, d or 0) for t in (1, 2, 3)}
            figures[key] = Figure(shares, None, d or 0, note=rule.note)
        elif rule.kind == "by_reason":
            figures[key] = Figure(reasons, None, sum(reasons.values()), note=rule.note)
        elif rule.kind == "clusters":
            figures[key] = Figure(clusters, None, len(clusters), note=rule.note)
        elif rule.kind == "per_seat":
            created = row.get("created|n") or 0
            figures[key] = Figure(
                created / seats if seats else None, created, seats, note=rule.note
            )
    for key in ("response.mean_minutes", "resolution.mean_minutes"):
        mean = figures[key].value
        if isinstance(mean, int):
            figures[key].value = float(mean)
    return figures


# --- One period, with its tickets ---------------------------------------------------------------


def figure_tickets(
    frame: pl.DataFrame,
    key: str,
    period: Period,
    *,
    part: str = "denominator",
    last_month=None,
    fingerprint: str | None = None,
) -> list[int]:
    """The ids of the tickets behind a figure: its denominator (every ticket it was computed
    over) or, for a rate, its numerator or the `rest` of the denominator (what a compliance
    rate did not count: its breaches); for `repeat_clusters`, the incidents of every cluster
    or of the one `fingerprint` names. `frame` is `prepared` tickets of one client."""
    rule = RULES[key]
    if rule.kind in ("count", "mean", "median", "p90", "per_seat"):
        part = "denominator"
    last = period_key(period.months[-1])
    if last_month is not None:
        last = max(last, period_key(last_month))
    rows = basis_frame(frame, rule.basis, last // 12 * 12 + 11).filter(
        pl.col("period") == period_key(period.label)
    )
    if rule.kind == "clusters":
        clustered = rows.filter(INCIDENT & pl.col("repeat"))["fingerprint"].unique()
        rows = rows.filter(INCIDENT & pl.col("fingerprint").is_in(clustered.implode()))
        if fingerprint is not None:
            rows = rows.filter(pl.col("fingerprint") == fingerprint)
        return sorted(rows["id"].to_list())
    if rule.denominator is not None:
        rows = rows.filter(rule.denominator)
    if part == "numerator" and rule.numerator is not None:
        rows = rows.filter(rule.numerator)
    if part == "rest" and rule.numerator is not None:
        rows = rows.filter(~rule.numerator.fill_null(False))
    return sorted(rows["id"].to_list())


def kpis_compute(
    tickets: pl.DataFrame, period: Period, *, seats: int | None, repeat_window_days: int
) -> dict[str, Figure]:
    """Every ticket KPI of one client for one period, each figure with its tickets (the
    numerator's for a rate): the single-period view used by tests and drill-downs."""
    frame = prepared(tickets, period.zone, repeat_window_days)
    client = int(frame["client_id"][0]) if frame.height else 0
    computed = kpis_by_period(
        tickets,
        period.zone,
        seats={client: seats},
        repeat_window_days=repeat_window_days,
        only={client: {period.label}},
        last_month=period.months[-1],
    )
    if computed:
        figures = computed[0].figures
    else:
        empty = {"created|n": 0}
        figures = _figures(empty, seats, {}, [])
    for key, figure in figures.items():
        figure.tickets = figure_tickets(
            frame, key, period, part="numerator", last_month=period.months[-1]
        )
    return figures
