"""The review's content: one JSON-ready dict per client and quarter, read from stored snapshots
and clocks (never recomputed here). The web page and the PDF both render this dict, and
publishing stores it, so the three never disagree.

`review_data_build` gathers the figures; `review_content` adds what people write (commentary,
action items) for a draft, or returns the frozen dict of a published review.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from contracts.models import CommitmentOccurrence, Contract, Evidence
from contracts.selectors import matrix_with_gaps, policy_with_targets
from contracts.services.commitments import contract_today
from disputes.review_part import review_disputes
from evidence.measures import drilldown_of, measure_words
from kpis.dashboard import charts
from kpis.dashboard.agreed import as_agreed
from kpis.dashboard.drilldown import figure_ticket_ids
from kpis.dashboard.fee import fee_load
from kpis.dashboard.selectors import (
    MORE_FIGURES,
    compliance_by_priority,
    credit_target,
    months_up_to,
    previous_label,
    scorecard,
    trend,
    year_before_label,
)
from kpis.metrics.period import Period
from kpis.metrics.registry import SCORECARD
from kpis.models import KpiSnapshot, Ticket, TicketClock
from reconciliation.services import reconciliation_compute

from . import board, narrative
from .models import ActionItem, Review

BREACHES_SHOWN = 10
CATEGORIES_SHOWN = 8
QUARTERS_IN_TREND = 5


class NoFigures(Exception):
    """The quarter has no stored KPIs: nothing to review yet."""


def quarter_period(quarter: str, zone: str) -> Period:
    period = Period.parse(quarter, zone)
    if period.kind != "quarter":
        raise ValueError(f"'{quarter}' is not a quarter like 2025-Q3")
    return period


def quarters_up_to(quarter: str, count: int) -> list[str]:
    labels = [quarter]
    while len(labels) < count:
        labels.insert(0, previous_label(labels[0]))
    return labels


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _snapshots(client, labels: list[str]) -> dict[str, KpiSnapshot]:
    return {
        s.period_label: s
        for s in KpiSnapshot.objects.filter(client=client, period_label__in=labels)
    }


def _kpi_rows(snapshot, previous, year_before, contract, measures=None) -> list[dict]:
    return [
        {
            "key": row.measure.key,
            "label": row.measure.label,
            "unit": row.measure.unit,
            "better": row.measure.better,
            "value": row.value,
            "target": row.target,
            "previous": row.previous,
            "year_before": row.year_before,
            "numerator": row.numerator,
            "denominator": row.denominator,
            "meets_target": row.meets_target,
            "change": row.change,
            "direction": row.direction,
        }
        for row in scorecard(snapshot, previous, year_before, contract, measures)
    ]


def _breach_reason(ticket: Ticket, clock: TicketClock) -> str:
    """Why a resolution breach happened, from what the ticket's history shows."""
    measured = narrative.duration(clock.resolution_seconds / 60)
    target = narrative.duration(clock.resolution_target_seconds / 60)
    parts = [f"resolved in {measured} of business time against {target}"]
    if ticket.tier and ticket.tier > 1:
        parts.append(f"escalated to tier {ticket.tier}")
    if ticket.reassignment_count:
        parts.append(f"reassigned {ticket.reassignment_count}×")
    if ticket.reopen_count:
        parts.append(f"reopened {ticket.reopen_count}×")
    if ticket.paused_minutes:
        parts.append(f"{narrative.duration(ticket.paused_minutes)} paused")
    return "; ".join(parts)


def _breaches(client, quarter: str) -> tuple[list[dict], Counter]:
    """The quarter's worst resolution breaches (by how far over target) and breaches per
    priority, from the stored clocks of exactly the tickets the breach figure counts."""
    ids = figure_ticket_ids(client, quarter, "resolution.sla_breached")
    clocks = {
        c.ticket_id: c
        for c in TicketClock.objects.filter(ticket_id__in=ids).only(
            "ticket_id", "resolution_seconds", "resolution_target_seconds"
        )
    }
    tickets = Ticket.objects.filter(pk__in=ids).only(
        "external_id",
        "title",
        "priority",
        "category",
        "created_at",
        "resolved_at",
        "tier",
        "reassignment_count",
        "reopen_count",
        "paused_minutes",
    )
    by_priority: Counter = Counter()
    rows = []
    for ticket in tickets:
        clock = clocks.get(ticket.pk)
        by_priority[ticket.priority or "unmapped"] += 1
        # An open ticket already past its target counts as a breach but has no time to
        # resolve to rank it by: it is in the per-priority count, not the table.
        if clock is None or not clock.resolution_target_seconds or clock.resolution_seconds is None:
            continue
        over = clock.resolution_seconds - clock.resolution_target_seconds
        rows.append(
            {
                "ticket_id": ticket.pk,
                "external_id": ticket.external_id,
                "title": ticket.title,
                "priority": ticket.priority,
                "category": ticket.category,
                "created_at": _iso(ticket.created_at),
                "resolved_at": _iso(ticket.resolved_at),
                "over_minutes": over / 60,
                "ratio": clock.resolution_seconds / clock.resolution_target_seconds,
                "reason": _breach_reason(ticket, clock),
            }
        )
    rows.sort(key=lambda r: (-r["ratio"], r["external_id"]))
    return rows[:BREACHES_SHOWN], by_priority


