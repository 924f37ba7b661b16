"""The MSP's own SLA verdicts read from its exports (issue 22, section 1): each preset maps its
tool's verdict columns, values read as met / breached (or left unknown with a warning naming the
row, column and value, the raw text kept), an event log's verdict is its last update's, and the
verdicts are stored, re-imported, undone, printed by the dry run, shown on the ticket's page and
given by the API. The portal's own verdicts never read them (docs/imports.md)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from kpis.dashboard.reported import reported_verdict
from kpis.imports.ingest.mapping import mapping_for_preset, mapping_from_json
from kpis.imports.ingest.normalise import tickets_normalise
from kpis.imports.ingest.presets import PRESETS
from kpis.imports.ingest.read import table_read
from kpis.models import ImportJob, Ticket

from .test_import import SAMPLES, run_import
from .test_import_api import token_client


def normalised(text: str, mapping: dict):
    table = table_read(text.encode(), "export.csv")
    return tickets_normalise(table.frame, mapping_from_json(mapping, table.columns))


def by_id(result) -> dict[str, dict]:
    return {row["external_id"]: row for row in result.tickets.iter_rows(named=True)}


# --- The presets -------------------------------------------------------------------------------


def header_of(name: str) -> list[str]:
    with open(SAMPLES / name, newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle, delimiter=";" if name.startswith("zendesk") else ","))


@pytest.mark.parametrize(
    ("preset", "sample", "response", "resolution"),
    [
        ("servicenow_audit", "servicenow_incident_audit.csv", None, "made_sla"),
        ("autotask", "autotask_tickets.csv", None, "serviceLevelAgreementHasBeenMet"),
        (
            "jira_sm",
            "jira_sm_issues.csv",
            "Custom field (Time to first response)",
            "Custom field (Time to resolution)",
        ),
        # ConnectWise's "SLA Status" is the SLA stage (Respond, Plan, Resolve, ...), no verdict.
        ("connectwise", "connectwise_service_tickets.csv", None, None),
        ("zendesk", "zendesk_tickets.csv", None, None),  # its export has no verdict column
    ],
)
def test_each_preset_maps_its_tools_verdict_columns_in_its_sample(
    preset, sample, response, resolution
):
    header = header_of(sample)
    columns = mapping_for_preset(PRESETS[preset], header, timezone="UTC").columns
    assert columns.get("reported_response_met") == response
    assert columns.get("reported_resolution_met") == resolution
    if preset == "connectwise":
        assert "SLA Status" in header and "SLA Status" not in columns.values()


def test_the_servicenow_audit_sample_says_every_incident_made_its_sla():
    with open(SAMPLES / "servicenow_incident_audit.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    incidents = {row["number"] for row in rows}
    assert {row["made_sla"] for row in rows} == {"true"}  # the sample's every update says so
    table = table_read((SAMPLES / "servicenow_incident_audit.csv").read_bytes(), "audit.csv")
    mapping = mapping_for_preset(PRESETS["servicenow_audit"], table.columns, timezone="UTC")
    tickets = tickets_normalise(table.frame, mapping).tickets
    assert tickets.height == len(incidents)
    assert tickets["reported_resolution_met"].to_list() == [True] * len(incidents)
    assert set(tickets["reported_resolution_raw"]) == {"true"}
    assert tickets["reported_response_met"].null_count() == len(incidents)


@pytest.mark.parametrize(
    ("preset", "header", "row", "response", "resolution"),
    [
        (
            "servicenow",
            "number,opened_at,priority,made_sla",
            "INC1,2025-09-02 10:00:00,1 - Critical,false",
            None,
            False,
        ),
        (
            "autotask",
            "ticketNumber,createDate,priority,serviceLevelAgreementHasBeenMet",
            "T1,2025-09-02T10:00:00Z,High,True",
            None,
            True,
        ),
        # HaloPSA's SLA states: I(nside) the target is met, O(utside) breached.
        (
            "halopsa",
            "id,dateoccurred,priority_id,slaresponsestate,slastate",
            "7,2025-09-02T10:00:00,1,I,O",
            True,
            False,
        ),
        (
            "freshservice",
            "Ticket Id,Created Date,Priority,First Response Status,Resolution Status",
            "9,2025-09-02 10:00,Urgent,Within SLA,SLA Violated",
            True,
            False,
        ),
        (
            "jira_sm",
            "Issue key,Created,Priority,Custom field (Time to first response),"
            "Custom field (Time to resolution)",
            "ACME-1,02/Sep/25 10:00 AM,High,not breached,breached",
            True,
            False,
        ),
        (
            "generic",
            "Ticket,Opened,Response SLA Met,Resolution SLA Met",
            "G-1,2025-09-02 10:00,yes,no",
            True,
            False,
        ),
    ],
)
def test_a_row_in_each_tools_layout_gives_its_verdicts(preset, header, row, response, resolution):
    table = table_read(f"{header}\n{row}\n".encode(), "export.csv")
    mapping = mapping_for_preset(PRESETS[preset], table.columns, timezone="UTC")
    result = tickets_normalise(table.frame, mapping)
    assert result.problems.height == 0
    ticket = result.tickets.row(0, named=True)
    assert (ticket["reported_response_met"], ticket["reported_resolution_met"]) == (
        response,
        resolution,
    )
    # The raw text as the file wrote it, for each verdict it carried.
    raw = dict(zip(header.split(","), row.split(","), strict=True))
    for field in ("response", "resolution"):
        column = mapping.columns.get(f"reported_{field}_met")
        assert ticket[f"reported_{field}_raw"] == (raw[column] if column else "")


# --- Reading the values ------------------------------------------------------------------------

GENERIC = {
    "preset": "generic",
    "timezone": "UTC",
    "columns": {
        "external_id": "Ref",
        "created_at": "Raised",
        "reported_response_met": "Reply SLA",
        "reported_resolution_met": "Fix SLA",
    },
}


@pytest.mark.parametrize(
    ("raw", "met"),
    [
        ("true", True),
        ("FALSE", False),
        ("Yes", True),
        ("no", False),
        ("1", True),
        ("0", False),
        ("Met", True),
        ("breached", False),
        ("Within SLA", True),
        ("SLA Violated", False),
        ("not breached", True),
        ("Not  Met", False),
        ("Achieved", True),
        ("violated", False),
    ],
)
def test_the_usual_spellings_of_a_verdict_are_read(raw, met):
    result = normalised(f"Ref,Raised,Reply SLA,Fix SLA\nA,2025-09-02 10:00,{raw},{raw}\n", GENERIC)
    ticket = result.tickets.row(0, named=True)
    assert ticket["reported_response_met"] is met
    assert ticket["reported_resolution_met"] is met
    assert ticket["reported_resolution_raw"] == raw
    assert result.problems.height == 0


def test_an_unknown_value_is_a_warning_naming_its_row_column_and_value_and_is_kept():
    text = (
        "Ref,Raised,Reply SLA,Fix SLA\n"
        "A,2025-09-02 10:00,yes,Within SLA\n"
        "B,2025-09-02 11:00,yes,Grace period\n"
        "C,2025-09-02 12:00,,\n"
    )
    result = normalised(text, GENERIC)
    tickets = by_id(result)
    assert tickets["B"]["reported_resolution_met"] is None
    assert tickets["B"]["reported_resolution_raw"] == "Grace period"
    assert tickets["B"]["reported_response_met"] is True
    # An empty cell is no verdict and no problem.
    assert (tickets["C"]["reported_resolution_met"], tickets["C"]["reported_resolution_raw"]) == (
        None,
        "",
    )
    assert result.problems.height == 1
    problem = result.problems.row(0, named=True)
    assert (problem["row"], problem["column"], problem["value"], problem["severity"]) == (
        3,
        "Fix SLA",
        "Grace period",
        "warning",
    )
    assert problem["reason"].startswith(
        "not read as met or breached: the MSP's resolution verdict is left unknown"
    )
    assert "reported_resolution_met" not in problem["reason"]  # words, not keys


def test_a_value_map_says_what_the_msps_values_mean_over_the_guesses():
    mapping = GENERIC | {
        "values": {"reported_resolution_met": {"grace period": "met", "within sla": "breached"}}
    }
    text = (
        "Ref,Raised,Reply SLA,Fix SLA\n"
        "A,2025-09-02 10:00,Within SLA,Within SLA\n"
        "B,2025-09-02 11:00,no,Grace  Period\n"
    )
    result = normalised(text, mapping)
    tickets = by_id(result)
    # The map is per field: the response column still reads "Within SLA" as met.
    assert tickets["A"]["reported_response_met"] is True
    assert tickets["A"]["reported_resolution_met"] is False
    assert tickets["B"]["reported_resolution_met"] is True
    assert tickets["B"]["reported_resolution_raw"] == "Grace  Period"
    assert result.problems.height == 0


def test_a_value_map_meaning_other_than_met_or_breached_is_refused_by_key():
    from kpis.imports.ingest.mapping import MappingError

    bad = GENERIC | {"values": {"reported_response_met": {"ok": "yes"}}}
    with pytest.raises(MappingError) as refused:
        mapping_from_json(bad, ["Ref", "Raised", "Reply SLA", "Fix SLA"])
    assert str(refused.value) == (
        "mapping.values.reported_response_met.ok: 'yes' is not one of met, breached"
    )


# --- Event logs --------------------------------------------------------------------------------


def test_an_event_logs_verdict_is_the_one_on_the_tickets_last_update():
    # Rows out of time order on purpose: the last update is the latest, not the last row.
    text = (
        "number,incident_state,priority,opened_at,sys_updated_at,made_sla\n"
        "INC1,New,1 - Critical,2025-09-02 10:00:00,2025-09-02 10:00:00,true\n"
        "INC1,Resolved,1 - Critical,2025-09-02 10:00:00,2025-09-02 16:00:00,false\n"
        "INC1,Active,1 - Critical,2025-09-02 10:00:00,2025-09-02 10:20:00,true\n"
        "INC2,New,1 - Critical,2025-09-03 10:00:00,2025-09-03 10:00:00,false\n"
        "INC2,Resolved,1 - Critical,2025-09-03 10:00:00,2025-09-03 11:00:00,true\n"
        "INC3,Resolved,1 - Critical,2025-09-04 10:00:00,2025-09-04 11:00:00,\n"
        "INC3,New,1 - Critical,2025-09-04 10:00:00,2025-09-04 10:00:00,true\n"
    )
    table = table_read(text.encode(), "audit.csv")
    mapping = mapping_for_preset(PRESETS["servicenow_audit"], table.columns, timezone="UTC")
    assert mapping.columns["reported_resolution_met"] == "made_sla"
    tickets = by_id(tickets_normalise(table.frame, mapping))
    assert tickets["INC1"]["reported_resolution_met"] is False
    assert tickets["INC1"]["reported_resolution_raw"] == "false"
    assert tickets["INC2"]["reported_resolution_met"] is True
    # An empty cell on the last update leaves it unknown, whatever an earlier update said.
    assert tickets["INC3"]["reported_resolution_met"] is None
    assert tickets["INC3"]["reported_resolution_raw"] == ""


# --- Stored, re-imported, undone ---------------------------------------------------------------

HEADER = "Ticket,Opened,First Response,Resolved,Priority,Response SLA Met,Resolution SLA Met"


def export(tmp_path, name: str, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


ROWS = [
    "V-1,2025-09-02 10:00,2025-09-02 10:10,2025-09-02 11:00,P1,Within SLA,SLA Violated",
    "V-2,2025-09-02 10:00,2025-09-02 11:00,2025-09-02 18:00,P1,breached,met",
    "V-3,2025-09-03 10:00,2025-09-03 10:05,2025-09-03 12:00,P2,,",
]


def stored(client) -> dict[str, tuple]:
    return {
        t.external_id: (
            t.reported_response_met,
            t.reported_resolution_met,
            t.reported_response_raw,
            t.reported_resolution_raw,
        )
        for t in Ticket.objects.filter(client=client)
    }


def test_a_reimport_changing_only_a_verdict_updates_that_ticket_and_undo_restores_it(
    world, tmp_path
):
    counts, _ = run_import(export(tmp_path, "first.csv", ROWS), world.acme.slug, "--no-recompute")
    assert counts == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert stored(world.acme) == {
        "V-1": (True, False, "Within SLA", "SLA Violated"),
        "V-2": (False, True, "breached", "met"),
        "V-3": (None, None, "", ""),
    }
    # The MSP's tool changed its mind on V-1's resolution, nothing else changed.
    later = [ROWS[0].replace("SLA Violated", "Within SLA"), *ROWS[1:]]
    counts, _ = run_import(export(tmp_path, "later.csv", later), world.acme.slug, "--no-recompute")
    assert counts == {"created": 0, "updated": 1, "unchanged": 2, "rejected": 0}
    assert stored(world.acme)["V-1"] == (True, True, "Within SLA", "Within SLA")

    second = ImportJob.objects.order_by("-pk").first()
    call_command("undo_import", str(second.pk), stdout=io.StringIO(), stderr=io.StringIO())
    assert stored(world.acme)["V-1"] == (True, False, "Within SLA", "SLA Violated")


def test_tickets_stored_without_verdicts_are_not_rewritten_by_a_file_without_them(world, tmp_path):
    plain = "Ticket,Opened,First Response,Resolved,Priority"
    rows = [",".join(r.split(",")[:5]) for r in ROWS]
    path = export(tmp_path, "plain.csv", rows, plain)
    run_import(path, world.acme.slug, "--no-recompute")
    hashes = dict(Ticket.objects.values_list("external_id", "content_hash"))
    again, _ = run_import(path, world.acme.slug, "--no-recompute")
    assert again == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert dict(Ticket.objects.values_list("external_id", "content_hash")) == hashes
    # The same tickets with verdicts: the two that carry one change, V-3 (empty cells) does not.
    counts, _ = run_import(export(tmp_path, "full.csv", ROWS), world.acme.slug, "--no-recompute")
    assert counts == {"created": 0, "updated": 2, "unchanged": 1, "rejected": 0}


def test_a_dry_run_lists_each_verdict_value_with_its_count_and_meaning(world, tmp_path):
    rows = [*ROWS, "V-4,2025-09-04 10:00,,,P3,Within SLA,Grace period"]
    out = io.StringIO()
    call_command(
        "import_tickets",
        str(export(tmp_path, "dry.csv", rows)),
        "--client",
        world.acme.slug,
        "--dry-run",
        stdout=out,
    )
    text = out.getvalue()
    assert (
        "reported_response_met (column 'Response SLA Met'):\n"
        "  'Within SLA' ×2 → met\n"
        "  'breached' ×1 → breached\n"
        "  unmapped: 0 values on 0 rows\n"
    ) in text
    assert (
        "reported_resolution_met (column 'Resolution SLA Met'):\n"
        "  'Grace period' ×1 → unmapped\n"
        "  'SLA Violated' ×1 → breached\n"
        "  'met' ×1 → met\n"
        "  unmapped: 1 values on 1 rows: 'Grace period'\n"
    ) in text
    assert Ticket.objects.filter(client=world.acme).count() == 0


# --- Shown beside the portal's verdicts --------------------------------------------------------


def test_the_msps_verdict_differs_only_from_a_final_verdict_of_ours():
    assert reported_verdict(None, "", "met") is None  # not in the export
    said = reported_verdict(False, "SLA Violated", "met")
    assert (said.said, said.raw, said.differs) == ("breached", "SLA Violated", True)
    assert not reported_verdict(True, "true", "met").differs
    assert not reported_verdict(True, "true", "pending").differs
    assert not reported_verdict(True, "true", "").differs  # no verdict of ours: no claim
    unread = reported_verdict(None, "Grace period", "breached")
    assert (unread.said, unread.differs) == ("", False)


def test_the_ticket_page_and_the_api_give_the_msps_verdicts_beside_ours(world, tmp_path):
    # Acme's P1: 30 minutes to respond, 240 to resolve, around the clock
    # (contracts/demo/acme-dental.yaml). V-1 answered in 10 minutes and resolved in 60: both
    # met, though the MSP's tool says its resolution was violated. V-2 answered in 60 minutes
    # and resolved in 480: both breached, though the tool says its resolution was met.
    run_import(export(tmp_path, "shown.csv", ROWS), world.acme.slug)
    one = Ticket.objects.select_related("clock").get(client=world.acme, external_id="V-1")
    two = Ticket.objects.select_related("clock").get(client=world.acme, external_id="V-2")
    assert (one.clock.response_verdict, one.clock.resolution_verdict) == ("met", "met")
    assert (two.clock.response_verdict, two.clock.resolution_verdict) == ("breached", "breached")

    from django.test import Client

    browser = Client()
    browser.force_login(world.owner)
    url = reverse("client_ticket", args=[world.acme.slug, one.pk])
    page = browser.get(url).content.decode()
    assert "The MSP's tool says: <strong>met</strong>" in page  # its response verdict
    assert "The MSP's tool says: <strong>breached</strong>" in page  # its resolution verdict
    assert page.count("not what the portal measured") == 1
    page = browser.get(reverse("client_ticket", args=[world.acme.slug, two.pk])).content.decode()
    assert page.count("not what the portal measured") == 1
    assert "reported_" not in page

    api = token_client(world.viewer)
    answer = api.get(reverse("ticket-detail", args=[one.pk])).json()
    assert {k: v for k, v in answer.items() if k.startswith("reported_")} == {
        "reported_response_met": True,
        "reported_resolution_met": False,
        "reported_response_raw": "Within SLA",
        "reported_resolution_raw": "SLA Violated",
    }
    assert answer["clock"]["resolution_verdict"] == "met"
