"""The KPI registry: every figure a snapshot holds, defined once (key, label, unit, which way
is better, its place on the scorecard) and, for the figures computed from tickets, the *rule*
that counts them: the basis it counts over (tickets created in the period, resolved in it,
whose resolution verdict belongs to it, or open at its end), polars conditions for its
denominator and numerator and, for a rate, what the export must carry. The aggregation
(formulas.py), the drill-down (`figure_tickets`), the scorecard, the QBR and `kpi_report` all
read it, so they cannot disagree. Pure: no database.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

INCIDENT_KINDS = ["incident", "alert"]

INCIDENT = pl.col("kind").is_in(INCIDENT_KINDS)

FIRST_FIX = (
    (pl.col("reopen_count").fill_null(0) == 0)
    & (pl.col("tier").fill_null(1) <= 1)
    & (pl.col("reassignment_count").fill_null(0) == 0)
)


def _verdict(column: str, *values: str) -> pl.Expr:
    return pl.col(column).is_in(list(values))


@dataclass(frozen=True)
class Rule:
    """A figure's tickets: those of `basis` matching `denominator`; `numerator` picks the part a
    rate counts. `measure` names the column a mean / median / p90 is taken over."""

    kind: str  # count | rate | mean | median | p90 | shares | by_reason | clusters | per_seat
    basis: str
    denominator: pl.Expr | None = None
    numerator: pl.Expr | None = None
    measure: str | None = None
    note: str = ""
    # A rate's inputs as the export carries them: true for a ticket of the basis whose export
    # has the column the rate reads. When no ticket of the period has it, the export does not
    # carry it and the rate is null (docs/kpis.md), with `missing` as the figure's note.
    carried: pl.Expr | None = None
    missing: str = ""

    @property
    def over(self) -> pl.Expr:
        """The tickets of the basis the figure is taken over (all of them when unset)."""
        # A literal does not broadcast inside an aggregation: "every ticket" is a column test.
        return self.denominator if self.denominator is not None else pl.col("id").is_not_null()

    @property
    def counted(self) -> pl.Expr:
        """The part a rate counts."""
        if self.numerator is None:
            raise ValueError(f"a {self.kind} rule has no numerator")
        return self.numerator

    @property
    def column(self) -> str:
        """The column a mean, median, percentile or share is taken of."""
        if self.measure is None:
            raise ValueError(f"a {self.kind} rule measures no column")
        return self.measure


def _clock_rules(prefix: str, basis: str, verdict_basis: str) -> dict[str, Rule]:
    """Times over `basis`; verdicts over `verdict_basis` (the period a verdict belongs to)."""
    minutes, verdict = f"{prefix}_minutes", f"{prefix}_verdict"
    has_value = pl.col(minutes).is_not_null()
    return {
        f"{prefix}.mean_minutes": Rule("mean", basis, has_value, measure=minutes),
        f"{prefix}.median_minutes": Rule("median", basis, has_value, measure=minutes),
        f"{prefix}.p90_minutes": Rule(
            "p90", basis, has_value, measure=minutes, note="nearest-rank 90th percentile"
        ),
        f"{prefix}.sla_met": Rule("count", verdict_basis, _verdict(verdict, "met")),
        f"{prefix}.sla_breached": Rule("count", verdict_basis, _verdict(verdict, "breached")),
        f"{prefix}.sla_pending": Rule("count", verdict_basis, _verdict(verdict, "pending")),
        f"{prefix}.compliance": Rule(
            "rate",
            verdict_basis,
            _verdict(verdict, "met", "breached"),
            _verdict(verdict, "met"),
            note="met / (met + breached)",
        ),
    }


# Within target at the end of the backlog's month (`month`, the last month of a quarter or
# year): a resolution target, and no breach moment before that month ended.
WITHIN_TARGET_AT_END = (pl.col("resolution_verdict") != "") & (
    pl.col("resolution_breached_month").is_null()
    | (pl.col("resolution_breached_month") > pl.col("month"))
)


_TICKET_RULES: dict[str, Rule] = {
    "tickets.created": Rule("count", "created"),
    "tickets.resolved": Rule("count", "resolved"),
    "tickets.open_at_end": Rule("count", "open_at_end", note="backlog at the period's end"),
    "tickets.per_seat": Rule("per_seat", "created", note="created / seats in the contract"),
    # What the fee per incident and per resolved incident count (kpis/metrics/cost.py).
    "incidents.created": Rule("count", "created", INCIDENT, note="incidents and alerts raised"),
    "incidents.resolved": Rule("count", "resolved", INCIDENT, note="incidents and alerts resolved"),
    # Response verdicts and times: the period of creation.
    **_clock_rules("response", "created", "created"),
    # Resolution times: the period of resolution. Verdicts (basis "verdict"): a met one the
    # period of resolution, a breached one the period of its breach moment, resolved or not.
    **_clock_rules("resolution", "resolved", "verdict"),
    "resolution.sla_pending": Rule(
        "count",
        "open_at_end",
        WITHIN_TARGET_AT_END,
        note="open at the period's end, created before it, within target then",
    ),
    "first_time_fix_rate": Rule(
        "rate",
        "resolved",
        None,
        FIRST_FIX,
        note="never reopened, escalated or reassigned / resolved",
        # Any one of the three counts as carried: a missing one reads as "did not happen".
        carried=pl.any_horizontal(
            pl.col(c).is_not_null() for c in ("reopen_count", "tier", "reassignment_count")
        ),
        missing="empty: the export carries no reopens, tiers or reassignments for these tickets",
    ),
    "repeat_incident_rate": Rule(
        "rate",
        "created",
        INCIDENT,
        pl.col("repeat"),
        note="incidents repeating an earlier one within the policy's window / incidents",
    ),
    # Incidents whose fingerprint repeats within the period (see figure_tickets).
    "repeat_clusters": Rule("clusters", "created", INCIDENT, note="fingerprints with repeats"),
    "proactive_ratio": Rule(
        "rate",
        "created",
        INCIDENT & (pl.col("origin") != ""),
        pl.col("origin") == "proactive",
        note="proactive incidents / incidents with a known origin",
        carried=pl.col("origin") != "",
        missing="empty: the export carries no origin for these tickets",
    ),
    "reopen_rate": Rule(
        "rate",
        "resolved",
        None,
        pl.col("reopen_count").fill_null(0) > 0,
        carried=pl.col("reopen_count").is_not_null(),
        missing="empty: the export carries no reopen counts for these tickets",
    ),
    "escalation.rate": Rule(
        "rate",
        "created",
        None,
        pl.col("tier").fill_null(1) > 1,
        note="went above tier 1 / tickets",
        carried=pl.col("tier").is_not_null(),
        missing="empty: the export carries no tier for these tickets",
    ),
    "escalation.mean_minutes_to_escalate": Rule(
        "mean",
        "created",
        pl.col("escalated_at").is_not_null(),
        measure="escalation_minutes",
        note="wall-clock minutes, where the export says when",
    ),
    "escalation.resolved_at_tier": Rule(
        "shares",
        "resolved",
        pl.col("tier").is_not_null(),
        measure="tier",
        note="share of resolved tickets by highest tier",
    ),
    "excluded": Rule(
        "by_reason",
        "created",
        pl.col("no_verdict_reason") != "",
        measure="no_verdict_reason",
        note="tickets without an SLA verdict, by reason",
    ),
}


@dataclass(frozen=True)
class Kpi:
    """One figure of a snapshot, defined once: what `kpi_report` prints, what the scorecard
    and the QBR show, and (through `rule`) how its tickets are counted and listed.

    `unit` says how it is written (rate, minutes, count, money, ...); `better` which way is an
    improvement (higher, lower, or neither: volumes are not good or bad in themselves);
    `scorecard` its place on the dashboard's and the QBR's scorecard (None: not on it)."""

    key: str
    label: str
    unit: str  # rate | minutes | count | ratio | shares | clusters | by_reason | uptime | money
    better: str  # higher | lower | neither
    rule: Rule | None = None  # None: not computed from tickets (uptime, commitments, credits)
    scorecard: int | None = None

    @property
    def lists_tickets(self) -> bool:
        """Whether the figure opens the list of its tickets."""
        return self.rule is not None


def _kpi(key: str, label: str, unit: str, better: str, scorecard: int | None = None) -> Kpi:
    return Kpi(key, label, unit, better, _TICKET_RULES.get(key), scorecard)


# Every KPI, in the order `kpi_report` prints them and a snapshot stores them.
KPIS: tuple[Kpi, ...] = (
    _kpi("tickets.created", "Tickets raised", "count", "neither", 12),
    _kpi("tickets.resolved", "Tickets resolved", "count", "neither"),
    _kpi("tickets.open_at_end", "Open at the period's end", "count", "lower", 13),
    _kpi("tickets.per_seat", "Tickets per seat", "ratio", "lower"),
    _kpi("incidents.created", "Incidents raised", "count", "neither"),
    _kpi("incidents.resolved", "Incidents resolved", "count", "neither"),
    _kpi("response.mean_minutes", "Mean time to respond", "minutes", "lower", 5),
    _kpi("response.median_minutes", "Median time to respond", "minutes", "lower", 3),
    _kpi("response.p90_minutes", "90th percentile time to respond", "minutes", "lower"),
    _kpi("response.sla_met", "Responses within target", "count", "higher"),
    _kpi("response.sla_breached", "Responses that missed target", "count", "lower"),
    _kpi("response.sla_pending", "Responses still within target", "count", "neither"),
    _kpi("response.compliance", "Response SLA compliance", "rate", "higher", 2),
    _kpi("resolution.mean_minutes", "Mean time to resolve", "minutes", "lower", 6),
    _kpi("resolution.median_minutes", "Median time to resolve", "minutes", "lower", 4),
    _kpi("resolution.p90_minutes", "90th percentile time to resolve", "minutes", "lower"),
    _kpi("resolution.sla_met", "Resolutions within target", "count", "higher"),
    _kpi("resolution.sla_breached", "Resolutions that missed target", "count", "lower"),
    _kpi("resolution.sla_pending", "Open tickets still within target", "count", "neither"),
    _kpi("resolution.compliance", "Resolution SLA compliance", "rate", "higher", 1),
    _kpi("first_time_fix_rate", "First-time fix", "rate", "higher", 7),
    _kpi("repeat_incident_rate", "Repeat incidents", "rate", "lower", 8),
    _kpi("repeat_clusters", "Recurring problems", "clusters", "lower"),
    _kpi("proactive_ratio", "Proactive detection", "rate", "higher", 9),
    _kpi("reopen_rate", "Reopened after resolution", "rate", "lower", 10),
    _kpi("escalation.rate", "Escalated above tier 1", "rate", "lower", 11),
    _kpi("escalation.mean_minutes_to_escalate", "Mean time to escalate", "minutes", "lower"),
    _kpi("escalation.resolved_at_tier", "Resolved at each tier", "shares", "neither"),
    _kpi("uptime", "Uptime", "uptime", "higher"),
    _kpi("commitments.kept_rate", "Commitments kept", "rate", "higher", 14),
    _kpi("service_credits", "Service credits due", "money", "neither"),
    # What the fee buys (kpis/metrics/cost.py): amounts in the contract's currency. A lower
    # cost per ticket is not better in itself (more tickets lower it): neither.
    _kpi("cost.fee", "Fee for the period", "money", "neither"),
    _kpi("cost.per_ticket", "Fee per ticket", "money", "neither"),
    _kpi("cost.per_incident", "Fee per incident", "money", "neither"),
    _kpi("cost.per_resolved_incident", "Fee per resolved incident", "money", "neither"),
    _kpi("cost.per_seat", "Fee per seat", "money", "neither"),
    _kpi("excluded", "Tickets without an SLA verdict", "by_reason", "neither"),
)
KPI = {kpi.key: kpi for kpi in KPIS}
KEYS_IN_ORDER = [kpi.key for kpi in KPIS]


def values_in_order(values: dict) -> dict:
    """A snapshot's values under every key of the registry, in its order (None for a key it
    lacks): what `kpi_report --format json` prints and the API's KPI snapshots answer, from
    this one function so the two cannot drift apart."""
    return {key: values.get(key) for key in KEYS_IN_ORDER}


# The figures computed from tickets, each with the rule that counts and lists its tickets.
RULES: dict[str, Rule] = {key: rule for key, rule in _TICKET_RULES.items()}
# The scorecard of the dashboard and the QBR, in its order.
SCORECARD = sorted((k for k in KPIS if k.scorecard is not None), key=lambda k: k.scorecard or 0)

BREAKDOWN_KEYS = [
    "tickets.created",
    "response.compliance",
    "resolution.compliance",
    "resolution.mean_minutes",
    "first_time_fix_rate",
]

BREAKDOWN_COLUMNS = ("priority", "category", "origin")


def rule_columns_of(rule: Rule) -> set[str]:
    names = {rule.measure} if rule.measure else set()
    for expr in (rule.denominator, rule.numerator, rule.carried):
        if expr is not None:
            names.update(expr.meta.root_names())
    return names


def rule_columns(basis: str | None = None) -> set[str]:
    """The columns the rules (on `basis`, or on any) read."""
    names = set()
    for rule in RULES.values():
        if basis is None or rule.basis == basis:
            names |= rule_columns_of(rule)
    return names


# Every ticket column the figures are computed from, directly or through `prepared`.
KPI_INPUTS = frozenset(
    {
        "id",
        "client_id",
        "created_at",
        "resolved_at",
        "escalated_at",
        "resolution_breached_at",
        "state",
        "category",
        "configuration_item",
        "requester",
        "title",
        *BREAKDOWN_COLUMNS,
        *rule_columns(),
    }
)


def kpi_inputs(tickets: pl.DataFrame) -> pl.DataFrame:
    """The tickets narrowed to KPI_INPUTS. Each filter, explode and spread over periods copies
    every column it carries, and a recompute's frame also holds the pause lists, clock seconds
    and targets: a third of its columns, which no figure reads."""
    return tickets.select([c for c in tickets.columns if c in KPI_INPUTS])
