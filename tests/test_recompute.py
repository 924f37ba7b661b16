"""KPI recomputation on real PostgreSQL: stored clocks with a hand-computed answer, snapshots
that agree with the tickets they count, the policy version in force at creation, idempotence,
and kpi_report printing every key of kpis.md."""

from __future__ import annotations

import io
import json
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import yaml
from celery.contrib.testing.worker import start_worker
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from contracts.models import SlaPolicyVersion
from kpis.dashboard.drilldown import figure_ticket_ids
from kpis.metrics.policy_clocks import clocks_compute_many
from kpis.metrics.recompute import kpis_recompute
from kpis.metrics.registry import KEYS_IN_ORDER
from kpis.metrics.store import clocks_store, tickets_load
from kpis.models import KpiSnapshot, RecomputeRequest, Ticket, TicketClock
from msp_portal.celery import app

from .conftest import DEMO, agree, apply_yaml_text, without_gaps
from .test_import_api import token_client, wait_finished

SAMPLES = Path(__file__).parent / "data" / "samples"


def import_sample(world, name: str, *extra: str) -> None:
    out = io.StringIO()
    call_command(
        "import_tickets",
        str(SAMPLES / name),
        "--client",
        world.acme.slug,
        *extra,
        stdout=out,
        stderr=io.StringIO(),
    )


def test_a_paused_ticket_has_its_hand_computed_clocks_stored(world):
    import_sample(world, "servicenow_incident_audit.csv")
    clock = TicketClock.objects.get(ticket__external_id="INC0058685")
    # P3 in business hours (Mon–Fri 08:00–17:00 Chicago). Created Wed 1 Oct 2025 11:04,
    # first response 11:09:50: 350 s. Resolved Fri 3 Oct 21:16:51, after hours: Wed 5 h 56 min
    # + Thu 9 h + Fri 9 h = 86,160 s, minus the pause from Wed 11:39:50 to Thu 17:32:50, which
    # is 5 h 20 min 10 s on Wednesday + all of Thursday's 9 h = 51,610 s: 34,550 s.
    assert clock.response_seconds == 350
    assert clock.resolution_seconds == 34_550
    assert (clock.response_verdict, clock.resolution_verdict) == ("met", "met")
    assert clock.resolution_target_seconds == 1440 * 60


def test_snapshots_agree_with_the_tickets_they_count(world):
    import_sample(world, "connectwise_service_tickets.csv")
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    figures = snapshot.figures
    created_ids = set(figure_ticket_ids(world.acme, "2025-Q3", "tickets.created"))
    in_q3 = Ticket.objects.filter(
        client=world.acme,
        created_at__gte="2025-07-01T05:00:00Z",  # 1 Jul 00:00 in Chicago
        created_at__lt="2025-10-01T05:00:00Z",
    )
    assert created_ids == set(in_q3.values_list("pk", flat=True))
    met = TicketClock.objects.filter(ticket__in=in_q3, response_verdict="met").count()
    breached = TicketClock.objects.filter(ticket__in=in_q3, response_verdict="breached").count()
    assert snapshot.values["response.sla_met"] == met
    assert snapshot.values["response.compliance"] == met / (met + breached)
    assert figures["response.compliance"]["denominator"] == met + breached
    assert set(snapshot.values) == set(KEYS_IN_ORDER)
    assert (
        snapshot.breakdowns["priority"]["P1"]["tickets.created"]
        == in_q3.filter(priority="P1").count()
    )


def test_recomputing_gives_the_same_figures(world):
    import_sample(world, "halopsa_tickets.csv")
    before = {s.period_label: s.values for s in KpiSnapshot.objects.filter(client=world.acme)}
    as_of = KpiSnapshot.objects.first().computed_at
    kpis_recompute(world.acme, as_of=as_of)
    after = {s.period_label: s.values for s in KpiSnapshot.objects.filter(client=world.acme)}
    assert before == after
    assert TicketClock.objects.filter(client=world.acme).count() == 2078


def test_a_policy_change_mid_quarter_applies_only_to_tickets_created_after_it(world):
    document = yaml.safe_load((DEMO / "acme-dental.yaml").read_text())
    document["sla"]["effective_from"] = date(2025, 8, 15)
    document["sla"]["targets"]["P3"]["resolution_minutes"] = 720
    apply_yaml_text(yaml.safe_dump(document))
    import_sample(world, "halopsa_tickets.csv")
    old, new = SlaPolicyVersion.objects.filter(contract=world.acme_contract).order_by(
        "effective_from"
    )
    before = TicketClock.objects.get(ticket__external_id="48101")  # 8 Jul 2025, P3
    assert before.policy_version_id == old.pk and before.resolution_target_seconds == 1440 * 60
    later = TicketClock.objects.filter(
        ticket__priority="P3", ticket__created_at__gte="2025-08-16T00:00:00Z"
    ).first()
    assert later.policy_version_id == new.pk and later.resolution_target_seconds == 720 * 60


