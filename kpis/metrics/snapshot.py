"""What a snapshot holds besides the ticket figures, and its stored form. Pure: uptime,
commitments kept and service credits for a period, from what the recompute loaded; the
snapshot's values, figures and breakdowns in the order of the KPI registry; the fee figures
come from kpis/metrics/cost.py."""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from operator import itemgetter
from zoneinfo import ZoneInfo

from contracts.models import Contract
from kpis.metrics.adjustments import Adjustments
from kpis.metrics.cost import cost_figures, term_of
from kpis.metrics.formulas import Figure
from kpis.metrics.period import Period
from kpis.metrics.registry import KEYS_IN_ORDER
from kpis.metrics.uptime import OutageWindow, uptime_figure

_due = itemgetter(0)  # an outcome's due date: sorted and bisected by it alone


def occurrence_outcomes(occurrences: list, today: date) -> list[tuple[date, int, bool]]:
    """(due date, id, kept today) of each occurrence, by due date: a status depends on the
    occurrence and today only, so a recompute judges each once, not once for every period."""
    return sorted(
        ((o.due_date, o.pk, o.status_on(today, o.evidence_count) == "kept") for o in occurrences),
        key=_due,
    )


def _commitments_kept(
    occurrences: list,
    period: Period,
    today: date,
    agreed: dict[int, str] | None = None,
    outcomes: list[tuple[date, int, bool]] | None = None,
) -> Figure:
    """Occurrences fulfilled on time with evidence where required / occurrences due. `agreed`:
    occurrence id → "kept" or "missed", as accepted disputes settled them. `outcomes`: the
    occurrences' occurrence_outcomes when the caller has them already."""
    agreed = agreed or {}
    if outcomes is None:
        outcomes = occurrence_outcomes(occurrences, today)
    # Due in the period and before today: a slice of the outcomes sorted by due date.
    first = bisect_left(outcomes, period.first_day, key=_due)
    due = outcomes[first : bisect_left(outcomes, min(period.next_first_day, today), key=_due)]
    kept = [pk for _, pk, ok in due if agreed.get(pk, "kept" if ok else "") == "kept"]
    return Figure(
        len(kept) / len(due) if due else None,
        len(kept),
        len(due),
        [],
        "occurrences done by their due date, with evidence where required, and confirmed or "
        "left unanswered past the window / occurrences due",
    )


# What a missed occurrence is for a credit: not done, done late, done without the evidence the
# commitment requires, or missed by its measure. Awaiting the other side's answer, or disputed
# and not settled, is not (yet) a miss.
CREDITED_STATUSES = frozenset({"overdue", "late", "missing_evidence", "missed"})


def credited_occurrences(occurrences: list) -> list:
    """The occurrences of the MSP's commitments that credit a miss (credit_percent set), by
    due date and name. Only the MSP's own commitments credit the client: a duty the client owns,
    or shares, left undone is no credit the MSP owes."""
    credited = [
        o
        for o in occurrences
        if o.commitment.credit_percent is not None and o.commitment.owner == "msp"
    ]
    return sorted(credited, key=lambda o: (o.due_date, o.commitment.name))


def commitments_missed(
    occurrences: list, period: Period, today: date, agreed: dict[int, str] | None = None
) -> list[dict]:
    """Of the occurrences, those of credited commitments (credited_occurrences) due in the
    period before today and missed, oldest first: {"name", "due", "percent"}. `agreed`:
    occurrence id → "kept" or "missed", as accepted disputes settled them."""
    agreed = agreed or {}
    missed = []
    for o in credited_occurrences(occurrences):
        percent = o.commitment.credit_percent
        if not period.first_day <= o.due_date < min(period.next_first_day, today):
            continue
        settled = agreed.get(o.pk)
        if settled is not None:
            is_missed = settled == "missed"
        else:
            is_missed = o.status_on(today, o.evidence_count) in CREDITED_STATUSES
        if is_missed:
            missed.append(
                {
                    "name": o.commitment.name,
                    "due": o.due_date.isoformat(),
                    "percent": float(percent),
                }
            )
    return missed


def _service_credits(
    contract: Contract, figures: dict[str, Figure], period: Period, missed: list[dict]
) -> Figure:
    """The credit the contract's terms give for this period: its measure against the tiers,
    plus each missed occurrence of a credited commitment, within the cap; with the breaches."""
    if not contract.credit_measure or period.kind != contract.credit_period:
        return Figure(None, note="no credit terms for this kind of period")
    measure = figures.get(contract.credit_measure)
    measured = measure.value if measure is not None else None
    if not isinstance(measured, int | float):
        measured = None
        if not missed:
            return Figure(None, note=f"{contract.credit_measure} has no value this period")
    tier_percent = Decimal(0)
    if measured is not None:
        for tier in sorted(contract.credit_tiers, key=lambda t: t["below"]):
            if measured < float(tier["below"]):
                tier_percent = max(tier_percent, Decimal(str(tier["credit_percent"])))
    percent = tier_percent + sum((Decimal(str(m["percent"])) for m in missed), Decimal(0))
    if contract.credit_cap_percent is not None:
        percent = min(percent, contract.credit_cap_percent)
    fee = contract.monthly_fee or Decimal(0)
    months = {"month": 1, "quarter": 3}.get(period.kind, 12)
    amount = (fee * months * percent / 100).quantize(Decimal("0.01"))
    breach_key = credit_breach_key(contract.credit_measure)
    breaches = figures[breach_key].value if breach_key in figures else None
    note = (
        f"{contract.credit_measure} {measured:.1%} against the contract's tiers"
        if measured is not None
        else f"{contract.credit_measure} has no value this period"
    )
    if missed:
        note += "; missed: " + ", ".join(
            f"{m['name']} due {m['due']} ({m['percent']:g}%)" for m in missed
        )
    return Figure(
        {
            "percent": float(percent),
            "amount": float(amount),
            "currency": contract.currency,
            "measure": contract.credit_measure,
            "measured": measured,
            "breaches": breaches,
            "tier_percent": float(tier_percent),
            "commitments": missed,
        },
        float(amount),
        None,
        [],
        note,
    )


