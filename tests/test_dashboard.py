"""The client dashboard and its ticket drill-down, on real PostgreSQL with imported samples."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from django.urls import reverse

from kpis.metrics.recompute import kpis_recompute
from kpis.models import KpiSnapshot, Ticket, TicketClock

from .test_recompute import import_sample


def dashboard_url(world, period=""):
    url = reverse("client_dashboard", args=[world.acme.slug])
    return f"{url}?period={period}" if period else url


def tickets_url(world, period, figure, **extra):
    query = "&".join(f"{k}={v}" for k, v in {"period": period, "figure": figure, **extra}.items())
    return f"{reverse('client_tickets', args=[world.acme.slug])}?{query}"


def test_the_owner_sees_every_scorecard_figure_linked_to_its_tickets(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    page = client_for(world.owner).get(dashboard_url(world, "2025-Q4"))
    assert page.status_code == 200
    html = page.content.decode()
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q4")
    compliance = snapshot.values["resolution.compliance"]
    assert f"{compliance * 100:.1f}".rstrip("0").rstrip(".") + "%" in html
    assert 'data-figure="resolution.compliance"' in html
    # Compared with the quarter before; the sample has no figures a year before.
    assert "compared with 2025-Q3 and a year before (no figures)" in " ".join(html.split())
    [row] = [r for r in page.context["data"].rows if r.measure.key == "resolution.compliance"]
    before = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    assert row.previous == before.values["resolution.compliance"]
    assert row.change == ("better" if compliance > row.previous else "worse")
    assert 'id="dashboard-data"' in html and "vendor/plotly/plotly.min.js" in html
    for chart in ("chart-priority", "chart-volume"):
        assert f'id="{chart}"' in html
    # The default period is the last complete quarter with data: in the sample, its newest.
    newest = max(
        (
            s
            for s in KpiSnapshot.objects.filter(client=world.acme, period_kind="quarter")
            if s.values["tickets.created"]
        ),
        key=lambda s: s.period_start,
    )
    assert (
        f'<option value="{newest.period_label}" selected>'
        in client_for(world.owner).get(dashboard_url(world)).content.decode()
    )


def test_the_compliance_figure_lists_exactly_its_denominator(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    denominator = snapshot.figures["resolution.compliance"]["denominator"]
    page = client_for(world.owner).get(tickets_url(world, "2025-Q3", "resolution.compliance"))
    assert page.status_code == 200
    assert page.context["count"] == denominator
    assert page.context["page"].paginator.count == denominator
    breached = client_for(world.owner).get(
        tickets_url(world, "2025-Q3", "resolution.compliance", verdict="breached")
    )
    assert breached.context["page"].paginator.count == snapshot.values["resolution.sla_breached"]
    met = client_for(world.owner).get(
        tickets_url(world, "2025-Q3", "resolution.compliance", part="numerator")
    )
    # The part a rate counts, out of every ticket the figure was computed over.
    assert met.context["shown"] == snapshot.values["resolution.sla_met"]
    assert met.context["count"] == denominator


def q3_ticket_titled(world, title: str) -> Ticket:
    """Imports the ConnectWise sample and gives one of its Q3 2025 tickets a hostile title."""
    import_sample(world, "connectwise_service_tickets.csv")
    ticket = Ticket.objects.filter(
        client=world.acme,
        created_at__gte="2025-07-01T05:00:00Z",
        created_at__lt="2025-10-01T05:00:00Z",
    ).first()
    ticket.title = title
    ticket.save(update_fields=["title"])
    return ticket


def test_the_csv_export_neutralises_formulas_and_lists_the_same_tickets(world, client_for):
    ticket = q3_ticket_titled(world, '=HYPERLINK("http://evil.test","click")')
    response = client_for(world.owner).get(
        tickets_url(world, "2025-Q3", "tickets.created", format="csv")
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    assert len(rows) - 1 == snapshot.values["tickets.created"]
    titles = {row[2] for row in rows[1:]}
    assert "'" + ticket.title in titles and ticket.title not in titles


def test_titles_are_escaped_in_the_ticket_list(world, client_for):
    q3_ticket_titled(world, "<script>alert(1)</script>")  # the quarter's newest: first listed
    html = client_for(world.owner).get(tickets_url(world, "2025-Q3", "tickets.created")).content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in html  # listed, on this page, escaped
    assert b"<script>alert(1)</script>" not in html


def test_periods_without_figures_are_said_and_unknown_figures_are_not_found(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    owner = client_for(world.owner)
    # A period without figures is an empty state on the dashboard (tests/test_verdicts.py) and
    # on the ticket list, which points to the latest period with figures.
    assert owner.get(dashboard_url(world, "1999-Q1")).status_code == 200
    listed = owner.get(tickets_url(world, "1999-Q1", "tickets.created"))
    assert listed.status_code == 200
    assert "1999-Q1 has no figures: no ticket of it has been imported" in listed.content.decode()
    assert owner.get(tickets_url(world, "2025-Q3", "no.such.figure")).status_code == 404


def test_a_client_without_figures_gets_an_explanation_not_an_error(world, client_for):
    page = client_for(world.owner).get(dashboard_url(world))
    assert page.status_code == 200
    assert "No figures yet" in page.content.decode()


def test_the_dashboard_and_list_use_a_fixed_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    import_sample(world, "connectwise_service_tickets.csv")
    owner = client_for(world.owner)
    owner.get(dashboard_url(world, "2025-Q3"))  # warm the session and caches
    # The user with their memberships (one query), the client with its contracts' parties and
    # its current contract (one), the client's periods, the commitments overdue today (the
    # verdict strip says how many); the figures and the tickets' span come from caches.
    with django_assert_max_num_queries(4):
        owner.get(dashboard_url(world, "2025-Q3"))
    with django_assert_max_num_queries(20):  # a list's first view finds its tickets
        owner.get(tickets_url(world, "2025", "tickets.created", verdict="met"))
    # Again: the same two, the snapshot's stamp, and the page's own tickets.
    with django_assert_max_num_queries(4):
        page = owner.get(tickets_url(world, "2025", "tickets.created", verdict="met", page=2))
    assert len(page.context["page"].object_list) == 50  # a full page, in one query


def test_a_changed_ticket_shows_in_the_list_despite_the_row_cache(world, client_for):
    ticket = q3_ticket_titled(world, "Printer on fire")  # the quarter's newest: first listed
    owner = client_for(world.owner)
    url = tickets_url(world, "2025-Q3", "tickets.created")
    assert "Printer on fire" in owner.get(url).content.decode()
    ticket.title = "Printer put out"
    ticket.save(update_fields=["title"])
    html = owner.get(url).content.decode()
    assert "Printer put out" in html and "Printer on fire" not in html


def test_a_listed_ticket_without_a_clock_shows_no_verdict(world, client_for):
    # Between an import and its recompute (or while a recompute rewrites them) a listed ticket
    # can be without its clock: the row says so instead of failing the page.
    ticket = q3_ticket_titled(world, "Clock not computed yet")
    owner = client_for(world.owner)
    url = tickets_url(world, "2025-Q3", "tickets.created")
    owner.get(url)  # the list's ids are cached with the clock still there
    TicketClock.objects.filter(ticket=ticket).delete()
    page = owner.get(url)
    assert page.status_code == 200
    row = page.content.decode().split("Clock not computed yet")[1].split("</tr>")[0]
    assert row.count("no verdict") == 2


def test_the_breached_list_follows_a_recompute(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    owner = client_for(world.owner)
    url = tickets_url(world, "2025-Q3", "resolution.compliance", verdict="breached")
    before = owner.get(url).context["page"].paginator.count  # cached from here on
    # A July ticket resolved in time, as a re-export says it was resolved in late September.
    ticket = Ticket.objects.filter(
        client=world.acme,
        clock__resolution_verdict="met",
        created_at__gte="2025-07-01T05:00:00Z",
        resolved_at__lt="2025-08-01T05:00:00Z",
    ).first()
    ticket.resolved_at = ticket.closed_at = datetime(2025, 9, 25, 15, tzinfo=UTC)
    ticket.save(update_fields=["resolved_at", "closed_at"])
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    kpis_recompute(world.acme, as_of=snapshot.computed_at + timedelta(minutes=1))
    assert owner.get(url).context["page"].paginator.count == before + 1
    listed = list(csv.reader(io.StringIO(owner.get(f"{url}&format=csv").content.decode())))
    assert ticket.external_id in {row[1] for row in listed[1:]}
    snapshot.refresh_from_db()
    assert len(listed) - 1 == snapshot.values["resolution.sla_breached"]


def test_msp_staff_see_their_clients_side_by_side_and_no_one_else(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    page = client_for(world.msp_staff).get(reverse("home"))
    assert page.status_code == 200
    names = [line.client.name for line in page.context["lines"]]
    assert names == ["Acme Dental Group", "Birch & Cole Law"]  # not Other Co (another MSP)
    acme = page.context["lines"][0]
    label = acme.label  # each client in its own default period (tests/test_verdicts.py)
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label=label)
    assert acme.values["resolution.compliance"] == snapshot.values["resolution.compliance"]
    assert acme.last_import is not None and page.context["lines"][1].last_import is None
    assert acme.gaps >= 1  # the demo matrix leaves change management without a split
    html = page.content.decode()
    assert reverse("client_dashboard", args=[world.acme.slug]) in html
    assert "Other Co" not in html


def test_the_portfolio_costs_the_same_queries_for_more_clients(
    world, client_for, django_assert_max_num_queries
):
    staff = client_for(world.msp_staff)
    staff.get(reverse("home"))
    with django_assert_max_num_queries(18):
        staff.get(reverse("home"))


def test_a_ticket_page_shows_its_clocks_and_timeline_in_the_contract_zone(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    ticket = Ticket.objects.get(client=world.acme, external_id="48101")  # 8 Jul 2025 16:05 CDT
    page = client_for(world.owner).get(reverse("client_ticket", args=[world.acme.slug, ticket.pk]))
    assert page.status_code == 200
    html = " ".join(page.content.decode().split())
    assert "Tue 8 Jul 2025 16:05</time> Created" in html
    assert "First response" in html and "Resolved (final)" in html
    assert page.context["clock"].resolution_verdict in ("met", "breached")
    listing = client_for(world.owner).get(tickets_url(world, "2025-07", "tickets.created"))
    first = listing.context["page"].object_list[0]
    assert reverse("client_ticket", args=[world.acme.slug, first["pk"]]) in listing.content.decode()


def test_a_recompute_shows_on_the_next_view_despite_the_page_cache(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    owner = client_for(world.owner)
    first = owner.get(dashboard_url(world, "2025-Q4"))
    later = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q4").computed_at
    kpis_recompute(world.acme, as_of=later + timedelta(days=400))
    second = owner.get(dashboard_url(world, "2025-Q4"))
    assert first.context["data"].stamp != second.context["data"].stamp
    stamp = (later + timedelta(days=400)).strftime("%-d %b %Y")
    assert f"Computed {stamp}" in second.content.decode()


def test_plotly_is_served_by_the_app_and_only_its_one_file_is_collected():
    from django.contrib.staticfiles import finders

    from msp_portal.staticfinders import PlotlyFinder

    assert finders.find("vendor/plotly/plotly.min.js").endswith("plotly.min.js")
    assert finders.find("vendor/plotly/widgetbundle.js") is None
    assert [path for path, _ in PlotlyFinder().list([])] == ["plotly.min.js"]


def test_the_cached_dashboard_block_is_rendered_anew_for_a_new_release(world, client_for):
    """The whole content block is served from the cache, and a deploy that changes its markup
    (a new PAGE_RELEASE) renders it again rather than serving the old one."""
    from django.core.cache import cache

    import kpis.dashboard.views as views

    import_sample(world, "connectwise_service_tickets.csv")
    owner = client_for(world.owner)
    assert "Scorecard" in owner.get(dashboard_url(world, "2025-Q3")).content.decode()
    redis = cache._cache.get_client(write=True)
    stored = [k.decode() for k in redis.keys("*template.cache.dashboard-page.*")]
    assert stored, "the dashboard's block was not cached"
    for raw in stored:  # what the cache holds is what the next view shows
        cache.set(raw.split(":", 2)[2], "<p>markup of the previous release</p>", 60)
    page = owner.get(dashboard_url(world, "2025-Q3")).content.decode()
    assert "markup of the previous release" in page and "Scorecard" not in page
    original = views.PAGE_RELEASE
    try:
        views.PAGE_RELEASE = "next-release"
        page = owner.get(dashboard_url(world, "2025-Q3")).content.decode()
    finally:
        views.PAGE_RELEASE = original
    assert "markup of the previous release" not in page and "Scorecard" in page
