"""Any export can be an event log (#19): a file whose rows repeat ticket ids with changing update
times is recognised and folded under its own tool's preset; a mapping file says so with
`"event_log": true` for any preset; one-row exports are never taken for logs."""

from __future__ import annotations

import csv
import io
import json

import polars as pl
import pytest
from django.core.management import call_command

from benchmarks.generate import HEADER as CONNECTWISE_HEADER
from kpis.imports.ingest.event_log_guess import event_log_evidence
from kpis.imports.ingest.mapping import MappingError, mapping_from_json
from kpis.imports.ingest.presets import PRESETS, preset_guess
from kpis.imports.ingest.read import table_read
from kpis.imports.mapping_setup import guessed_mapping
from kpis.models import Ticket, TicketEvent
from tests.test_import import SAMPLES, run_import

# ConnectWise's service-ticket columns (as the benchmark's generator writes them), and the time
# of each update, as a status-history export adds it.
CW_HEADER = [*CONNECTWISE_HEADER, "Last Updated"]


def cw_row(ticket: str, status: str, resources: str, updated: str) -> dict[str, str]:
    row = dict.fromkeys(CW_HEADER, "")
    row |= {
        "Ticket #": ticket,
        "Company": "Acme Dental Group",
        "Summary Description": f"Printer jam {ticket}",
        "Board": "Service Desk",
        "Status": status,
        "Priority": "Priority 3 - Normal Response",
        "Type": "Hardware",
        "Source": "Phone",
        "Contact": "gus.lopez",
        "Resources": resources,
        "Date Entered": "03/02/2026 09:00 AM",
        "Escalation Level": "Tier 1",
        "Reopened": "No",
        "Last Updated": updated,
    }
    return row


# A ConnectWise status history: 5 rows, 2 tickets. Times are Acme's zone (America/Chicago, CST
# on 2 March 2026: UTC−6).
LOG_ROWS = [
    cw_row("9001", "New", "", "03/02/2026 09:00 AM"),
    cw_row("9001", "In Progress", "T. Walker (L1)", "03/02/2026 09:20 AM"),
    cw_row("9001", "Closed (resolved)", "T. Walker (L1)", "03/02/2026 11:00 AM"),
    cw_row("9002", "New", "", "03/02/2026 09:00 AM"),
    cw_row("9002", "In Progress", "T. Walker (L1)", "03/02/2026 10:00 AM"),
]


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CW_HEADER)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_repeated_ids_with_changing_times_are_evidence_and_duplicated_rows_are_not():
    frame = pl.DataFrame({"id": ["1", "1", "1", "2", "2"], "at": ["a", "b", "c", "a", "b"]})
    evidence = event_log_evidence(frame, "id", "at")
    assert (evidence.rows, evidence.tickets) == (5, 2)
    assert "5 rows hold updates of 2 tickets" in str(evidence)
    # The same ticket exported twice at the same time: a duplicate, not an update.
    duplicates = pl.DataFrame({"id": ["1", "1", "2", "2", "3"], "at": ["a", "a", "b", "b", "c"]})
    assert event_log_evidence(duplicates, "id", "at") is None
    # Mostly distinct ids with one repeat: a one-row export with a re-export in it.
    mostly_unique = pl.DataFrame({"id": ["1", "2", "3", "4", "4"], "at": ["a", "b", "c", "d", "e"]})
    assert event_log_evidence(mostly_unique, "id", "at") is None
    assert event_log_evidence(frame, "id", None) is None


def test_a_connectwise_status_history_is_proposed_as_an_event_log_under_its_own_preset():
    table = table_read(csv_bytes(LOG_ROWS), "history.csv")
    preset = preset_guess(table.columns)
    assert preset.name == "connectwise"  # its own tool's columns and values
    mapping, evidence = guessed_mapping(preset, table.columns, table.frame, "America/Chicago")
    assert evidence is not None and (evidence.rows, evidence.tickets) == (5, 2)
    assert mapping.event_log is True and mapping.shape == "event"
    assert mapping.columns["updated_at"] == "Last Updated"


@pytest.mark.parametrize(
    "name", ["connectwise_service_tickets.csv", "autotask_tickets.csv", "halopsa_tickets.csv",
             "jira_sm_issues.csv", "zendesk_tickets.csv", "generic_tickets.xlsx"],
)  # fmt: skip
def test_no_one_row_sample_is_taken_for_an_event_log(name):
    table = table_read((SAMPLES / name).read_bytes(), name)
    preset = preset_guess(table.columns)
    mapping, evidence = guessed_mapping(preset, table.columns, table.frame, "UTC")
    assert evidence is None and mapping.event_log is None and mapping.shape == "ticket"