def test_tickets_in_a_customer_owned_area_get_no_verdict(world):
    """The matrix says access approvals are the customer's; the contract maps the 'Accounts'
    ticket category to that area, so those tickets are not held against the MSP."""
    document = yaml.safe_load((DEMO / "acme-dental.yaml").read_text())
    for area in document["responsibilities"]:
        if area["area"] == "Data ownership and access approvals":
            area["categories"] = ["accounts"]  # matched whatever the case
    apply_yaml_text(yaml.safe_dump(without_gaps(document)))
    agree(world.acme_contract.current_matrix())  # before any ticket: from the contract's start
    import_sample(world, "connectwise_service_tickets.csv")
    accounts = Ticket.objects.filter(client=world.acme, category="Accounts")
    assert accounts.exists()
    assert (
        not TicketClock.objects.filter(ticket__in=accounts)
        .exclude(no_verdict_reason="customer-owned area")
        .exists()
    )
    assert not TicketClock.objects.filter(ticket__in=accounts).exclude(response_verdict="").exists()
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    in_q3 = accounts.filter(
        created_at__gte="2025-07-01T05:00:00Z", created_at__lt="2025-10-01T05:00:00Z"
    )
    assert snapshot.values["excluded"]["customer-owned area"] == in_q3.count()


def test_tickets_without_a_verdict_are_counted_by_reason(world):
    # One ticket has no priority. Autotask names the company by its id: routed here.
    import_sample(world, "autotask_tickets.csv", "--company", "174=acme-dental")
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    assert snapshot.values["excluded"] == {"unmapped priority": 1}
    [ticket] = figure_ticket_ids(world.acme, "2025-Q3", "excluded")
    assert Ticket.objects.get(pk=ticket).priority_raw == ""


def test_kpi_report_prints_every_key_of_the_spec(world):
    import_sample(world, "connectwise_service_tickets.csv")
    out = io.StringIO()
    call_command(
        "kpi_report",
        "--client",
        world.acme.slug,
        "--period",
        "2025-Q3",
        "--format",
        "json",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert list(report) == KEYS_IN_ORDER
    assert 0 <= report["resolution.compliance"] <= 1
    text = io.StringIO()
    call_command("kpi_report", "--client", world.acme.slug, "--period", "2025-Q3", stdout=text)
    assert "resolution.compliance" in text.getvalue() and "Acme" in text.getvalue()


def test_kpi_report_recomputes_the_months_an_import_left_stale_before_printing(world):
    import_sample(world, "connectwise_service_tickets.csv", "--no-recompute")
    assert RecomputeRequest.objects.filter(client=world.acme).exists()
    assert not KpiSnapshot.objects.filter(client=world.acme).exists()
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "kpi_report",
        "--client",
        world.acme.slug,
        "--period",
        "2025-Q3",
        "--format",
        "json",
        stdout=out,
        stderr=err,
    )
    report = json.loads(out.getvalue())
    stored = KpiSnapshot.objects.get(client=world.acme, period_label="2025-Q3")
    assert report["tickets.created"] == stored.values["tickets.created"] > 0
    assert "changed since the figures were computed: recomputing them first" in err.getvalue()
    assert not RecomputeRequest.objects.filter(client=world.acme).exists()


def test_kpi_report_says_why_when_there_is_nothing(world):
    with pytest.raises(CommandError, match="no KPIs stored"):
        call_command("kpi_report", "--client", world.acme.slug, "--period", "2019-Q1")
    with pytest.raises(CommandError, match="not a period"):
        call_command("kpi_report", "--client", world.acme.slug, "--period", "Q3")


def reexport_with_48101_as_p1(folder: Path) -> Path:
    """The ConnectWise sample again with ticket 48101 (created 8 July 2025) raised to P1."""
    lines = (SAMPLES / "connectwise_service_tickets.csv").read_text(encoding="utf-8-sig")
    changed = lines.replace(
        "48101,Acme Dental Group,Offboarding - gus.lopez,Service Desk,Closed (resolved),"
        "Priority 3 - Normal Response",
        "48101,Acme Dental Group,Offboarding - gus.lopez,Service Desk,Closed (resolved),"
        "Priority 1 - Critical",
    )
    assert changed != lines
    export = folder / "connectwise-again.csv"
    export.write_text(changed, encoding="utf-8")
    return export


def computed_at_by_period(client) -> dict:
    return dict(
        KpiSnapshot.objects.filter(client=client).values_list("period_label", "computed_at")
    )


