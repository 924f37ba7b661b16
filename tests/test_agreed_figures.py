"""Accepted disputes as adjustments: every figure exists "as measured" and "as agreed", and the
service credits follow the agreed figures (issue 22). Hand-built tickets with hand-computed
answers, on real PostgreSQL; the adjustments' pure parts without a database.

Acme's contract (contracts/demo/acme-dental.yaml): P1 runs 24x7 with a 240-minute resolution
target; P3 runs Mon–Fri 08:00–17:00 Chicago with 1,440 business minutes. Credits are monthly on
resolution compliance: below 95% 5%, below 90% 10%, of the fee, 58 users × USD 145 = USD 8,410.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from django.utils import timezone

from contracts.models import CommitmentOccurrence
from disputes.models import Dispute
from kpis.metrics.adjustments import (
    adjustments_from,
    tickets_as_agreed,
    verdicts_as_agreed,
)
from kpis.metrics.clock import Intervals
from kpis.metrics.recompute import kpis_recompute
from kpis.models import KpiSnapshot, TicketClock

from .conftest import acme_ticket as _ticket


def _month(world, label: str = "2025-09") -> KpiSnapshot:
    return KpiSnapshot.objects.get(client=world.acme, period_label=label)


def _accept(world, ticket, subject: str, requested: dict, occurrence=None) -> Dispute:
    now = timezone.now()
    return Dispute.objects.create(
        contract=world.acme_contract,
        client=world.acme,
        subject=subject,
        ticket=ticket,
        ticket_label=str(ticket) if ticket else "",
        occurrence=occurrence,
        requested=requested,
        reason="The contract says otherwise.",
        opened_at=now,
        due_at=now + timedelta(days=14),
        status=Dispute.Status.ACCEPTED,
        answered_at=now,
        answer_reason="Agreed.",
    )


def test_a_measured_month_has_no_agreed_figures_of_its_own(world, september):
    month = _month(world)
    assert month.values["resolution.compliance"] == pytest.approx(0.8)
    assert month.values["service_credits"]["amount"] == 841.0
    assert month.agreed == {}


def test_an_accepted_verdict_moves_the_agreed_compliance_and_credits_not_the_measured(
    world, september
):
    _, breached = september
    _accept(world, breached[0], "verdict", {"clock": "resolution", "verdict": "met"})
    kpis_recompute(world.acme)
    month = _month(world)
    # As measured: unchanged. As agreed: 9 met of 10 = 90%, not below 90% but below 95%:
    # 5% of USD 8,410 = USD 420.50.
    assert month.values["resolution.compliance"] == pytest.approx(0.8)
    assert month.values["service_credits"]["amount"] == 841.0
    agreed = month.agreed["values"]
    assert agreed["resolution.compliance"] == pytest.approx(0.9)
    assert agreed["resolution.sla_met"] == 9
    assert agreed["resolution.sla_breached"] == 1
    assert agreed["service_credits"]["amount"] == 420.5
    assert month.agreed["figures"]["resolution.compliance"]["denominator"] == 10
    assert month.agreed["breakdowns"]["priority"]["P1"]["resolution.compliance"] == pytest.approx(
        0.9
    )
    # The stored clock stays as measured: the drill-down lists what was measured.
    clock = TicketClock.objects.get(ticket=breached[0])
    assert clock.resolution_verdict == "breached"
    # The quarter and the year carry the agreed month too; the response figures do not move.
    quarter = _month(world, "2025-Q3")
    assert quarter.agreed["values"]["resolution.compliance"] == pytest.approx(0.9)
    assert quarter.agreed["values"]["response.compliance"] == quarter.values["response.compliance"]


def test_a_rejected_or_open_dispute_changes_nothing(world, september):
    _, breached = september
    dispute = _accept(world, breached[0], "verdict", {"clock": "resolution", "verdict": "met"})
    for status in (Dispute.Status.REJECTED, Dispute.Status.OPEN, Dispute.Status.ESCALATED):
        dispute.status = status
        dispute.save()
        kpis_recompute(world.acme)
        month = _month(world)
        assert month.agreed == {}
        assert month.values["service_credits"]["amount"] == 841.0


def test_a_restored_priority_times_the_ticket_under_its_target(world, september):
    _, breached = september
    # As P3: 10:00 to 15:00 on a Wednesday is 300 business minutes, within 1,440: met.
    _accept(world, breached[1], "priority", {"priority": "P3"})
    kpis_recompute(world.acme)
    agreed = _month(world).agreed["values"]
    assert agreed["resolution.sla_met"] == 9
    assert agreed["service_credits"]["amount"] == 420.5
    # Response: 10 minutes against P3's 240, met either way.
    assert agreed["response.sla_met"] == 10


def test_a_removed_pause_breaches_a_ticket_the_pause_kept_within_target(world, september):
    # 300 minutes open, 120 of them paused (11:00–13:00 Chicago): 180 ≤ 240, met as measured.
    paused = _ticket(
        world,
        10,
        300,
        paused_intervals=[["2025-09-10T16:00:00Z", "2025-09-10T18:00:00Z"]],
    )
    kpis_recompute(world.acme)
    assert TicketClock.objects.get(ticket=paused).resolution_seconds == 180 * 60
    assert _month(world).values["resolution.sla_met"] == 9
    _accept(
        world, paused, "pause", {"start": "2025-09-10T16:00:00Z", "end": "2025-09-10T18:00:00Z"}
    )
    kpis_recompute(world.acme)
    month = _month(world)
    # Without the pause: 300 > 240, breached. Agreed 8 of 11 = 72.7%; measured 9 of 11.
    assert month.values["resolution.compliance"] == pytest.approx(9 / 11)
    assert month.agreed["values"]["resolution.compliance"] == pytest.approx(8 / 11)
    assert month.agreed["values"]["resolution.mean_minutes"] == pytest.approx(
        (8 * 60 + 2 * 300 + 300) / 11
    )


def test_a_removed_exported_pause_total_counts_its_time_again(world, september):
    total = _ticket(world, 10, 300, paused_minutes=120, paused_time="calendar")
    kpis_recompute(world.acme)
    assert TicketClock.objects.get(ticket=total).resolution_verdict == "met"
    _accept(world, total, "pause", {"exported_total": True})
    kpis_recompute(world.acme)
    assert _month(world).agreed["values"]["resolution.sla_breached"] == 3


def test_an_exclusion_the_client_contests_counts_the_ticket(world, september):
    excluded = _ticket(world, 10, 300, exclude_from_sla=True)
    kpis_recompute(world.acme)
    assert _month(world).values["resolution.sla_breached"] == 2
    _accept(world, excluded, "exclusion", {"counted": True})
    kpis_recompute(world.acme)
    agreed = _month(world).agreed["values"]
    # 8 met of 11: 72.7%, still below 90%: the credit stays USD 841.00.
    assert agreed["resolution.sla_breached"] == 3
    assert agreed["resolution.compliance"] == pytest.approx(8 / 11)
    assert agreed["service_credits"]["amount"] == 841.0


def test_a_settled_occurrence_changes_the_agreed_kept_rate(world, september):
    occurrence = (
        CommitmentOccurrence.objects.filter(
            commitment__contract=world.acme_contract, due_date__month=9, due_date__year=2025
        )
        .order_by("commitment__name")
        .first()
    )
    kpis_recompute(world.acme)
    measured = _month(world).values["commitments.kept_rate"]
    status = "missed" if measured else "kept"
    _accept(world, None, "occurrence", {"status": status}, occurrence=occurrence)
    kpis_recompute(world.acme)
    month = _month(world)
    due = month.figures["commitments.kept_rate"]["denominator"]
    kept = month.figures["commitments.kept_rate"]["numerator"]
    expected = (kept - 1 if status == "missed" else kept + 1) / due
    assert month.values["commitments.kept_rate"] == measured
    assert month.agreed["values"]["commitments.kept_rate"] == pytest.approx(expected)


# --- The pure parts ----------------------------------------------------------------------------


def test_the_later_of_two_accepted_disputes_on_one_fact_wins():
    adjustments = adjustments_from(
        [
            ("verdict", 7, None, {"clock": "resolution", "verdict": "met"}),
            ("verdict", 7, None, {"clock": "resolution", "verdict": "breached"}),
            ("priority", None, None, {"priority": "P2"}),  # its ticket is gone: nothing to do
            ("pause", 8, None, {"start": "2025-09-10T16:00:00Z", "end": None}),
        ]
    )
    assert adjustments.verdicts == {(7, "resolution"): "breached"}
    assert adjustments.pauses_removed == {8: {(1757520000, -1)}}
    assert adjustments.tickets() == {7, 8}
    assert adjustments_from([]).tickets() == set() and not adjustments_from([])


def test_tickets_as_agreed_changes_only_the_adjusted_rows():
    tickets = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "priority": ["P1", "P2", "P3"],
            "exclude_from_sla": [False, True, False],
            "paused_minutes": [None, 30.0, 45.0],
        }
    )
    adjustments = adjustments_from(
        [
            ("priority", 1, None, {"priority": "P4"}),
            ("exclusion", 2, None, {"counted": True}),
            ("pause", 3, None, {"exported_total": True}),
        ]
    )
    agreed = tickets_as_agreed(tickets, adjustments)
    assert agreed["priority"].to_list() == ["P4", "P2", "P3"]
    assert agreed["exclude_from_sla"].to_list() == [False, False, False]
    assert agreed["paused_minutes"].to_list() == [None, 30.0, None]


def test_an_agreed_breach_without_a_breach_moment_belongs_to_the_resolution():
    clocks = pl.DataFrame(
        {
            "id": [1, 2],
            "response_verdict": ["met", "met"],
            "resolution_verdict": ["met", "breached"],
            "resolution_breached_at": [-1, 500],
        }
    )
    tickets = pl.DataFrame(
        {"id": [1, 2], "resolved_at": [datetime(2025, 9, 10, 20), datetime(2025, 9, 11)]}
    )
    adjustments = adjustments_from(
        [
            ("verdict", 1, None, {"clock": "resolution", "verdict": "breached"}),
            ("verdict", 2, None, {"clock": "response", "verdict": "breached"}),
        ]
    )
    agreed = verdicts_as_agreed(clocks, tickets, adjustments)
    assert agreed["resolution_verdict"].to_list() == ["breached", "breached"]
    assert agreed["response_verdict"].to_list() == ["met", "breached"]
    resolved = int(datetime(2025, 9, 10, 20, tzinfo=UTC).timestamp())
    assert agreed["resolution_breached_at"].to_list() == [resolved, 500]


def test_intervals_without_removes_only_the_equal_interval():
    intervals = Intervals(np.array([0, 0, 1]), np.array([10, 50, 10]), np.array([20, -1, 20]))
    left = intervals.without(Intervals(np.array([0, 1]), np.array([50, 10]), np.array([-1, 25])))
    assert list(zip(left.ticket, left.start, left.end, strict=True)) == [(0, 10, 20), (1, 10, 20)]
    assert intervals.without(Intervals.empty()) is intervals


def test_the_strip_says_what_disputes_moved_as_agreed_beside_as_measured():
    from kpis.dashboard.agreed import moved_by_disputes
    from kpis.dashboard.verdicts import _agreed_text

    measured = {
        "resolution.compliance": 0.8,
        "response.compliance": 1.0,
        "service_credits": {"amount": 841.0, "currency": "USD"},
    }
    agreed = {**measured, "resolution.compliance": 0.9, "service_credits": {"amount": 420.5}}
    assert [(k.key, a, b) for k, a, b in moved_by_disputes(measured, agreed)] == [
        ("resolution.compliance", 0.8, 0.9),
        ("service_credits", 841.0, 420.5),
    ]

    class Data:
        measured_values, values, currency = measured, agreed, "USD"

    assert _agreed_text(Data) == (
        "As agreed after accepted disputes: Resolution SLA compliance 90.0% (measured 80.0%); "
        "Service credits due USD 420.50 (measured USD 841.00)"
    )


def test_the_review_counts_the_credits_as_agreed_and_names_the_measured_amount(world, september):
    from reviews.context import review_data_build

    _, breached = september
    before = review_data_build(world.acme_contract, "2025-Q3")["credits"]
    assert [(c["period"], c["amount"]) for c in before] == [("2025-09", 841.0)]
    assert "measured_amount" not in before[0]
    _accept(world, breached[0], "verdict", {"clock": "resolution", "verdict": "met"})
    kpis_recompute(world.acme)
    after = review_data_build(world.acme_contract, "2025-Q3")["credits"]
    assert [(c["period"], c["amount"], c["measured_amount"]) for c in after] == [
        ("2025-09", 420.5, 841.0)
    ]
    assert after[0]["measured"] == pytest.approx(0.9)  # the agreed compliance the credit is on


def test_kpi_report_prints_the_agreed_figures_disputes_moved(world, september):
    import io
    import json

    from django.core.management import call_command

    _, breached = september
    _accept(world, breached[0], "verdict", {"clock": "resolution", "verdict": "met"})
    kpis_recompute(world.acme)
    out = io.StringIO()
    call_command(
        "kpi_report",
        "--client",
        "acme-dental",
        "--period",
        "2025-09",
        "--format",
        "json",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert report["resolution.compliance"] == pytest.approx(0.8)
    assert report["agreed.resolution.compliance"] == pytest.approx(0.9)
    assert report["agreed.service_credits"]["amount"] == 420.5
    assert "agreed.response.compliance" not in report  # not moved: not repeated
    text = io.StringIO()
    call_command("kpi_report", "--client", "acme-dental", "--period", "2025-09", stdout=text)
    assert "agreed.resolution.compliance" in text.getvalue()
    assert "(as agreed: accepted disputes)" in text.getvalue()
