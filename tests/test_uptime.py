"""Uptime per service: hand-computed from outage windows, imported from CSV, in the snapshots."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from kpis.metrics.period import Period
from kpis.metrics.uptime import OutageWindow, uptime_figure
from kpis.models import KpiSnapshot, Outage

JULY = Period.parse("2025-07", "America/Chicago")  # 31 days: 44,640 minutes
TARGETS = {"Email and collaboration": 0.999, "Practice management system": 0.995}


def d(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_unplanned_outages_count_once_and_maintenance_not_at_all():
    outages = [
        OutageWindow("Email and collaboration", d("2025-07-10 14:00"), d("2025-07-10 16:00")),
        # Inside the first one: already counted.
        OutageWindow("Email and collaboration", d("2025-07-10 14:30"), d("2025-07-10 15:30")),
        OutageWindow("Email and collaboration", d("2025-07-12 02:00"), d("2025-07-12 06:00"),
                     planned=True),
    ]  # fmt: skip
    value = uptime_figure(outages, TARGETS, JULY, as_of=d("2025-12-01 00:00")).value
    email = value["Email and collaboration"]
    assert email["outage_minutes"] == 120
    assert email["value"] == pytest.approx(1 - 120 / 44_640)
    assert email["met"] is False  # 99.73% < 99.9%
    assert value["Practice management system"] == {
        "value": 1.0, "target": 0.995, "met": True, "outage_minutes": 0.0,
    }  # fmt: skip


def test_an_outage_crossing_the_period_edge_counts_only_inside_it():
    # Down from 30 Jun 23:00 to 1 Jul 01:00 Chicago (04:00–06:00 UTC); July starts 05:00 UTC.
    outage = OutageWindow("Email and collaboration", d("2025-07-01 04:00"), d("2025-07-01 06:00"))
    value = uptime_figure([outage], TARGETS, JULY, as_of=d("2025-12-01 00:00")).value
    assert value["Email and collaboration"]["outage_minutes"] == 60


def test_an_outage_still_open_runs_until_now():
    outage = OutageWindow("Email and collaboration", d("2025-07-31 05:00"), None)
    value = uptime_figure([outage], TARGETS, JULY, as_of=d("2025-07-31 06:30")).value
    assert value["Email and collaboration"]["outage_minutes"] == 90


def test_outages_imported_from_csv_reach_the_snapshot(world, tmp_path):
    call_command(
        "import_tickets", "tests/data/samples/halopsa_tickets.csv", "--client", world.acme.slug,
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    path = tmp_path / "outages.csv"
    path.write_text(
        "Service,Start,End,Planned,Note\n"
        "Email and collaboration,2025-07-10 09:00,2025-07-10 11:00,no,Exchange Online incident\n"
        "Email and collaboration,2025-07-12 21:00,2025-07-13 01:00,yes,Patching window\n"
        ",2025-07-14 09:00,2025-07-14 10:00,no,\n"
        "Practice management system,2025-07-20 10:00,2025-07-20 09:00,no,\n"
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import_outages", str(path), "--client", world.acme.slug, stdout=out, stderr=err)
    assert out.getvalue().strip() == "created=2 updated=0 rejected=2"
    assert "row 4: service is empty" in err.getvalue()
    assert "row 5: ends before it starts" in err.getvalue()
    outage = Outage.objects.get(planned=False)
    assert outage.started_at.isoformat() == "2025-07-10T14:00:00+00:00"  # 09:00 CDT
    uptime = KpiSnapshot.objects.get(client=world.acme, period_label="2025-07").values["uptime"]
    assert uptime["Email and collaboration"]["outage_minutes"] == 120
    again = io.StringIO()
    call_command("import_outages", str(path), "--client", world.acme.slug, stdout=again,
                 stderr=io.StringIO())  # fmt: skip
    assert again.getvalue().strip() == "created=0 updated=2 rejected=2"


def test_a_file_without_a_start_column_is_rejected_naming_it(world, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Service,When\nEmail,2025-07-10\n")
    with pytest.raises(CommandError, match="no 'start' column"):
        call_command("import_outages", str(path), "--client", world.acme.slug)


def outages_url(world):
    return reverse("contract_outages", args=[world.acme.slug, world.acme_contract.pk])


def test_msp_staff_record_an_outage_in_the_contract_zone_and_it_is_audited(world, client_for):
    page = client_for(world.msp_staff)
    response = page.post(outages_url(world), {
        "service": "Email and collaboration", "started_at": "2025-07-10T09:00",
        "ended_at": "2025-07-10T11:30", "note": "Exchange Online <b>incident</b>",
    })  # fmt: skip
    assert response.status_code == 302
    outage = Outage.objects.get(client=world.acme)
    assert outage.started_at.isoformat() == "2025-07-10T14:00:00+00:00"  # 09:00 CDT
    assert (outage.ended_at - outage.started_at).total_seconds() == 150 * 60
    assert not outage.planned
    event = world.acme_contract.audit_events.get(action="create", object_type="outage")
    assert event.actor == world.msp_staff
    listing = page.get(outages_url(world)).content.decode()
    assert "10 Jul 2025 09:00" in listing  # shown in Chicago time, as entered
    assert "Exchange Online &lt;b&gt;incident&lt;/b&gt;" in listing


def test_an_outage_that_ends_before_it_starts_is_refused_naming_the_field(world, client_for):
    page = client_for(world.owner)
    response = page.post(outages_url(world), {
        "service": "Email and collaboration", "started_at": "2025-07-10T09:00",
        "ended_at": "2025-07-10T08:00",
    })  # fmt: skip
    assert response.status_code == 400
    assert "the outage must end after it starts" in response.content.decode()
    assert 'value="2025-07-10T09:00"' in response.content.decode()  # what was typed is kept
    assert not Outage.objects.exists()


def test_read_only_members_see_outages_but_cannot_record_or_remove_them(world, client_for):
    outage = Outage.objects.create(client=world.acme, service="Email and collaboration",
                                   started_at=d("2025-07-10 14:00+00:00"))  # fmt: skip
    page = client_for(world.viewer)
    listing = page.get(outages_url(world))
    assert listing.status_code == 200 and "still down" in listing.content.decode()
    assert "Record outage" not in listing.content.decode()
    assert page.post(outages_url(world), {"service": "x", "started_at": "2025-07-10T09:00"}
                     ).status_code == 403  # fmt: skip
    remove = reverse("outage_remove", args=[world.acme.slug, world.acme_contract.pk, outage.pk])
    assert page.post(remove).status_code == 403
    assert client_for(world.msp_staff).post(remove).status_code == 302
    assert not Outage.objects.exists()
