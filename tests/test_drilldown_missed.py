"""A missed figure answers: its link opens exactly its breached tickets (the TicketClock rows
whose resolution breach falls in the period), worst first, and every narrowed list says how
many of the figure's tickets it shows ("N of M tickets")."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from kpis.metrics.period import Period
from kpis.models import KpiSnapshot, TicketClock

from .test_dashboard import dashboard_url, tickets_url
from .test_recompute import import_sample

PERIOD = "2025-Q3"


def _breached_clocks(world) -> set[int]:
    """Straight from the stored clocks: resolution breaches whose breach moment is in Q3."""
    period = Period.parse(PERIOD, world.acme_contract.timezone)
    zone = ZoneInfo(world.acme_contract.timezone)
    start = period.first_day
    end = period.next_first_day
    return {
        clock.ticket_id
        for clock in TicketClock.objects.filter(client=world.acme, resolution_verdict="breached")
        if start <= clock.resolution_breached_at.astimezone(zone).date() < end
    }


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_a_missed_figure_opens_exactly_its_breached_tickets_worst_first(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    owner = client_for(world.owner)
    dashboard = owner.get(dashboard_url(world, PERIOD))
    [row] = [r for r in dashboard.context["data"].rows if r.measure.key == "resolution.compliance"]
    assert row.meets_target is False  # the sample misses the 95% the credits are tied to
    link = f"figure=resolution.compliance&amp;part={row.missed_part}"
    assert link in dashboard.content.decode()

    listed = owner.get(tickets_url(world, PERIOD, "resolution.compliance", part="rest"))
    ids = list(listed.context["page"].paginator.object_list)
    breached = _breached_clocks(world)
    assert breached and set(ids) == breached and len(ids) == len(breached)
    assert row.missed_count == len(breached)
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label=PERIOD)
    total = snapshot.figures["resolution.compliance"]["denominator"]
    assert f"{len(breached)} of {total} tickets" in _text(listed)
    assert "Tickets that missed: Resolution SLA compliance in 2025-Q3" in _text(listed)

    # Worst first: business time past the target never rises down the list.
    clocks = {c.ticket_id: c for c in TicketClock.objects.filter(ticket_id__in=ids)}
    over = [
        clocks[i].resolution_seconds - clocks[i].resolution_target_seconds
        for i in ids
        if clocks[i].resolution_seconds is not None
    ]
    assert over == sorted(over, reverse=True) and len(over) > 1


def test_every_narrowed_list_says_n_of_m(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    owner = client_for(world.owner)
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label=PERIOD)
    created = snapshot.values["tickets.created"]
    p1 = snapshot.breakdowns["priority"]["P1"]["tickets.created"]
    narrowed = owner.get(tickets_url(world, PERIOD, "tickets.created", priority="P1"))
    assert f"{p1} of {created} tickets" in _text(narrowed)
    whole = owner.get(tickets_url(world, PERIOD, "tickets.created"))
    assert f"{created} tickets the figure was computed over" in _text(whole)
    assert " of " not in _text(whole).split("tickets the figure")[0][-12:]


def test_every_kpi_of_the_registry_is_on_the_dashboard(world, client_for):
    from kpis.metrics.registry import KPIS

    import_sample(world, "connectwise_service_tickets.csv")
    page = client_for(world.owner).get(dashboard_url(world, PERIOD))
    data = page.context["data"]
    shown = {r.measure.key for r in data.rows} | {r.measure.key for r in data.more_rows}
    sections = {"repeat_clusters", "uptime", "service_credits", "excluded"}
    assert {k.key for k in KPIS} - shown == sections
    text = _text(page)
    for label in (
        "90th percentile time to resolve",
        "Tickets per seat",
        "Mean time to escalate",
        "Resolved at each tier",
    ):
        assert label in text
    assert "tier 1 " in text  # the tier mix in words, not a dict
    assert "resolution.compliance" not in text  # no internal key reaches the owner