def _resolution_times(client, quarter: str, contract: Contract, last_day: date) -> dict:
    """Each resolved ticket's business minutes to resolve, per priority, and the targets."""
    ids = figure_ticket_ids(client, quarter, "resolution.mean_minutes")
    minutes: dict[str, list[float]] = {}
    rows = (
        TicketClock.objects.filter(ticket_id__in=ids, resolution_seconds__isnull=False)
        .values_list("ticket__priority", "resolution_seconds")
        .order_by("ticket__priority", "resolution_seconds")
    )
    for priority, seconds in rows:
        minutes.setdefault(priority or "unmapped", []).append(seconds / 60)
    policy = policy_with_targets(contract=contract, on=last_day)
    targets = {t.priority: t.resolution_minutes for t in policy.targets.all()} if policy else {}
    priorities = sorted(minutes)
    return {
        "priorities": priorities,
        "minutes": [minutes[p] for p in priorities],
        "targets": [targets.get(p) for p in priorities],
    }


def _categories(snapshot: KpiSnapshot) -> dict:
    by_category = snapshot.breakdowns.get("category", {})
    ranked = sorted(
        by_category.items(), key=lambda kv: (-(kv[1].get("tickets.created") or 0), kv[0])
    )[:CATEGORIES_SHOWN]
    return {
        "names": [name or "(none)" for name, _ in ranked],
        "created": [v.get("tickets.created") or 0 for _, v in ranked],
        "resolution": [v.get("resolution.compliance") for _, v in ranked],
    }


def _commitments(contract: Contract, period: Period) -> list[dict]:
    """Every occurrence due in the quarter, its status today and its evidence."""
    today = contract_today(contract)
    labels = dict(CommitmentOccurrence.Status.choices)
    last_day = period.next_first_day - timedelta(days=1)
    occurrences = (
        CommitmentOccurrence.objects.filter(
            commitment__contract=contract, due_date__gte=period.first_day, due_date__lte=last_day
        )
        .select_related("commitment")
        .annotate(evidence_count=Count("evidence"))
        .order_by("commitment__name", "due_date")
    )
    evidence: dict[int, list[dict]] = {}
    for item in Evidence.objects.filter(occurrence__in=[o.pk for o in occurrences]):
        evidence.setdefault(item.occurrence_id, []).append(
            {"id": item.pk, "name": item.original_name}
        )
    rows = []
    for occ in occurrences:
        status = occ.status_on(today, occ.evidence_count)
        rows.append(
            {
                "name": occ.commitment.name,
                "owner": occ.commitment.get_owner_display(),
                "due": _iso(occ.due_date),
                "completed_on": _iso(occ.completed_on),
                "status": status,
                "status_label": labels[status],
                "evidence": evidence.get(occ.pk, []),
                # A commitment measured from tool reports says what the reports show, with
                # the page of the rows behind it: (URL name, the link's words).
                "measured": measure_words(occ.commitment.measured_by, occ.measure),
                "behind": drilldown_of(occ.commitment.measured_by),
                "occurrence": occ.pk,
            }
        )
    return rows


def _credits(client, period: Period, snapshot: KpiSnapshot) -> list[dict]:
    """Credits due in the quarter: per month or for the quarter, as the contract counts them,
    on the figures as agreed (kpis/dashboard/agreed.py), with the measured amount where
    accepted disputes moved it."""
    found = []
    for label, snap in [
        (snapshot.period_label, snapshot),
        *sorted(_snapshots(client, period.months).items()),
    ]:
        credit = as_agreed(snap).values.get("service_credits")
        measured = snap.values.get("service_credits") or {}
        if credit and (credit.get("amount") or measured.get("amount")):
            row = {"period": label, **credit}
            if measured.get("amount") != credit.get("amount"):
                row["measured_amount"] = measured.get("amount")
            found.append(row)
    return found