def test_the_command_folds_it_stores_the_history_and_its_dry_run_says_why(world, tmp_path):
    path = tmp_path / "cw_history.csv"
    path.write_bytes(csv_bytes(LOG_ROWS))
    out = io.StringIO()
    call_command("import_tickets", str(path), "--client", world.acme.slug, "--dry-run", stdout=out)
    said = out.getvalue()
    assert "preset guessed from the header: connectwise" in said
    assert "each row is a ticket update: the first 5 rows hold updates of 2 tickets" in said
    assert '"event_log": true' in said

    counts, _ = run_import(path, world.acme.slug)
    assert counts["created"] == 2 and counts["rejected"] == 0
    t = Ticket.objects.get(client=world.acme, external_id="9001")
    assert t.source_system == "connectwise"
    # Created 09:00 CST = 15:00 UTC; first past `new` at 09:20 → 15:20; resolved at 11:00 → 17:00.
    assert t.created_at.isoformat() == "2026-03-02T15:00:00+00:00"
    assert t.first_response_at.isoformat() == "2026-03-02T15:20:00+00:00"
    assert t.resolved_at.isoformat() == "2026-03-02T17:00:00+00:00"
    assert Ticket.objects.get(client=world.acme, external_id="9002").resolved_at is None
    assert TicketEvent.objects.filter(ticket=t).count() == 3
    assert TicketEvent.objects.filter(client=world.acme).count() == 5


def test_a_mapping_file_declares_an_event_log_for_the_generic_preset(world, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(
        "Ticket,Title,Status,Priority,When\n"
        "G-1,Mail down,Open,P2,2026-03-02 10:00\n"
        "G-1,Mail down,Resolved,P2,2026-03-02 12:00\n"
    )
    mapping = {
        "preset": "generic",
        "event_log": True,
        "columns": {
            "external_id": "Ticket",
            "title": "Title",
            "status": "Status",
            "priority": "Priority",
            "updated_at": "When",
        },
        "timezone": "UTC",
    }
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    counts, _ = run_import(path, world.acme.slug, "--mapping", str(tmp_path / "mapping.json"))
    assert counts["created"] == 1
    t = Ticket.objects.get(client=world.acme, external_id="G-1")
    assert (t.source_system, t.created_at.hour, t.resolved_at.hour) == ("generic", 10, 12)
    assert TicketEvent.objects.filter(ticket=t).count() == 2


def test_event_log_must_be_true_false_or_null():
    with pytest.raises(MappingError, match=r"mapping.event_log: must be true \(a row per ticket"):
        mapping_from_json({"preset": "generic", "event_log": "yes"})
    generic = {
        "preset": "generic",
        "timezone": "UTC",
        "columns": {"external_id": "Ticket", "updated_at": "When"},
    }
    assert mapping_from_json({**generic, "event_log": True}).shape == "event"
    assert PRESETS["servicenow_audit"].shape == "event"
    # An event-log preset read as one-row rows: each row is a ticket, last row wins.
    audit = {
        "preset": "servicenow_audit",
        "timezone": "UTC",
        "columns": {"external_id": "number", "created_at": "opened_at"},
    }
    assert mapping_from_json({**audit, "event_log": False}).shape == "ticket"


def test_the_browser_proposes_the_event_log_and_a_person_can_switch_either_way(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from kpis.imports.services import import_run
    from kpis.models import ImportJob
    from tests.test_import_mapping_form import form_of

    web = client_for(world.msp_staff)
    upload = SimpleUploadedFile("cw_history.csv", csv_bytes(LOG_ROWS), "text/csv")
    target = f"client:{world.acme.pk}:{world.northwind.pk}"
    assert web.post(reverse("import_upload"), {"file": upload, "target": target}).status_code == 302
    job = ImportJob.objects.filter(via="web").order_by("-pk").first()
    url = reverse("import_mapping", args=[job.pk])
    page = web.get(url)
    html = page.content.decode()
    assert '<option value="updates" selected>An update of a ticket (an event log)</option>' in html
    assert "Proposed because the first 5 rows hold updates of 2 tickets" in html
    assert '<label for="col__updated_at">Update time' in html

    # Read as one row per ticket instead: the update column is no longer asked for.
    as_rows = web.post(url, form_of(page) | {"rows_are": "tickets"})
    html = as_rows.content.decode()
    assert '<option value="tickets" selected>A ticket</option>' in html
    assert "col__updated_at" not in html

    # And back, then import: two tickets with their five updates.
    back = web.post(url, form_of(as_rows) | {"rows_are": "updates"})
    confirm = form_of(back) | {"rows_are": "updates", "action": "confirm"}
    answer = web.post(url, confirm)
    assert answer.status_code == 302, answer.context["errors"]
    job.refresh_from_db()
    assert job.mapping["event_log"] is True and job.status == ImportJob.Status.QUEUED
    import_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.DONE, 2)
    assert TicketEvent.objects.filter(client=world.acme).count() == 5
