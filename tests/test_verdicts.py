"""The owner's ten-second answer: honest periods (partial, too few, the default period), the
verdict strip against a hand-computed client, the contract's own targets, the empty state."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from contracts.contract_file import TARGET_UNITS, ContractFileError, contract_file_parse
from contracts.services.contract_apply import contract_apply
from kpis.dashboard.periods import (
    MIN_TICKETS,
    Candidate,
    TicketRange,
    default_period,
    period_state,
    ticket_range,
)
from kpis.dashboard.verdicts import (
    Links,
    StripInput,
    credits_for,
    money_text,
    strip_load,
    verdict_strip,
)
from kpis.metrics.registry import KPI
from kpis.models import KpiSnapshot

from .conftest import demo_document
from .test_recompute import import_sample

DEMO_TICKETS = Path(__file__).resolve().parents[1] / "kpis" / "demo"
REACH = TicketRange(first=date(2025, 7, 8), last=date(2026, 7, 21))
TODAY = date(2026, 12, 6)


# Honest periods (pure) --------------------------------------------------------------------


def test_a_period_not_over_yet_is_partial():
    state = period_state("2026-Q4", 300, REACH, TODAY)
    assert state.partial == "it is not over yet"
    assert not state.judged
    assert "Partial period" in state.note


def test_a_period_the_tickets_stop_inside_is_partial_and_says_where():
    state = period_state("2026-Q3", 300, REACH, TODAY)
    assert state.partial == "the imported tickets stop on 21 Jul 2026"
    # The data reaches past the end of Q2: complete.
    assert period_state("2026-Q2", 300, REACH, TODAY).judged


def test_a_year_the_tickets_cover_half_of_is_partial():
    assert period_state("2025", 2000, REACH, TODAY).partial == (
        "the imported tickets start on 8 Jul 2025"
    )
    # The first month counts whole: a quarter starting the month the tickets start is complete.
    assert period_state("2025-Q3", 500, REACH, TODAY).judged


def test_under_twenty_tickets_is_too_few_for_a_verdict():
    few = period_state("2026-Q2", MIN_TICKETS - 1, REACH, TODAY)
    assert few.too_few and not few.partial and not few.judged
    assert "19 tickets raised" in few.note
    assert period_state("2026-Q2", MIN_TICKETS, REACH, TODAY).judged


def test_the_default_is_the_last_complete_quarter_with_enough_tickets():
    stored = [
        Candidate("2026-Q4", "quarter", 0),
        Candidate("2026-Q3", "quarter", 1),  # one ticket, and the data stops in July
        Candidate("2026-07", "month", 1),
        Candidate("2026-Q2", "quarter", 443),
        Candidate("2026-Q1", "quarter", 559),
    ]
    assert default_period(stored, REACH, TODAY) == "2026-Q2"


def test_without_a_judged_quarter_the_default_falls_back_to_one_with_data():
    stored = [Candidate("2026-Q3", "quarter", 1), Candidate("2026-Q2", "quarter", 5)]
    assert default_period(stored, REACH, TODAY) == "2026-Q2"  # complete, though too few
    assert default_period([Candidate("2026-Q4", "quarter", 3)], REACH, TODAY) == "2026-Q4"
    assert default_period([Candidate("2026-11", "month", 0)], REACH, TODAY) == "2026-11"
    assert default_period([], None, TODAY) is None


# The strip against a hand-computed client (pure) ------------------------------------------


class _Contract:
    """The contract terms the strip reads, by hand."""

    pk = 7
    credit_measure = "resolution.compliance"
    credit_period = "month"
    credit_tiers = [{"below": 0.95, "credit_percent": 5}]
    currency = "USD"
    kpi_targets = {"response.compliance": 0.9, "first_time_fix_rate": 0.7}


def _strip(tickets=120, judged_reach=REACH):
    values = {
        "tickets.created": tickets,
        "uptime": {
            "Email": {"value": 0.9995, "target": 0.999, "met": True},
            "Files": {"value": 0.98, "target": 0.995, "met": False},
        },
        "first_time_fix_rate": 0.6,
        "resolution.compliance": 0.9,
        "resolution.median_minutes": 300,
    }
    previous = {"resolution.compliance": 0.95, "resolution.median_minutes": 200}
    data = StripInput(
        label="2026-Q2",
        values=values,
        figures={"commitments.kept_rate": {"numerator": 2, "denominator": 3}},
        breakdowns={
            "priority": {
                "P1": {"response.compliance": 1.0, "resolution.compliance": 0.5},
                "P2": {"response.compliance": 0.85, "resolution.compliance": 0.96},
                "P3": {"response.compliance": None, "resolution.compliance": None},
            }
        },
        previous_values=previous,
        credit_total=Decimal("841"),
        currency="USD",
        overdue=2,
        state=period_state("2026-Q2", tickets, judged_reach, TODAY),
        reach=judged_reach,
        sla_minutes={"response": {"P1": 15, "P2": 60}, "resolution": {"P1": 240, "P2": 600}},
    )
    return verdict_strip(data, _Contract(), _links())


def _links():
    links = Links.__new__(Links)
    links.tickets, links.label = "/t/", "2026-Q2"
    links.outages, links.commitments = "/outages/", "/commitments/"
    return links


def test_the_strip_says_each_promise_met_or_missed_with_its_evidence():
    strip = _strip()
    said = {item.text: (item.status, item.url) for item in strip.promises}
    assert said["P1 response within 15 min: 100.0% (at least 90.0%)"][0] == "met"
    assert said["P2 response within 1 h: 85.0% (at least 90.0%)"] == (
        "missed",
        "/t/?period=2026-Q2&figure=response.compliance&priority=P2&verdict=breached",
    )
    # Resolution's target is the credit threshold (95%).
    assert said["P1 resolution within 4 h: 50.0% (at least 95.0%)"][0] == "missed"
    assert said["P2 resolution within 10 h: 96.0% (at least 95.0%)"] == (
        "met",
        "/t/?period=2026-Q2&figure=resolution.compliance&priority=P2",
    )
    assert not any(text.startswith("P3") for text in said)  # no P3 ticket judged
    assert said["Email uptime: 99.95% (at least 99.90%)"] == ("met", "/outages/")
    assert said["Files uptime: 98.00% (at least 99.50%)"][0] == "missed"
    assert said["Commitments kept: 2 of 3 due in the period (at least 100.0%)"] == (
        "missed",
        "/commitments/",
    )
    assert said["First-time fix: 60.0% (at least 70.0%)"] == (
        "missed",
        "/t/?period=2026-Q2&figure=first_time_fix_rate",
    )
    assert len(strip.missed) == 5
    assert strip.headline == "2026-Q2: 5 of 8 promises missed."


def test_the_strip_says_what_got_worse_and_by_how_much_largest_first():
    worse = [item.text for item in _strip().worse]
    assert worse == [
        "Median time to resolve rose from 3 h 20 min to 5 h",
        "Resolution SLA compliance fell 5.0 points, from 95.0% to 90.0%",
    ]


def test_the_credits_are_one_total_with_two_decimals_and_the_overdue_commitments_count():
    strip = _strip()
    assert strip.credits.text == "Service credits due for 2026-Q2: USD 841.00"
    assert strip.overdue.text == "2 commitments overdue today"
    assert money_text(1234.5, "EUR") == "EUR 1,234.50"


def test_a_partial_or_small_period_carries_no_verdict():
    small = _strip(tickets=12)
    assert all(item.status == "" for item in small.promises)
    assert small.credits.status == ""
    assert small.headline.startswith("2026-Q2: no verdict, too few tickets for a verdict")
    partial = _strip(judged_reach=TicketRange(date(2025, 7, 8), date(2026, 5, 1)))
    assert all(item.status == "" for item in partial.promises)
    assert "the imported tickets stop on 1 May 2026" in partial.headline


def test_a_quarter_of_monthly_credits_adds_up_its_months():
    values = {
        "2026-04": {"service_credits": {"amount": 420.0}},
        "2026-05": {"service_credits": {"amount": 0.0}},
        "2026-06": {"service_credits": {"amount": 420.5}},
        "2026-Q2": {"service_credits": None},
    }
    assert credits_for(_Contract(), "2026-Q2", values) == Decimal("840.50")
    assert credits_for(_Contract(), "2026-05", values) == Decimal("0.00")
    assert credits_for(_Contract(), "2026", values) == Decimal("840.50")


# The contract's own targets ---------------------------------------------------------------


def test_every_target_key_is_a_kpi_of_its_unit_that_can_get_better():
    for key, unit in TARGET_UNITS.items():
        assert KPI[key].unit == unit
        assert KPI[key].better in ("higher", "lower")


def _with_targets(targets) -> str:
    doc = demo_document("acme-dental.yaml")
    doc["contract"]["targets"] = targets
    return yaml.safe_dump(doc)


def test_bad_targets_are_refused_naming_the_key():
    with pytest.raises(ContractFileError) as refused:
        contract_file_parse(
            _with_targets(
                {"first_time_fix": 0.7, "repeat_incident_rate": 10, "resolution.mean_minutes": 1.5}
            )
        )
    [problem] = refused.value.problems
    assert problem.startswith("contract.targets: 'first_time_fix' is not a measure")
    assert "repeat_incident_rate is a fraction between 0 and 1 (0.7 for 70%), not 10" in problem
    assert "resolution.mean_minutes is a positive whole number of minutes, not 1.5" in problem


@pytest.mark.django_db
def test_targets_round_trip_from_the_file_to_the_contract_and_the_scorecard(world, client_for):
    targets = {"first_time_fix_rate": 0.75, "resolution.mean_minutes": 600}
    result = contract_apply(data=contract_file_parse(_with_targets(targets)))
    assert result.changes == [f"updated contract '{world.acme_contract.name}': kpi_targets"]
    world.acme_contract.refresh_from_db()
    assert world.acme_contract.kpi_targets == targets
    again = contract_apply(data=contract_file_parse(_with_targets(targets)))
    assert again.changes == []
    import_sample(world, "connectwise_service_tickets.csv")
    page = client_for(world.owner).get(
        reverse("client_dashboard", args=[world.acme.slug]) + "?period=2025-Q4"
    )
    rows = {row.measure.key: row for row in page.context["data"].rows}
    assert rows["first_time_fix_rate"].target == 0.75
    assert rows["resolution.mean_minutes"].target == 600
    assert rows["resolution.compliance"].target == 0.95  # the credit threshold
    assert rows["proactive_ratio"].target is None
    html = " ".join(page.content.decode().split())
    assert "at least 75%" in html and "at most 10 h" in html
    assert "no target in the contract" in html
    # Response compliance: the contract sets each priority's time, not a compliance level.
    assert rows["response.compliance"].target is None
    assert (
        "each ticket within P1 30 min · P2 1 h · P3 4 h · P4 8 h; no compliance level in the "
        "contract" in html
    )


# Pages ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_period_without_figures_is_an_empty_state_not_a_404(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    url = reverse("client_dashboard", args=[world.acme.slug])
    page = client_for(world.owner).get(f"{url}?period=1999-Q1")
    assert page.status_code == 200
    assert "1999-Q1 has no figures" in page.content.decode()
    assert client_for(world.owner).get(f"{url}?period=garbage").status_code == 200


def _import_birch(world) -> None:
    call_command(
        "import_tickets",
        str(DEMO_TICKETS / "birch-cole-law-halopsa.csv"),
        "--client",
        world.birch.slug,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


@pytest.mark.django_db
def test_birch_opens_on_its_last_complete_quarter_with_the_strip_first(world, client_for):
    """Birch's tickets stop on 21 July 2026 with one ticket raised in July: its pages open on
    2026-Q2, not on a quarter of one ticket."""
    _import_birch(world)
    assert ticket_range(world.birch.pk, "America/New_York").last == date(2026, 7, 21)
    owner = client_for(world.outsider)  # Birch's own admin
    home = owner.get(reverse("client_home", args=[world.birch.slug]))
    strip = home.context["strip"]
    assert strip.label == "2026-Q2" and strip.state.judged
    html = " ".join(home.content.decode().split())
    main = html[html.index("<main") :]
    assert main.index("<section") == main.index('<section class="card verdict-strip')
    assert "Tickets up to 21 Jul 2026" in html
    dashboard = owner.get(reverse("client_dashboard", args=[world.birch.slug]))
    assert dashboard.context["snapshot"].period_label == "2026-Q2"
    page = dashboard.content.decode()
    assert '<option value="2026-Q3" >2026-Q3 (partial)</option>' in page
    # The quarter of one ticket: labelled, no verdict, no "missed" on the scorecard.
    q3 = owner.get(reverse("client_dashboard", args=[world.birch.slug]) + "?period=2026-Q3")
    q3_html = q3.content.decode()
    assert "partial period" in q3_html
    assert 'class="status status-overdue">missed' not in q3_html


@pytest.mark.django_db
def test_the_strip_of_a_real_client_matches_its_snapshot(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    contract = world.acme_contract
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q4")
    strip = strip_load(world.acme, contract, "2025-Q4", date(2026, 12, 6))
    by_priority = snapshot.breakdowns["priority"]
    for priority, figures in by_priority.items():
        value = figures.get("resolution.compliance")
        if value is None:
            continue
        [item] = [i for i in strip.promises if i.text.startswith(f"{priority} resolution")]
        assert f"{value * 100:.1f}%" in item.text
        if strip.state.judged:
            assert item.status == ("met" if value >= 0.95 else "missed")
        else:
            assert item.status == ""
    months = [f"2025-{m}" for m in ("10", "11", "12")]
    total = sum(
        Decimal(str((s.values.get("service_credits") or {}).get("amount") or 0))
        for s in KpiSnapshot.objects.filter(client=world.acme, period_label__in=months)
    )
    assert strip.credits.text.endswith(money_text(total, "USD"))


@pytest.mark.django_db
def test_the_portfolio_shows_each_client_in_its_own_period_and_flags_old_data(world, client_for):
    """Birch's tickets stop on 21 July 2026, with one ticket raised in July: the newest quarter
    with figures (2026-Q3) is not shown for it, and its data, older than the 35-day import
    cadence, is flagged."""
    import_sample(world, "connectwise_service_tickets.csv")
    _import_birch(world)
    page = client_for(world.msp_staff).get(reverse("home"))
    lines = {line.client.slug: line for line in page.context["lines"]}
    birch, acme = lines[world.birch.slug], lines[world.acme.slug]
    assert birch.label == "2026-Q2" and birch.values["resolution.compliance"] is not None
    q2 = KpiSnapshot.objects.get(client=world.birch, period_label="2026-Q2")
    assert birch.values["response.compliance"] == q2.values["response.compliance"]
    assert KpiSnapshot.objects.filter(client=world.birch, period_label="2026-Q3").exists()
    assert acme.values["resolution.compliance"] is not None
    assert birch.stale  # 21 Jul 2026 is more than 35 days ago
    html = " ".join(page.content.decode().split())
    assert "data out of date" in html
    assert f"{reverse('client_dashboard', args=[world.birch.slug])}?period=2026-Q2" in html


@pytest.mark.django_db
def test_start_a_review_defaults_to_the_last_complete_quarter_with_data(world, client_for):
    _import_birch(world)
    page = client_for(world.msp_staff).get(reverse("review_list", args=[world.birch.slug]))
    assert page.context["default_quarter"] == "2026-Q2"
    assert '<option value="2026-Q2" selected>' in page.content.decode()
    assert page.context["quarters"][0] != "2026-Q2"  # newer, emptier quarters are listed first


@pytest.mark.django_db
def test_the_contract_page_lists_its_targets_in_words(world, client_for):
    page = client_for(world.outsider).get(
        reverse("contract_detail", args=[world.birch.slug, world.birch_contract.pk])
    )
    html = " ".join(page.content.decode().split())
    assert "<li>Mean time to resolve: at most 16 h</li>" in html
    assert "<li>First-time fix: at least 70.0%</li>" in html
