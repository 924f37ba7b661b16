"""Exported pause totals end to end on real PostgreSQL (docs/kpis.md, "The clock"): a
calendar total stored with its kind and taken off as its business share, and a total longer
than the ticket was open warned on its row and counted under `excluded`."""

from __future__ import annotations

import io

from django.core.management import call_command

from kpis.models import ImportJob, KpiSnapshot, Ticket, TicketClock

# Generic spreadsheet columns; naive times in the client's zone (America/Chicago). Acme's P3:
# 1,440 business minutes, Mon–Fri 08:00–17:00.
EXPORT = """Ticket,Opened,Resolved,Priority,Paused Minutes
PZ-1,2025-09-08 09:00,2025-09-10 09:00,P3,1800
PZ-2,2025-09-08 09:00,2025-09-10 09:00,P3,3000
"""


def test_pause_totals_come_off_in_their_own_kind_of_time(world, tmp_path):
    path = tmp_path / "paused.csv"
    path.write_text(EXPORT)
    call_command(
        "import_tickets", str(path), "--client", world.acme.slug, "--preset", "generic",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    assert Ticket.objects.get(external_id="PZ-1").paused_time == "calendar"
    # Mon 09:00 → Wed 09:00: 48 wall-clock hours, 18 business hours (8 + 9 + 1). 1,800
    # calendar minutes (30 h) take off 18 × 30 / 48 = 11.25 h: 6.75 h = 24,300 s, met.
    # (Read as business minutes, as before, the clock said 0 s.)
    clock = TicketClock.objects.get(ticket__external_id="PZ-1")
    assert (clock.resolution_seconds, clock.resolution_verdict) == (24_300, "met")
    # 3,000 minutes (50 h) paused in 48 h open: a warning on row 3, no resolution verdict.
    job = ImportJob.objects.latest("pk")
    problem = job.problems.get(row=3)
    assert (problem.severity, problem.column, problem.value) == (
        "warning",
        "Paused Minutes",
        "3000",
    )
    assert "longer than the ticket was open" in problem.reason
    clock = TicketClock.objects.get(ticket__external_id="PZ-2")
    assert (clock.resolution_verdict, clock.no_verdict_reason) == ("", "paused longer than open")
    assert clock.resolution_seconds is None or clock.resolution_seconds < 0
    snapshot = KpiSnapshot.objects.get(client=world.acme, period_label="2025-09")
    assert snapshot.values["excluded"] == {"paused longer than open": 1}