def _reported(contract: Contract, quarter: str) -> dict:
    """The MSP's own figures for the quarter beside the measured ones, and how many of its SLA
    verdicts differ from ours, the causes counted in words (reconciliation/): frozen with the
    rest when the review is published."""
    result = reconciliation_compute(client=contract.client, period_label=quarter, contract=contract)
    link = reverse("client_reconciliation", args=[contract.client.slug])
    return {
        "figures": [
            {"label": f.label, "words": f.words, "differs": f.differs} for f in result.figures
        ],
        "differences": len(result.differences),
        "compared": result.compared,
        "causes": [c.words for c in result.counted],
        "link": f"{link}?period={quarter}",
    }


def review_data_build(contract: Contract, quarter: str) -> dict:
    """Everything a review shows about the quarter, as JSON-ready data (charts included)."""
    client = contract.client
    period = quarter_period(quarter, contract.timezone)
    last_day = period.next_first_day - timedelta(days=1)
    previous, year_before = previous_label(quarter), year_before_label(quarter)
    quarters = quarters_up_to(quarter, QUARTERS_IN_TREND)
    stored = _snapshots(client, [*quarters, year_before])
    snapshot = stored.get(quarter)
    if snapshot is None:
        raise NoFigures(f"No KPIs are stored for {client.name} in {quarter} yet.")

    kpis = _kpi_rows(snapshot, stored.get(previous), stored.get(year_before), contract)
    # Every other figure of the registry (p90 times, tickets per seat, SLA counts, time to
    # escalate, the tier mix): in the key figures too, under the scorecard's.
    more_kpis = _kpi_rows(
        snapshot, stored.get(previous), stored.get(year_before), contract, MORE_FIGURES
    )
    months = months_up_to(snapshot, 12)  # the quarter's three and the nine before
    monthly = trend(client, months)
    priority = compliance_by_priority(snapshot)
    target = next((r["target"] for r in kpis if r["target"] is not None), None)
    breaches, by_priority = _breaches(client, quarter)
    times = _resolution_times(client, quarter, contract, last_day)
    by_category = _categories(snapshot)

    def quarter_series(key):
        return [stored[q].values.get(key) if q in stored else None for q in quarters]

    quarterly = {
        "labels": quarters,
        "first_time_fix": quarter_series("first_time_fix_rate"),
        "repeat_rate": quarter_series("repeat_incident_rate"),
        "proactive": quarter_series("proactive_ratio"),
        "resolution_compliance": quarter_series("resolution.compliance"),
    }
    uptime = [
        {"service": name, **figure}
        for name, figure in sorted((snapshot.values.get("uptime") or {}).items())
    ]
    commitments = _commitments(contract, period)
    credits = _credits(client, period, snapshot)
    _version, gaps = matrix_with_gaps(contract=contract)
    clusters = (snapshot.values.get("repeat_clusters") or [])[:10]

    kept = sum(1 for c in commitments if c["status"] == "kept")
    due = sum(1 for c in commitments if c["status"] != "due")
    lines = [
        narrative.KpiLine(
            r["key"], r["label"], r["unit"], r["better"], r["value"], r["previous"], r["target"]
        )
        for r in kpis
    ]
    total = board.credit_total(credits)
    summary = narrative.summary(
        lines,
        breaches_by_priority=by_priority,
        top_cluster=(board.risk_name(clusters[0]["fingerprint"]), clusters[0]["count"])
        if clusters
        else None,
        commitments_kept=(kept, due),
        overdue_commitments=sorted({c["name"] for c in commitments if c["status"] == "overdue"}),
        missed_uptime=[
            u["service"] for u in uptime if u.get("target") is not None and not u.get("met")
        ],
        credit_total=total,
        gap_count=len(gaps),
    )
    figures = {
        "priority": ("SLA compliance by priority", charts.priority_compliance(priority, target)),
        "compliance": ("SLA compliance by month", charts.monthly_compliance(monthly, target)),
        "volume": ("Tickets created, resolved and open by month", charts.monthly_volume(monthly)),
        "times": ("Business hours to resolve, by priority", charts.resolution_times(times)),
        "proactive": ("Proactive and reactive tickets by month", charts.proactive_share(monthly)),
        "quality": ("Quality of service by quarter", charts.quarterly_quality(quarterly)),
        "categories": ("Tickets raised by category", charts.categories(by_category)),
    }
    if uptime:
        figures["uptime"] = ("Uptime by service", charts.uptime(uptime))
    return {
        "quarter": quarter,
        "previous": previous,
        "year_before": year_before,
        "first_day": _iso(period.first_day),
        "last_day": _iso(last_day),
        "client": client.name,
        "msp": contract.msp.name,
        "advisor": contract.advisor.name if contract.advisor else None,
        "contract": contract.name,
        "timezone": contract.timezone,
        "computed_at": _iso(snapshot.computed_at),
        "computed_label": f"{snapshot.computed_at:%Y-%m-%d %H:%M}",
        "built_at": _iso(timezone.now()),
        "summary": summary,
        "kpis": kpis,
        "more_kpis": more_kpis,
        "breaches": breaches,
        "breach_count": sum(by_priority.values()),
        "breaches_by_priority": dict(sorted(by_priority.items())),
        "priority": priority,
        "monthly": monthly,
        "quarterly": quarterly,
        "categories": by_category,
        "clusters": clusters,
        "uptime": uptime,
        "commitments": commitments,
        "credits": credits,
        "credit_total": total,
        # What the fee buys: the dashboard card's content for the quarter (its default price).
        "fee": fee_load(client, contract, quarter),
        "gaps": [g.message for g in gaps],
        "excluded": snapshot.values.get("excluded") or {},
        "charts": [
            {"id": key, "title": title, "figure": figure}
            for key, (title, figure) in figures.items()
        ],
        "reported": _reported(contract, quarter),
        "credit_target": credit_target(contract, contract.credit_measure),
        "disputes": review_disputes(contract, quarter, period.first_day, period.next_first_day),
        "measure_count": len(SCORECARD),
    }


