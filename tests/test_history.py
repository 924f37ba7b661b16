"""Event-log histories kept in the database (kpis.TicketEvent) and folded again at recompute
(#19): a change of the policy's pause states reaches the tickets with no import. Since #24 such
a change of agreed terms is a correction both sides approve (it says which results it changes).

One P1 ticket (P1 runs in Acme's 24x7 calendar, so its clocks are wall-clock minutes):
  10:00 New · 10:30 In Progress · 11:00 Waiting on Parts · 13:00 In Progress · 14:30 Resolved
  response  = 10:00 → 10:30 = 30 min
  resolution = 10:00 → 14:30 = 270 min; P1's target is 240 min: breached.
  With "Waiting on Parts" a pause state: 270 − (13:00 − 11:00 = 120) = 150 min: met.
"""

from __future__ import annotations

import io
import json

import pytest

from contracts.models import SlaPolicyVersion
from kpis.metrics.recompute import kpis_recompute
from kpis.models import ImportJob, Ticket, TicketClock, TicketEvent
from tests.conftest import demo_document, propose_and_agree
from tests.test_import import run_import

HEADER = "Ticket,Updated,Status,Priority,Assignee"
ROWS = [
    "H-1,2026-03-02T10:00:00Z,New,P1,",
    "H-1,2026-03-02T10:30:00Z,In Progress,P1,dana",
    "H-1,2026-03-02T11:00:00Z,Waiting on Parts,P1,dana",
    "H-1,2026-03-02T13:00:00Z,In Progress,P1,dana",
    "H-1,2026-03-02T14:30:00Z,Resolved,P1,dana",
    "H-2,2026-03-03T09:00:00Z,New,P1,",
    "H-2,2026-03-03T09:10:00Z,Resolved,P1,eli",
]
MAPPING = {
    "preset": "event_log",
    "columns": {
        "external_id": "Ticket",
        "updated_at": "Updated",
        "status": "Status",
        "priority": "Priority",
        "assignee": "Assignee",
    },
    "timezone": "UTC",
}


@pytest.fixture
def log(tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))

    def write(rows: list[str]) -> list[str]:
        path = tmp_path / "events.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n")
        return [str(path), "--mapping", str(mapping)]

    return write


def pause_states_corrected(world, states: list[str]) -> SlaPolicyVersion:
    """Acme's SLA with these pause states, as a correction both sides approved."""
    document = demo_document("acme-dental.yaml")
    document["sla"]["pause_states"] = states
    propose_and_agree(document, correction="the contract lists this pause state; we left it out")
    return world.acme_contract.current_policy(on=document["sla"]["effective_from"])


def imported(world, args) -> dict[str, int]:
    counts, _ = run_import(args[0], world.acme.slug, *args[1:])
    return counts


def test_each_update_is_stored_in_order_with_its_state(world, log):
    counts = imported(world, log(ROWS))
    assert counts["created"] == 2
    ticket = Ticket.objects.get(client=world.acme, external_id="H-1")
    stored = list(TicketEvent.objects.filter(ticket=ticket).order_by("position"))
    assert [e.position for e in stored] == [0, 1, 2, 3, 4]
    assert [e.state for e in stored] == ["new", "open", "paused", "open", "resolved"]
    assert [e.status_raw for e in stored][2] == "Waiting on Parts"
    assert [e.assignee for e in stored] == ["", "dana", "dana", "dana", "dana"]
    assert stored[-1].at.isoformat() == "2026-03-02T14:30:00+00:00"
    assert all(e.client_id == world.acme.pk for e in stored)
    assert TicketEvent.objects.filter(client=world.acme).count() == 7


def test_a_second_import_of_the_same_log_writes_nothing_and_a_new_update_replaces_the_history(
    world, log
):
    imported(world, log(ROWS))
    assert imported(world, log(ROWS)) == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    assert TicketEvent.objects.count() == 7
    # A comment on H-2 (no status: the state stays Resolved) changes no folded value, but the
    # history changed: the ticket is rewritten and its history replaced, H-1's left alone.
    h1_before = list(TicketEvent.objects.filter(ticket__external_id="H-1").values_list("at"))
    counts = imported(world, log([*ROWS, "H-2,2026-03-03T09:20:00Z,,P1,eli"]))
    assert counts == {"created": 0, "updated": 1, "unchanged": 1, "rejected": 0}
    h2 = TicketEvent.objects.filter(ticket__external_id="H-2").order_by("position")
    assert [(e.position, e.state, e.status_raw) for e in h2] == [
        (0, "new", "New"),
        (1, "resolved", "Resolved"),
        (2, "resolved", "Resolved"),
    ]
    assert list(TicketEvent.objects.filter(ticket__external_id="H-1").values_list("at")) == (
        h1_before
    )