@pytest.mark.django_db(transaction=True)
def test_a_changed_export_recomputes_only_the_periods_it_touches(world, tmp_path):
    """Ticket 48101 (created 8 July 2025, resolved the next day) becomes P1 in a re-export.
    The worker recomputes July to September 2025 (its month and the two a repeat could reach),
    Q3 and 2025; every other period keeps its snapshot untouched."""
    import_sample(world, "connectwise_service_tickets.csv")
    before = computed_at_by_period(world.acme)
    july_p1 = KpiSnapshot.objects.get(client=world.acme, period_label="2025-07").breakdowns[
        "priority"
    ]["P1"]["tickets.created"]
    export = reexport_with_48101_as_p1(tmp_path)
    api = token_client(world.msp_staff)
    app.control.purge()  # the full recomputes the world's contract files queued: not this test's
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        with export.open("rb") as handle:
            form = {"file": handle, "client": world.acme.slug, "preset": "connectwise"}
            response = api.post(reverse("import-upload"), form, format="multipart")
        assert response.status_code == 202, response.content
        body = wait_finished(api, response.json()["id"])
        deadline = time.monotonic() + 60
        while (
            KpiSnapshot.objects.get(client=world.acme, period_label="2025-07").computed_at
            == (before["2025-07"])
        ):
            assert time.monotonic() < deadline, "no recompute after the import"
            time.sleep(0.3)
    assert (body["created"], body["updated"]) == (0, 1)
    after = computed_at_by_period(world.acme)
    recomputed = {label for label in after if after[label] != before[label]}
    assert recomputed == {"2025-07", "2025-08", "2025-09", "2025-Q3", "2025"}
    assert after.keys() == before.keys() and len(before) > len(recomputed)
    july = KpiSnapshot.objects.get(client=world.acme, period_label="2025-07")
    assert july.breakdowns["priority"]["P1"]["tickets.created"] == july_p1 + 1
    assert not RecomputeRequest.objects.filter(client=world.acme).exists()


def test_a_recompute_writes_only_the_clocks_that_changed(world):
    import_sample(world, "halopsa_tickets.csv")
    as_of = KpiSnapshot.objects.first().computed_at
    tickets = tickets_load([world.acme.pk])
    clocks = clocks_compute_many(tickets, {world.acme.pk: world.acme_contract}, as_of)
    assert clocks_store([world.acme.pk], clocks).len() == 0  # nothing changed since the import
    first = clocks["id"][0]
    edited = clocks.with_columns(
        response_seconds=pl.when(pl.col("id") == first).then(7).otherwise("response_seconds")
    ).filter(pl.col("id") != clocks["id"][1])
    assert clocks_store([world.acme.pk], edited).to_list() == [first]
    assert TicketClock.objects.get(ticket_id=first).response_seconds == 7
    assert not TicketClock.objects.filter(ticket_id=clocks["id"][1]).exists()
    assert TicketClock.objects.filter(client=world.acme).count() == clocks.height - 1


def test_a_partial_recompute_also_redoes_periods_whose_clocks_moved_on(world):
    """An open ticket is pending on one run and past its target on the next; a recompute asked
    only for another month still redoes the ticket's month, so the snapshot and the clocks its
    drill-down lists agree."""
    import_sample(world, "connectwise_service_tickets.csv")
    ticket = (
        Ticket.objects.filter(client=world.acme, resolved_at__isnull=True, priority="P3")
        .order_by("created_at")
        .first()
    )
    assert ticket is not None, "the sample has open tickets"
    early = ticket.created_at + timedelta(minutes=1)
    kpis_recompute(world.acme, as_of=early)
    month = timezone.localtime(ticket.created_at, ZoneInfo("America/Chicago")).strftime("%Y-%m")
    assert TicketClock.objects.get(ticket=ticket).resolution_verdict == "pending"
    assert ticket.pk in figure_ticket_ids(world.acme, month, "resolution.sla_pending")
    other = "2026-01" if month != "2026-01" else "2025-12"
    RecomputeRequest.objects.create(client=world.acme, month=date.fromisoformat(other + "-01"))
    kpis_recompute(world.acme, full=False)
    assert TicketClock.objects.get(ticket=ticket).resolution_verdict == "breached"
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label=month)
    pending = figure_ticket_ids(world.acme, month, "resolution.sla_pending")
    assert ticket.pk not in pending
    assert snapshot.values["resolution.sla_pending"] == len(pending)


def test_the_nightly_recompute_deals_clients_into_batches_that_cover_each_once():
    from kpis.tasks import batches

    assert batches([5, 1, 9, 3, 7], 2) == [[5, 7, 9], [1, 3]]
    assert batches([4], 2) == [[4]]
    assert batches([], 2) == []
    ids = list(range(1, 201))
    dealt = batches(ids, 2)
    assert sorted(i for batch in dealt for i in batch) == ids and len(dealt) == 2


@pytest.mark.django_db(transaction=True)
def test_the_nightly_recompute_runs_in_batches_on_a_real_worker(world):
    import_sample(world, "halopsa_tickets.csv")
    KpiSnapshot.objects.all().delete()
    app.control.purge()
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        from kpis.tasks import kpis_recompute_all

        assert kpis_recompute_all.delay().get(timeout=60) == 3  # Acme, Birch, Other Co
        deadline = time.monotonic() + 60
        while not KpiSnapshot.objects.filter(client=world.acme).exists():
            assert time.monotonic() < deadline, "the batches did not run"
            time.sleep(0.3)
    assert KpiSnapshot.objects.filter(client=world.acme, period_label="2025-Q3").exists()
