"""Ticket import end to end: every sample export through `import_tickets`, nothing lost, nothing
doubled, every problem named by row and column, formulas kept as inert text."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from kpis.models import ImportJob, ImportProblem, RecomputeRequest, Ticket

SAMPLES = Path(__file__).parent / "data" / "samples"

# file, preset, distinct tickets in the file, rows rejected, (row, reason fragment) expected
SAMPLE_CASES = [
    (
        "connectwise_service_tickets.csv",
        "connectwise",
        2078,
        1,
        [(27, "not a date and time that exists"), (12, "appears again at row 2080")],
    ),
    ("autotask_tickets.csv", "autotask", 2078, 0, [(42, "priority is empty")]),
    ("halopsa_tickets.csv", "halopsa", 2078, 0, []),
    ("zendesk_tickets.csv", "zendesk", 2078, 0, []),
    ("jira_sm_issues.csv", "jira_sm", 2078, 0, []),
    ("servicenow_incident_audit.csv", "servicenow_audit", 900, 0, []),
    ("generic_tickets.xlsx", "generic", 401, 1, [(402, "required value is empty")]),
]


# Autotask names the company by its id, which names no client: the operator routes it
# (docs/imports.md, "The right client"); the other samples name Acme Dental Group itself.
COMPANY_ROUTES = {"autotask_tickets.csv": ("--company", "174=acme-dental")}


def run_import(path: Path, client: str, *extra: str) -> tuple[dict[str, int], str]:
    out, err = io.StringIO(), io.StringIO()
    extra = (*COMPANY_ROUTES.get(Path(path).name, ()), *extra)
    call_command("import_tickets", str(path), "--client", client, *extra, stdout=out, stderr=err)
    counts = dict(re.findall(r"(\w+)=(\d+)", out.getvalue()))
    return {k: int(v) for k, v in counts.items()}, err.getvalue()


@pytest.mark.parametrize(("name", "preset", "distinct", "rejected", "expected"), SAMPLE_CASES)
def test_every_sample_imports_with_its_preset_and_a_second_import_changes_nothing(
    world, name, preset, distinct, rejected, expected
):
    counts, report = run_import(SAMPLES / name, world.acme.slug, "--preset", preset)
    assert counts["created"] + counts["rejected"] == distinct
    assert counts["rejected"] == rejected
    assert counts["updated"] == counts["unchanged"] == 0
    assert Ticket.objects.filter(client=world.acme).count() == distinct - rejected
    job = ImportJob.objects.get()
    for row, reason in expected:
        assert job.problems.filter(row=row, reason__contains=reason).exists(), (row, reason)
        assert f"row {row}" in report

    again, _ = run_import(SAMPLES / name, world.acme.slug, "--preset", preset)
    assert again == {
        "created": 0,
        "updated": 0,
        "unchanged": distinct - rejected,
        "rejected": rejected,
    }
    assert Ticket.objects.filter(client=world.acme).count() == distinct - rejected


def test_the_preset_is_guessed_from_the_header(world):
    counts, _ = run_import(SAMPLES / "halopsa_tickets.csv", world.acme.slug)
    assert counts["created"] == 2078
    assert ImportJob.objects.get().preset == "halopsa"


def test_naive_local_times_are_read_in_the_clients_zone_and_stored_in_utc(world):
    run_import(SAMPLES / "connectwise_service_tickets.csv", world.acme.slug)
    ticket = Ticket.objects.get(external_id="48101")
    # 07/08/2025 04:05 PM in Chicago (CDT, UTC-5) is 21:05 UTC, as the Autotask export says.
    assert ticket.created_at.isoformat() == "2025-07-08T21:05:00+00:00"
    assert ticket.priority == "P3" and ticket.priority_raw == "Priority 3 - Normal Response"
    assert ticket.state == "closed" and ticket.origin == "reactive" and ticket.tier == 1
    alert = Ticket.objects.get(external_id="48102")
    assert alert.origin == "proactive" and alert.configuration_item == "WS-021"


def test_the_same_ticket_from_two_psa_layouts_agrees(world):
    run_import(SAMPLES / "connectwise_service_tickets.csv", world.acme.slug)
    # Both kept on purpose, to compare them: the overlap would otherwise stop the second.
    run_import(SAMPLES / "autotask_tickets.csv", world.acme.slug, "--on-overlap=import")
    cw = Ticket.objects.get(source_system="connectwise", external_id="48103")
    at = Ticket.objects.get(source_system="autotask", external_id="T20250048103.0001")
    assert cw.created_at == at.created_at
    assert cw.first_response_at.replace(second=0) == at.first_response_at.replace(
        second=0, microsecond=0
    )
    assert (cw.priority, cw.origin) == (at.priority, at.origin)


def test_an_audit_log_folds_into_tickets_with_pauses_reassignments_and_escalation(world):
    run_import(SAMPLES / "servicenow_incident_audit.csv", world.acme.slug)
    ticket = Ticket.objects.get(external_id="INC0058685")
    # Active at 11:09:50 local (first response), Awaiting User Info 11:39:50 → Active next day.
    assert ticket.first_response_at.isoformat() == "2025-10-01T16:09:50+00:00"
    assert ticket.paused_intervals == [["2025-10-01T16:39:50Z", "2025-10-02T22:32:50Z"]]
    assert ticket.resolved_at.isoformat() == "2025-10-04T02:16:51+00:00"
    escalated = Ticket.objects.get(external_id="INC0058106")
    assert escalated.tier == 3
    assert escalated.reassignment_count == 4  # four group changes in its history
    assert escalated.escalated_at.isoformat() == "2025-07-16T08:58:00+00:00"


def test_an_overlapping_export_updates_only_the_tickets_that_changed(world, tmp_path):
    source = (SAMPLES / "halopsa_tickets.csv").read_text()
    run_import(SAMPLES / "halopsa_tickets.csv", world.acme.slug)
    changed = source.replace(
        "48101,Offboarding - gus.lopez", "48101,Offboarding - gus.lopez (done)", 1
    )
    path = tmp_path / "halo-later.csv"
    path.write_text(changed)
    counts, _ = run_import(path, world.acme.slug)
    assert counts == {"created": 0, "updated": 1, "unchanged": 2077, "rejected": 0}
    assert Ticket.objects.get(external_id="48101").title == "Offboarding - gus.lopez (done)"


def test_an_import_marks_its_client_months_for_recomputation(world):
    run_import(SAMPLES / "halopsa_tickets.csv", world.acme.slug, "--no-recompute")
    months = set(RecomputeRequest.objects.filter(client=world.acme).values_list("month", flat=True))
    assert {m.isoformat() for m in months} >= {"2025-07-01", "2025-12-01", "2026-06-01"}
    # The recompute consumes them.
    from kpis.metrics.recompute import kpis_recompute

    kpis_recompute(world.acme)
    assert not RecomputeRequest.objects.filter(client=world.acme).exists()


def test_a_file_that_is_not_a_table_is_rejected_whole_and_writes_nothing(world, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(CommandError):
        run_import(path, world.acme.slug)
    assert Ticket.objects.count() == 0
    assert ImportJob.objects.get().status == ImportJob.Status.REJECTED


def test_required_columns_missing_rejects_the_file_naming_the_field(world, tmp_path):
    path = tmp_path / "no-dates.csv"
    path.write_text("Ticket,Priority\n1,P1\n2,P2\n")
    with pytest.raises(CommandError, match=r"mapping\.columns\.created_at: required"):
        run_import(path, world.acme.slug, "--preset", "generic")
    assert Ticket.objects.count() == 0


def test_ambiguous_dates_are_asked_for_and_decided_by_the_option(world, tmp_path):
    path = tmp_path / "ambiguous.csv"
    path.write_text("Ticket,Opened,Priority\n1,03/04/2025 10:00,P1\n2,05/06/2025 11:00,P2\n")
    counts, _ = run_import(path, world.acme.slug, "--preset", "generic", "--date-order", "dmy")
    assert counts["created"] == 2
    opened = Ticket.objects.get(external_id="1").created_at
    assert (opened.month, opened.day) == (4, 3)


def test_day_first_dates_are_detected_when_the_data_decides(world, tmp_path):
    path = tmp_path / "uk.csv"
    path.write_text("Ticket,Opened,Priority\n1,03/04/2025 10:00,P1\n2,29/02/2024 01:16,P2\n")
    counts, _ = run_import(path, world.acme.slug, "--preset", "generic")
    assert counts["created"] == 2
    assert Ticket.objects.get(external_id="2").created_at.date().isoformat() == "2024-02-29"


def test_formulas_are_stored_as_text_and_neutralised_in_the_problem_export(
    world, tmp_path, client_for
):
    path = tmp_path / "hostile.csv"
    path.write_text(
        "Ticket,Title,Opened,Priority\n"
        '1,"=HYPERLINK(""http://evil.invalid"",""x"")",2025-07-01 10:00,P1\n'
        "2,@SUM(A1),=1+1,P2\n"
    )
    counts, _ = run_import(path, world.acme.slug, "--preset", "generic")
    assert counts == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert Ticket.objects.get().title == '=HYPERLINK("http://evil.invalid","x")'
    job = ImportJob.objects.get()
    response = client_for(world.msp_staff).get(reverse("import_problems_csv", args=[job.pk]))
    body = response.content.decode()
    assert "'=1+1" in body and "\n=1+1" not in body and ",=1+1" not in body


def test_unmapped_values_are_listed_with_counts_never_dropped(world, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text(
        "Ticket,Opened,Priority\n1,2025-07-01 10:00,Whenever\n2,2025-07-01 11:00,Whenever\n"
    )
    run_import(path, world.acme.slug, "--preset", "generic")
    job = ImportJob.objects.get()
    assert "'Whenever' ×2" in job.message
    assert job.problems.filter(severity="warning", value="Whenever").count() == 2
    assert set(Ticket.objects.values_list("priority", "priority_raw")) == {("", "Whenever")}


def test_problems_carry_row_column_value_and_reason(world):
    run_import(SAMPLES / "connectwise_service_tickets.csv", world.acme.slug)
    problem = ImportProblem.objects.get(row=27)
    assert problem.severity == "error"
    assert problem.column in {"Date Entered", "Date Responded", "Date Resolved", "Closed Date"}
    assert problem.value


def test_imports_without_a_mapping_step_take_the_clients_pause_states(world):
    """The command, the API and the seed read event logs with the SLA policy's pause states."""
    from kpis.imports.services import import_create, mapping_prepare

    job = import_create(
        msp=world.northwind,
        client=world.acme,
        user=None,
        via=ImportJob.Via.API,
        name="audit.csv",
        content=(SAMPLES / "servicenow_incident_audit.csv").read_bytes(),
    )
    mapping = mapping_prepare(job)
    assert mapping.preset == "servicenow_audit"
    assert mapping.pause_states == ["waiting customer", "awaiting user info", "awaiting vendor"]
    assert mapping.timezone == "America/Chicago"


