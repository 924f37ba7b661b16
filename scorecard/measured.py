"""The incumbent's measured history: the client's stored quarter snapshots of the last four
quarters (their agreed figures, as the contract's promises are judged), the responsibility
matrix's state, the reviews published and the action items closed.

Rates are pooled over the quarters from each quarter's numerator and denominator (the tickets
behind them), so a busy quarter weighs more than a quiet one, as the tickets do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.models import Contract
from contracts.services.commitments import contract_today
from contracts.templatetags.portal import percent
from kpis.dashboard.agreed import as_agreed
from kpis.metrics.registry import KPI
from kpis.models import KpiSnapshot
from msp_portal.units import duration

from .scoring import measure_score

QUARTERS = 4

# Measures read from a snapshot figure: measure key → KPI key.
SNAPSHOT_MEASURES = {
    "proactive": "proactive_ratio",
    "repeats": "repeat_incident_rate",
    "response": "response.compliance",
    "resolution": "resolution.compliance",
    "escalation": "escalation.mean_minutes_to_escalate",
}


@dataclass(frozen=True)
class Measured:
    """One measured figure of the incumbent: its value, its score and where it comes from."""

    key: str
    value: float | str
    score: int
    words: str  # "measured: Resolution SLA compliance 66.7% over 2026-Q1–Q2"


def quarters_span(labels: list[str]) -> str:
    """2026-Q1, 2026-Q2 → "2026-Q1–Q2"; across years "2025-Q3–2026-Q2"; one quarter alone."""
    first, last = labels[0], labels[-1]
    if first == last:
        return first
    if first[:4] == last[:4]:
        return f"{first}–{last[5:]}"
    return f"{first}–{last}"


def quarter_end(start: date) -> date:
    """The first day after the quarter starting on `start`."""
    month = start.month + 3
    return date(start.year + (month > 12), (month - 1) % 12 + 1, 1)


def recent_quarters(contract: Contract) -> list[KpiSnapshot]:
    """The client's last four complete quarters with a snapshot, oldest first. A quarter still
    running is left out: its half-counted tickets would read as a fall in volume."""
    today = contract_today(contract)
    snapshots = KpiSnapshot.objects.filter(client_id=contract.client_id, period_kind="quarter")
    complete = [
        s for s in snapshots.order_by("-period_start") if quarter_end(s.period_start) <= today
    ]
    return sorted(complete[:QUARTERS], key=lambda s: s.period_start)


def _pooled(key: str, snapshots: list[KpiSnapshot]) -> tuple[float, list[str]] | None:
    """A figure over the quarters that have it: Σ numerator / Σ denominator for a rate, the
    mean weighted by each quarter's denominator for a time; None when no quarter has it."""
    parts = []
    for snapshot in snapshots:
        agreed = as_agreed(snapshot)
        value = agreed.values.get(key)
        figure = agreed.figures.get(key) or {}
        denominator = figure.get("denominator")
        if isinstance(value, int | float) and isinstance(denominator, int | float) and denominator:
            parts.append((value, figure.get("numerator"), denominator, snapshot))
    if not parts:
        return None
    labels = [p[3].period_label for p in parts]
    denominator = sum(p[2] for p in parts)
    if KPI[key].unit == "rate" and all(isinstance(p[1], int | float) for p in parts):
        return sum(p[1] for p in parts) / denominator, labels
    return sum(p[0] * p[2] for p in parts) / denominator, labels


def _snapshot_measure(measure: str, snapshots: list[KpiSnapshot]) -> Measured | None:
    key = SNAPSHOT_MEASURES[measure]
    pooled = _pooled(key, snapshots)
    if pooled is None:
        return None
    value, labels = pooled
    kpi = KPI[key]
    shown = percent(value) if kpi.unit == "rate" else duration(value)
    words = f"measured: {kpi.label} {shown} over {quarters_span(labels)}"
    return Measured(measure, value, measure_score(measure, value), words)


def _volume(snapshots: list[KpiSnapshot]) -> Measured | None:
    """The last quarter's tickets raised against the first quarter's, over the quarters with
    tickets (a quarter without any is taken as not imported, not as a quarter of no trouble)."""
    counted = [(s.period_label, as_agreed(s).values.get("tickets.created")) for s in snapshots]
    counted = [(label, count) for label, count in counted if isinstance(count, int) and count > 0]
    if len(counted) < 2:
        return None
    (first_label, first), (last_label, last) = counted[0], counted[-1]
    ratio = last / first
    change = round((ratio - 1) * 100)
    trend = f"up {change}%" if change > 0 else f"down {-change}%" if change < 0 else "level"
    label = KPI["tickets.created"].label
    words = f"measured: {label} {first} in {first_label}, {last} in {last_label} ({trend})"
    return Measured("volume", ratio, measure_score("volume", ratio), words)


def _matrix(contract: Contract) -> Measured:
    # A version in force counts as approved even while a later change waits for its approval.
    if contract.matrix_in_force(contract_today(contract)) is not None:
        state, words = "agreed", "measured: responsibility matrix approved by both sides"
    elif contract.current_matrix() is not None:
        state, words = "waiting", "measured: responsibility matrix waiting for approval"
    else:
        state, words = "none", "measured: no responsibility matrix on the contract"
    return Measured("matrix", state, measure_score("matrix", state), words)