def review_action_items(review: Review) -> list[dict]:
    """Items raised in this review's quarter, and earlier ones still not closed."""
    items = ActionItem.objects.filter(client=review.client, raised_in__lte=review.quarter).filter(
        Q(raised_in=review.quarter) | ~Q(status=ActionItem.Status.CLOSED),
        Q(contract=review.contract_id) | Q(contract__isnull=True),  # this contract's items only
    )
    return [
        {
            "id": item.pk,
            "title": item.title,
            "owner_side": item.owner_side,
            "owner_label": item.get_owner_side_display(),
            "due_on": _iso(item.due_on),
            "status": item.status,
            "status_label": item.get_status_display(),
            "raised_in": item.raised_in,
            "carried_over": item.raised_in != review.quarter,
        }
        for item in items.order_by("raised_in", "due_on", "pk")
    ]


def review_people_part(review: Review) -> dict:
    """What people wrote into the review."""
    return {
        "msp_commentary": review.msp_commentary,
        "advisor_commentary": review.advisor_commentary,
        "recommendations": review.recommendations,
        "attendees": [line.strip() for line in review.attendees.splitlines() if line.strip()],
        "next_review_on": _iso(review.next_review_on),
        "action_items": review_action_items(review),
        "version": review.version,
        "correction_note": review.correction_note,
    }


def review_content(review: Review) -> dict:
    """The dict the page and the PDF render: frozen once published, live while a draft."""
    if review.published and review.frozen is not None:
        return {**review.frozen, **board_part(review.frozen)}
    content = {
        **review_data_build(review.contract, review.quarter),
        **review_people_part(review),
        "status": review.status,
    }
    return {**content, **board_part(content)}


def board_part(content: dict) -> dict:
    """The board pack's reading of the content (scorecard, verdict, recommendations, named
    risks): derived, so reviews frozen before it existed get it too."""
    rows = board.scorecard_rows(content)
    return {
        "scorecard": rows,
        "verdict": board.verdict(content, rows),
        "credit_total": board.credit_total(content.get("credits") or []),
        "advisor_recommendations": board.advisor_items(content),
        "suggested_recommendations": board.suggestions(content),
        "risks": [
            {**c, "name": board.risk_name(c["fingerprint"])} for c in content.get("clusters") or []
        ],
        "empty_sections": board.empty_sections(content),
        # the measure a credit is tied to, by its name (never its key)
        "credits": [
            {**c, "measure_label": board.measure_label(c.get("measure", ""))}
            for c in content.get("credits") or []
        ],
    }