def test_a_policy_whose_pause_states_change_changes_the_clocks_at_the_next_recompute(world, log):
    imported(world, log(ROWS))  # the command recomputes after the import
    ticket = Ticket.objects.get(client=world.acme, external_id="H-1")
    clock = TicketClock.objects.get(ticket=ticket)
    assert (clock.response_seconds, clock.resolution_seconds) == (30 * 60, 270 * 60)
    assert clock.resolution_verdict == "breached" and ticket.paused_intervals == []

    original = SlaPolicyVersion.objects.get(contract=world.acme_contract).pause_states
    corrected = pause_states_corrected(world, [*original, "waiting on  PARTS"])  # case, spaces
    assert corrected.changes_results == {"tickets": 2, "months": {"2026-03": 2}}
    jobs = ImportJob.objects.count()
    kpis_recompute(world.acme)

    assert ImportJob.objects.count() == jobs  # no import
    clock.refresh_from_db()
    ticket.refresh_from_db()
    assert (clock.response_seconds, clock.resolution_seconds) == (30 * 60, 150 * 60)
    assert clock.resolution_verdict == "met"
    assert ticket.paused_intervals == [["2026-03-02T11:00:00Z", "2026-03-02T13:00:00Z"]]

    # And back: the state taken out of the policy again, the pause is gone at the next recompute.
    pause_states_corrected(world, original)
    kpis_recompute(world.acme)
    clock.refresh_from_db()
    ticket.refresh_from_db()
    assert clock.resolution_seconds == 270 * 60 and ticket.paused_intervals == []


def test_one_row_exports_keep_no_history(world):
    from tests.test_import import SAMPLES

    if not SAMPLES.exists():
        pytest.skip("../shared is not beside this checkout")
    run_import(
        SAMPLES / "connectwise_service_tickets.csv", world.acme.slug, "--preset", "connectwise"
    )
    assert Ticket.objects.filter(client=world.acme).exists()
    assert not TicketEvent.objects.exists()


def test_the_ticket_page_tells_the_stored_history_with_the_policys_pauses(world, log, client_for):
    from django.urls import reverse

    imported(world, log(ROWS))
    original = SlaPolicyVersion.objects.get(contract=world.acme_contract).pause_states
    pause_states_corrected(world, [*original, "Waiting on Parts"])
    kpis_recompute(world.acme)
    ticket = Ticket.objects.get(client=world.acme, external_id="H-1")
    page = client_for(world.owner).get(reverse("client_ticket", args=[world.acme.slug, ticket.pk]))
    html = page.content.decode()
    told = [
        "Assigned to dana",
        "Waiting on Parts: clock paused",
        "In Progress: clock running again",
        "First response",
        "Resolved (final)",
    ]
    positions = [html.index(text) for text in told[1:3]]
    assert all(text in html for text in told) and positions == sorted(positions)
    # Without the pause state, the same update is only a status change.
    pause_states_corrected(world, original)
    kpis_recompute(world.acme)
    html = client_for(world.owner).get(page.wsgi_request.path).content.decode()
    assert "Waiting on Parts" in html and "clock paused" not in html


def test_a_policy_without_pause_states_leaves_the_imported_pauses(world, log):
    """A version that lists none: the pauses the import's mapping named stand (docs/kpis.md)."""
    pause_states_corrected(world, [])
    imported(world, log(ROWS))  # no pause state anywhere: no pauses
    ticket = Ticket.objects.get(client=world.acme, external_id="H-1")
    assert ticket.paused_intervals == []
    assert TicketClock.objects.get(ticket=ticket).resolution_seconds == 270 * 60


def test_undoing_a_reimport_gives_a_ticket_back_its_earlier_history(world, log):
    from django.core.management import call_command

    imported(world, log(ROWS))
    before = sorted(TicketEvent.objects.values_list("ticket_id", "position", "status_raw", "at"))
    imported(world, log([*ROWS, "H-2,2026-03-03T09:20:00Z,,P1,eli"]))  # H-2 gains an update
    assert TicketEvent.objects.count() == 8
    second = ImportJob.objects.order_by("-pk").first()
    call_command("undo_import", str(second.pk), "--no-recompute", stdout=io.StringIO())
    after = sorted(TicketEvent.objects.values_list("ticket_id", "position", "status_raw", "at"))
    assert after == before  # H-2's two updates, as they were; H-1's five untouched

    # Undoing the first import removes its tickets, and their histories with them.
    first = ImportJob.objects.order_by("pk").first()
    call_command("undo_import", str(first.pk), "--no-recompute", stdout=io.StringIO())
    assert not Ticket.objects.filter(client=world.acme).exists()
    assert not TicketEvent.objects.exists()