def credit_breach_key(measure: str) -> str:
    """The figure whose tickets triggered a credit: `resolution.compliance` → its breaches."""
    return measure.split(".")[0] + ".sla_breached"


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@dataclass
class ClientContext:
    """What a client's snapshots need besides tickets, loaded once per recompute."""

    contract: Contract
    window: int
    uptime_targets: dict[str, float]
    outages: list[OutageWindow]
    occurrences: list
    today: date
    # The client's accepted disputes (metrics/adjustments.py); empty: agreed = measured.
    adjustments: Adjustments = field(default_factory=Adjustments)

    @cached_property
    def outcomes(self) -> list[tuple[date, int, bool]]:
        """The occurrences' occurrence_outcomes today, judged once for all periods."""
        return occurrence_outcomes(self.occurrences, self.today)

    @cached_property
    def credited(self) -> list:
        """The occurrences whose miss credits the client (commitments_missed), found once for
        all periods: most contracts credit none, and every period reads them."""
        return credited_occurrences(self.occurrences)


def _snapshot_data(
    figures: dict[str, Figure],
    breakdowns: dict,
    context: ClientContext,
    period: Period,
    as_of: datetime,
    agreed: bool = False,
) -> dict:
    """The stored form of one period: values, figures (numerator, denominator, note) and
    breakdowns, with uptime, commitments, credits and the fee figures added to the ticket
    figures. `agreed`: the commitments as accepted disputes settled them (the ticket figures
    come in agreed already)."""
    figures["uptime"] = uptime_figure(
        context.outages, context.uptime_targets, period, naive_utc(as_of)
    )
    figures["commitments.kept_rate"] = _commitments_kept(
        context.occurrences,
        period,
        context.today,
        context.adjustments.occurrences if agreed else None,
        context.outcomes,
    )
    figures["service_credits"] = _service_credits(
        context.contract,
        figures,
        period,
        commitments_missed(
            context.credited,
            period,
            context.today,
            context.adjustments.occurrences if agreed else None,
        ),
    )
    figures.update(cost_figures(term_of(context.contract), figures, period))
    return {
        "values": {k: figures[k].value for k in KEYS_IN_ORDER},
        "figures": {k: figures[k].to_json() for k in KEYS_IN_ORDER},
        "breakdowns": breakdowns,
    }


def _agreed_data(measured: dict, agreed: tuple | None, context, period, as_of) -> dict:
    """A period's figures as agreed ({"values", "figures", "breakdowns"}), or {} where no
    accepted dispute changes a value. `agreed`: the ticket figures and breakdowns timed with the
    adjustments (None: the client's adjustments change none of its tickets, so they are the
    measured ones)."""
    if not context.adjustments:
        return {}
    if agreed is None:
        figures = {
            k: Figure(measured["values"][k], **measured["figures"][k]) for k in measured["values"]
        }
        agreed = (figures, measured["breakdowns"])
    figures, breakdowns = agreed
    data = _snapshot_data(dict(figures), breakdowns, context, period, as_of, agreed=True)
    if data["values"] == measured["values"]:
        return {}
    return data


# A snapshot as stored: client id, period label, kind and first day, the JSON text of its
# values, figures, breakdowns, rules used and agreed figures, and the digest of that text.
SnapshotRow = tuple[int, str, str, str, str, str, str, str, str, str]


def snapshot_rows(
    results,
    contexts: dict[int, ClientContext],
    zone: str,
    as_of,
    rules_used: dict,
    agreed_results: dict | None = None,
) -> list[SnapshotRow]:
    """The stored form of each computed period, with the digest that tells a changed one.
    `rules_used`: (client id, period label) → the versions its tickets were judged under.
    `agreed_results`: (client id, period label) → the ticket figures and breakdowns timed with
    the client's accepted disputes (metrics/adjustments.py)."""
    agreed_results = agreed_results or {}
    rows = []
    for result in results:
        period = Period.parse(result.period, zone)
        context = contexts[result.client_id]
        data = _snapshot_data(dict(result.figures), result.breakdowns, context, period, as_of)
        data["rules_used"] = rules_used.get((result.client_id, period.label), {})
        data["agreed"] = _agreed_data(
            data,
            agreed_results.get((result.client_id, result.period)),
            context,
            period,
            as_of,
        )
        # Built in a fixed order by the same code, so equal content gives equal text.
        texts = [
            json.dumps(data[k], separators=(",", ":"), allow_nan=False)
            for k in ("values", "figures", "breakdowns", "rules_used", "agreed")
        ]
        digest = hashlib.md5("\n".join(texts).encode(), usedforsecurity=False).hexdigest()
        rows.append(
            (
                result.client_id,
                period.label,
                period.kind,
                period.first_day.isoformat(),
                *texts,
                digest,
            )
        )
    return rows