def _cadence(contract: Contract, labels: list[str]) -> Measured | None:
    """Quarters of the window with a published review of the contract."""
    from reviews.models import Review

    if not labels:
        return None
    published = set(
        Review.objects.filter(
            contract=contract, quarter__in=labels, status=Review.Status.PUBLISHED
        ).values_list("quarter", flat=True)
    )
    share = len(published) / len(labels)
    words = (
        f"measured: reviews published for {len(published)} of {len(labels)} quarters "
        f"over {quarters_span(labels)}"
    )
    return Measured("cadence", share, measure_score("cadence", share), words)


def _actions(contract: Contract, labels: list[str]) -> Measured | None:
    """Action items raised in the window's reviews, and how many are closed."""
    from reviews.models import ActionItem

    items = list(
        ActionItem.objects.filter(client=contract.client, raised_in__in=labels).values_list(
            "status", flat=True
        )
    )
    if not items:
        return None
    closed = sum(1 for status in items if status == ActionItem.Status.CLOSED)
    share = closed / len(items)
    words = (
        f"measured: {closed} of {len(items)} action items closed, raised over "
        f"{quarters_span(labels)}"
    )
    return Measured("actions", share, measure_score("actions", share), words)


# Measures read from the commitments kept or missed by the MSP's own tool reports: measure key
# → (the commitments' measured_by, what a kept period shows).
EVIDENCE_MEASURES = {
    "mfa_attested": ("mfa", "every technician attested signing in with MFA"),
    "phishing": ("phishing", "phishing simulations run within the contract's click-rate limit"),
}


def _evidence_measure(contract: Contract, measure: str, since: date) -> Measured | None:
    """The share of the periods of the last four quarters (due since `since`, before today)
    that the MSP's own reports kept. A period its report never covered, once the report's grace
    days are over, counts as not kept: an MSP that sends no report is not scored as one that
    was never asked. None without a period judged either way."""
    from contracts.models import CommitmentOccurrence

    kind, words = EVIDENCE_MEASURES[measure]
    today = contract_today(contract)
    occurrences = CommitmentOccurrence.objects.filter(
        commitment__contract=contract,
        commitment__is_active=True,
        commitment__measured_by=kind,
        due_date__gte=since,
        due_date__lt=today,
    ).select_related("commitment")
    statuses = [o.status_on(today, 0) for o in occurrences]
    judged = [s for s in statuses if s in ("kept", "missed", "overdue")]
    if not judged:
        return None
    kept = judged.count("kept")
    unreported = judged.count("overdue")
    share = kept / len(judged)
    text = (
        f"measured: {words} in {kept} of {len(judged)} period{'s' if len(judged) != 1 else ''}"
        f" since {since:%b %Y}, by the MSP's own reports"
        + (f" ({unreported} without a report)" if unreported else "")
    )
    return Measured(measure, share, measure_score(measure, share), text)


def _window_start(contract: Contract) -> date:
    """The first day of the quarter three quarters before the current one: four quarters."""
    today = contract_today(contract)
    quarter = (today.month - 1) // 3
    months = today.year * 12 + quarter * 3 - 9
    return date(months // 12, months % 12 + 1, 1)


def incumbent_measures(contract: Contract) -> dict[str, Measured]:
    """Every measure the portal has data for, by measure key (a measure without data is
    absent: its stand-in question is then asked)."""
    snapshots = recent_quarters(contract)
    labels = [s.period_label for s in snapshots]
    found = [_snapshot_measure(m, snapshots) for m in SNAPSHOT_MEASURES]
    found += [_volume(snapshots), _matrix(contract), _cadence(contract, labels)]
    found.append(_actions(contract, labels))
    found += [_evidence_measure(contract, m, _window_start(contract)) for m in EVIDENCE_MEASURES]
    return {m.key: m for m in found if m is not None}


# The rates the incumbent is measured on quarter by quarter, drawn as its history: measure
# key → the palette's colour of it (kpis/dashboard/palette.py).
HISTORY_COLOURS = {
    "response": "response",
    "resolution": "resolution",
    "proactive": "proactive",
    "repeats": "repeat",
}


def measured_history(contract: Contract) -> dict | None:
    """The incumbent's measured rates per quarter over the quarters the scorecard reads (as
    agreed): {"labels": [...], "series": [(title, colour, [value or None per quarter])]}.
    None with fewer than two quarters: one quarter is no history."""
    snapshots = recent_quarters(contract)
    if len(snapshots) < 2:
        return None
    values = [as_agreed(s).values for s in snapshots]
    series = []
    for measure, colour_key in HISTORY_COLOURS.items():
        key = SNAPSHOT_MEASURES[measure]
        per_quarter = [v.get(key) if isinstance(v.get(key), int | float) else None for v in values]
        if any(value is not None for value in per_quarter):
            series.append((KPI[key].label, colour_key, per_quarter))
    if not series:
        return None
    return {"labels": [s.period_label for s in snapshots], "series": series}
