"""Verdict periods on real PostgreSQL (docs/kpis.md): the stored breach moment, the drill-down
listing exactly the breaches a month counts, and every month from the first ticket on."""

from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.utils import timezone

from kpis.dashboard.drilldown import figure_ticket_ids
from kpis.metrics.period import period_key, period_label
from kpis.metrics.recompute import kpis_recompute
from kpis.models import KpiSnapshot, Outage, Ticket, TicketClock

from .test_recompute import import_sample

CHICAGO = ZoneInfo("America/Chicago")


def _month(moment) -> str:
    return timezone.localtime(moment, CHICAGO).strftime("%Y-%m")


def test_each_breach_is_counted_once_in_the_month_of_its_breach_moment(world):
    import_sample(world, "connectwise_service_tickets.csv")
    breached = TicketClock.objects.filter(client=world.acme, resolution_verdict="breached")
    assert breached.exists(), "the sample has breaches"
    # Only breached clocks have a breach moment, and it is never before the creation.
    assert not TicketClock.objects.filter(
        client=world.acme, resolution_breached_at__isnull=False
    ).exclude(resolution_verdict="breached")
    assert not breached.filter(resolution_breached_at__isnull=True)
    by_month: dict[str, set[int]] = {}
    for clock in breached.select_related("ticket"):
        assert clock.resolution_breached_at >= clock.ticket.created_at
        by_month.setdefault(_month(clock.resolution_breached_at), set()).add(clock.ticket_id)
    months = KpiSnapshot.objects.filter(client=world.acme, period_kind="month")
    counted = 0
    for snapshot in months:
        listed = figure_ticket_ids(world.acme, snapshot.period_label, "resolution.sla_breached")
        assert set(listed) == by_month.get(snapshot.period_label, set()), snapshot.period_label
        assert snapshot.values["resolution.sla_breached"] == len(listed)
        counted += len(listed)
    assert counted == breached.count()  # each breach in exactly one month


def test_an_open_ticket_past_its_target_is_breached_in_the_month_its_target_passed(world):
    import_sample(world, "connectwise_service_tickets.csv")
    ticket = (
        Ticket.objects.filter(client=world.acme, resolved_at__isnull=True, priority="P3")
        .order_by("created_at")
        .first()
    )
    assert ticket is not None, "the sample has open tickets"
    kpis_recompute(world.acme, as_of=ticket.created_at + timedelta(days=120))
    clock = TicketClock.objects.get(ticket=ticket)
    assert clock.resolution_verdict == "breached" and clock.resolution_breached_at is not None
    month = _month(clock.resolution_breached_at)
    assert ticket.pk in figure_ticket_ids(world.acme, month, "resolution.sla_breached")
    # Before that month ended it was pending at each month's end; not after.
    if month != _month(ticket.created_at):
        before = period_label(period_key(month) - 1)
        assert ticket.pk in figure_ticket_ids(world.acme, before, "resolution.sla_pending")
    assert ticket.pk not in figure_ticket_ids(world.acme, month, "resolution.sla_pending")


def test_every_month_from_the_first_ticket_to_now_has_a_snapshot(world):
    import_sample(world, "connectwise_service_tickets.csv")
    first = Ticket.objects.filter(client=world.acme).order_by("created_at").first()
    assert first is not None
    kpis_recompute(world.acme)
    labels = set(
        KpiSnapshot.objects.filter(client=world.acme, period_kind="month").values_list(
            "period_label", flat=True
        )
    )
    now = _month(timezone.now())
    expected = {
        period_label(k) for k in range(period_key(_month(first.created_at)), period_key(now) + 1)
    }
    assert labels == expected
    # A month after the last ticket was raised: nothing created, its backlog still there.
    quiet = KpiSnapshot.objects.get(client=world.acme, period_label=now)
    assert quiet.values["tickets.created"] == 0 or now == _month(first.created_at)
    open_now = Ticket.objects.filter(client=world.acme, resolved_at__isnull=True).exclude(
        state="cancelled"
    )
    assert quiet.values["tickets.open_at_end"] == open_now.count()


def test_a_month_with_only_an_outage_before_the_first_ticket_has_a_snapshot(world):
    import_sample(world, "connectwise_service_tickets.csv")
    first = Ticket.objects.filter(client=world.acme).order_by("created_at").first()
    assert first is not None
    before = first.created_at - timedelta(days=70)
    Outage.objects.create(
        client=world.acme, service="Email", started_at=before,
        ended_at=before + timedelta(hours=2), planned=False,
    )  # fmt: skip
    kpis_recompute(world.acme)
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label=_month(before))
    assert snapshot.values["tickets.created"] == 0
    assert snapshot.values["uptime"]["Email"]["value"] < 1


def test_a_rate_the_export_does_not_carry_is_stored_empty_and_kpi_report_says_why(world):
    import_sample(world, "connectwise_service_tickets.csv")
    Ticket.objects.filter(client=world.acme).update(tier=None)  # as if no tier column
    kpis_recompute(world.acme)
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    assert snapshot.values["tickets.created"] > 0
    assert snapshot.values["escalation.rate"] is None
    note = snapshot.figures["escalation.rate"]["note"]
    assert note == "empty: the export carries no tier for these tickets"
    text = io.StringIO()
    call_command("kpi_report", "--client", world.acme.slug, "--period", "2025-Q3", stdout=text)
    [line] = [x for x in text.getvalue().splitlines() if "escalation.rate" in x]
    assert note in line