def test_text_that_csv_could_read_as_null_or_split_is_stored_as_written(world, tmp_path):
    """The COPY's CSV leaves null unquoted and empty; \\N, quotes, commas and line breaks in a
    cell stay text."""
    path = tmp_path / "awkward.csv"
    path.write_text(
        "Ticket,Title,Opened,Priority\n"
        "1,\\N,2025-07-01 10:00,P1\n"
        '2,"say ""hi"", then\nleave",2025-07-01 11:00,P2\n'
        "3,,2025-07-01 12:00,P3\n"
    )
    counts, _ = run_import(path, world.acme.slug, "--preset", "generic")
    assert counts["created"] == 3
    titles = dict(Ticket.objects.values_list("external_id", "title"))
    assert titles == {"1": "\\N", "2": 'say "hi", then\nleave', "3": ""}
    again, _ = run_import(path, world.acme.slug, "--preset", "generic")
    assert again == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}


def test_an_import_stored_in_many_slices_counts_and_marks_like_one(world, tmp_path, monkeypatch):
    from kpis.imports import store

    source = (SAMPLES / "halopsa_tickets.csv").read_text()
    run_import(SAMPLES / "halopsa_tickets.csv", world.acme.slug, "--no-recompute")
    months_whole = set(RecomputeRequest.objects.values_list("client_id", "month"))
    Ticket.objects.all().delete()
    RecomputeRequest.objects.all().delete()

    monkeypatch.setattr(store, "SLICE_ROWS", 7)
    counts, _ = run_import(SAMPLES / "halopsa_tickets.csv", world.acme.slug, "--no-recompute")
    assert counts == {"created": 2078, "updated": 0, "unchanged": 0, "rejected": 0}
    assert set(RecomputeRequest.objects.values_list("client_id", "month")) == months_whole
    changed = source.replace(
        "48101,Offboarding - gus.lopez", "48101,Offboarding - gus.lopez (done)", 1
    )
    path = tmp_path / "halo-later.csv"
    path.write_text(changed)
    counts, _ = run_import(path, world.acme.slug, "--no-recompute")
    assert counts == {"created": 0, "updated": 1, "unchanged": 2077, "rejected": 0}
    assert Ticket.objects.get(external_id="48101").title == "Offboarding - gus.lopez (done)"


def test_a_failure_while_tickets_are_streamed_writes_nothing(world, monkeypatch, caplog):
    from kpis.imports import store

    hashes = store.row_hashes
    calls = []

    def fail_on_the_third_slice(staged, history=None):
        calls.append(staged.height)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return hashes(staged, history)

    monkeypatch.setattr(store, "SLICE_ROWS", 100)
    monkeypatch.setattr(store, "row_hashes", fail_on_the_third_slice)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_import(SAMPLES / "halopsa_tickets.csv", world.acme.slug)
    assert Ticket.objects.count() == 0
    job = ImportJob.objects.get()
    # The page says it in words; the error itself is in the worker's log.
    assert job.status == ImportJob.Status.FAILED
    assert job.message.startswith("The import stopped on an error of ours, not of the file")
    assert "disk on fire" not in job.message and "RuntimeError" not in job.message
    assert "disk on fire" in caplog.text
