"""Tool reports and the occurrences measured from them through the API, under the tenancy rules:
MSP staff (Northwind) and the advisor import and undo; the client's admin and its read-only
member read only; another client's admin and another MSP's staff see nothing of Acme's.

The figures are those tests/test_patch_reports.py works out by hand from the two samples
(Datto RMM exported 10 Aug 2025, NinjaOne exported 3 Oct 2025) with Acme's "Critical patches
installed within 30 days" measured: August is 2 of 5 on time (median 20 days, p90 42), missed;
July (nothing due) and September (1 of 1) are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts.models import Commitment
from contracts.services.commitments import commitment_occurrences_ensure
from evidence.kinds import KINDS
from evidence.models import PatchRow, ToolReport, ToolReportJob

from .test_patch_reports import _measured
from .tool_report_support import queued_imports_run

REPORTS = Path(__file__).parent / "data" / "patch_reports"
LIST = "/api/v1/tool-reports/"
JOBS = "/api/v1/tool-report-imports/"
OCCURRENCES = "/api/v1/measured-occurrences/"


def token_client(user) -> APIClient:
    """An API client with the user's token (one token per user, made on first use)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _upload(api, name="ninjaone_2025-10-03.csv", preset="ninjaone", day="2025-10-03", **extra):
    with open(REPORTS / name, "rb") as handle:
        body = {
            "client": "acme-dental",
            "kind": "patches",
            "preset": preset,
            "report_date": day,
            "file": handle,
            **extra,
        }
        return api.post(LIST, body, format="multipart")


def _import(api, *args, **extra) -> dict:
    """Upload, the import run as the worker runs it, and the report it made: its API body."""
    response = _upload(api, *args, **extra)
    assert response.status_code == 202, response.content
    queued_imports_run()
    job = api.get(f"{JOBS}{response.json()['id']}/").json()
    assert job["status"] == "done", job
    return api.get(f"{LIST}{job['report']}/").json()


def _ids(api, url=LIST, **query) -> set[int]:
    response = api.get(url, {"limit": 1000, **query})
    assert response.status_code == 200
    return {item["id"] for item in response.json()["results"]}


def test_an_upload_is_imported_with_its_problems_and_read_by_every_party(world):
    staff = token_client(world.msp_staff)
    response = _upload(staff)
    assert response.status_code == 202, response.content
    queued = response.json()
    assert (queued["status"], queued["kind_words"], queued["original_name"]) == (
        "queued",
        "Patch report",
        "ninjaone_2025-10-03.csv",
    )
    assert queued["report"] is None and not ToolReport.objects.exists()
    queued_imports_run()
    job = staff.get(f"{JOBS}{queued['id']}/").json()
    assert (job["status"], job["status_words"], job["rows_done"], job["rows_total"]) == (
        "done",
        "Imported",
        6,
        7,
    )
    assert (
        job["message"] == "ninjaone_2025-10-03.csv: 6 of 7 rows imported; 1 problem listed below."
    )
    body = staff.get(f"{LIST}{job['report']}/").json()
    assert (body["kind"], body["kind_words"], body["preset_words"]) == (
        "patches",
        "Patch report",
        "NinjaOne",
    )
    assert (body["rows_read"], body["rows_imported"], body["report_date"]) == (7, 6, "2025-10-03")
    # The header is row 1: ACME-PC04, the seventh data row, is row 8.
    assert body["problems"] == [
        {
            "row": 8,
            "column": "Release Date",
            "value": "next week",
            "reason": "not a date: the release date is needed to know when it fell due",
        }
    ]
    assert body["uploaded_by"] == "staff@northwind.test"
    report = body["id"]
    for reader in (world.owner, world.viewer, world.advisor, world.msp_staff):
        api = token_client(reader)
        assert _ids(api, client="acme-dental", kind="patches") == {report}
        download = api.get(f"{LIST}{report}/file/")
        assert download.status_code == 200
        assert (
            b"".join(download.streaming_content)
            == (REPORTS / "ninjaone_2025-10-03.csv").read_bytes()
        )
    for stranger in (world.outsider, world.other_owner, world.rival_staff, world.rival_advisor):
        api = token_client(stranger)
        assert report not in _ids(api)
        assert _ids(api, client="acme-dental") == set()
        for url in (f"{LIST}{report}/", f"{LIST}{report}/file/"):
            assert api.get(url).status_code == 404, (stranger, url)


def test_the_same_report_again_changes_no_row(world):
    staff = token_client(world.msp_staff)
    commitment = _measured(world)
    _import(staff, "datto_rmm_2025-08-10.csv", "datto_rmm", "2025-08-10")
    first = _import(staff)["id"]
    fields = ["device", "patch", "severity", "released", "installed", "status", "last_seen"]
    rows = list(PatchRow.objects.filter(client=world.acme).order_by("pk").values(*fields))
    measures = list(commitment.occurrences.order_by("pk").values_list("measure", flat=True))
    again = _upload(staff)
    assert again.status_code == 202
    queued_imports_run()
    job = staff.get(f"{JOBS}{again.json()['id']}/").json()
    assert job["report"] == first and "the same report was imported on" in job["message"], job
    assert list(PatchRow.objects.filter(client=world.acme).order_by("pk").values(*fields)) == rows
    assert list(commitment.occurrences.order_by("pk").values_list("measure", flat=True)) == (
        measures
    )
    assert len(rows) == 8  # NinjaOne's 6, and ACME-OLD's 2 from Datto


def test_the_client_side_and_other_tenants_import_and_undo_nothing(world):
    report = _import(token_client(world.msp_staff))["id"]
    for reader in (world.owner, world.viewer):
        api = token_client(reader)
        assert _upload(api).status_code == 403
        assert api.post(f"{LIST}{report}/undo/").status_code == 403
    for stranger in (world.outsider, world.rival_staff, world.other_owner):
        api = token_client(stranger)
        refused = _upload(api)
        assert refused.status_code == 400
        assert refused.json() == {"client": ["No client you work with has this slug."]}
        assert api.post(f"{LIST}{report}/undo/").status_code == 404
    assert ToolReport.objects.filter(client=world.acme).count() == 1


def test_the_advisor_imports_and_reports_are_undone_newest_first(world):
    staff, advisor = token_client(world.msp_staff), token_client(world.advisor)
    older = _import(staff, "datto_rmm_2025-08-10.csv", "datto_rmm", "2025-08-10")["id"]
    newer = _import(advisor)["id"]
    refused = staff.post(f"{LIST}{older}/undo/")
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": [
            "datto_rmm_2025-08-10.csv: undo the reports imported after it first, newest first."
        ]
    }
    assert staff.post(f"{LIST}{newer}/undo/").status_code == 204
    # Datto's rows overwritten by NinjaOne's are back as Datto said them.
    pc01 = PatchRow.objects.get(client=world.acme, device="ACME-PC01", patch="KB5040442")
    assert (pc01.report_id, str(pc01.last_seen)) == (older, "2025-08-10")
    assert advisor.post(f"{LIST}{older}/undo/").status_code == 204
    assert not ToolReport.objects.filter(client=world.acme).exists()
    assert not PatchRow.objects.filter(client=world.acme).exists()


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"kind": "horoscope"}, "kind", '"horoscope" is not a valid choice.'),
        ({"preset": "excel"}, "preset", "choose one of"),
        ({"report_date": "3 October"}, "report_date", "Date has wrong format"),
        ({"report_date": "2999-01-01"}, "report_date", "cannot be exported in the future"),
        ({"mapping": "device=Computer"}, "mapping", "not JSON"),
        ({"mapping": '["Computer"]'}, "mapping", "give a JSON object"),
        ({"mapping": '{"colour": "Blue"}'}, "mapping", "'colour' is not a field of a patch"),
        ({"mapping": '{"device": 3}'}, "mapping", "device: give the column's name as text"),
        ({"kind": "mfa", "preset": "generic"}, "statement", "needs the MSP's statement"),
    ],
)
def test_bad_input_is_refused_naming_the_field(world, extra, field, words):
    """What needs no reading of the rows is refused at once, and no import is queued."""
    response = _upload(token_client(world.msp_staff), **extra)
    assert response.status_code == 400
    messages = response.json()[field]
    assert any(words in message for message in messages), messages
    assert not ToolReport.objects.exists() and not ToolReportJob.objects.exists()


def test_a_file_that_cannot_be_used_ends_its_import_rejected_in_words(world):
    """A mapping naming a column the file lacks is found by reading it: the import is accepted,
    then refused by the worker, saying which column, and nothing is written."""
    staff = token_client(world.msp_staff)
    response = _upload(staff, mapping='{"released": "Published"}')
    assert response.status_code == 202, response.content
    queued_imports_run()
    job = staff.get(f"{JOBS}{response.json()['id']}/").json()
    assert (job["status"], job["report"]) == ("rejected", None)
    assert "no column 'Published'" in job["message"], job["message"]
    assert not ToolReport.objects.exists() and not PatchRow.objects.exists()


def test_imports_are_listed_for_the_contracts_parties_only(world):
    """The import list and detail answer the contract's parties; another client's admin, another
    MSP's staff and another advisory firm see none of Acme's imports."""
    job = _upload(token_client(world.msp_staff)).json()["id"]
    for reader in (world.owner, world.viewer, world.advisor, world.msp_staff):
        api = token_client(reader)
        assert _ids(api, JOBS, client="acme-dental") == {job}
        assert api.get(f"{JOBS}{job}/").json()["status"] == "queued"
    for stranger in (world.outsider, world.other_owner, world.rival_staff, world.rival_advisor):
        api = token_client(stranger)
        assert job not in _ids(api, JOBS)
        assert api.get(f"{JOBS}{job}/").status_code == 404


def test_a_mapping_names_the_files_columns(world):
    # The Datto sample read with the generic layout: every column named by the mapping.
    mapping = {
        "device": "Device Hostname",
        "patch": "Patch ID",
        "severity": "Priority",
        "released": "Release Date",
        "installed": "Install Date",
        "status": "Patch Status",
    }
    report = _import(
        token_client(world.msp_staff),
        "datto_rmm_2025-08-10.csv",
        "generic",
        "2025-08-10",
        mapping=json.dumps(mapping),
    )
    assert (report["rows_imported"], report["problems"]) == (3, [])


def test_measured_occurrences_are_kept_or_missed_with_the_rows_behind_them(world):
    commitment = _measured(world)
    staff = token_client(world.msp_staff)
    _import(staff, "datto_rmm_2025-08-10.csv", "datto_rmm", "2025-08-10")
    _import(staff)
    owner = token_client(world.owner)
    listed = owner.get(
        OCCURRENCES, {"client": "acme-dental", "kind": "patches", "commitment": commitment.pk}
    ).json()["results"]
    by_month = {o["period_start"][:7]: o for o in listed}
    august = by_month["2025-08"]
    assert (august["status"], august["status_words"]) == ("missed", "Missed (measured)")
    assert august["measure_words"] == "2 of 5 patches on time, median 20 days, p90 42 days"
    assert august["measure"]["counted"] == 5
    assert [by_month[m]["status_words"] for m in ("2025-07", "2025-09", "2025-10")] == [
        "Kept",
        "Kept",
        "Overdue",  # the October report cannot speak for the rest of October
    ]
    assert by_month["2025-10"]["measure_words"] == "No patch report covers this period yet."
    rows = owner.get(august["rows_url"]).json()
    assert rows["measure_words"] == august["measure_words"]
    # Late first (the never installed before the installed late), then by due day.
    assert [(r["device"], r["days"], r["on_time"]) for r in rows["rows"]] == [
        ("ACME-OLD", None, False),
        ("ACME-SRV01", None, False),
        ("ACME-PC02", 42, False),
        ("ACME-PC01", 6, True),
        ("ACME-PC03", 20, True),
    ]
    assert rows["rows"][2]["due"] == "2025-08-08"  # released 9 Jul + 30 days
    for stranger in (world.outsider, world.rival_staff, world.other_owner):
        api = token_client(stranger)
        assert august["id"] not in _ids(api, OCCURRENCES)
        assert api.get(august["rows_url"]).status_code == 404
        assert api.get(f"{OCCURRENCES}{august['id']}/").status_code == 404


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_the_table_is_served(world, kind):
    """Each kind in evidence/kinds.py: uploads check its own presets, lists filter by it, and
    its occurrences answer their rows, or 404 until the kind has a rows hook."""
    report_kind = KINDS[kind]
    staff = token_client(world.msp_staff)
    refused = _upload(staff, kind=kind, preset="no-such-tool", statement="All use MFA.")
    assert refused.status_code == 400
    assert f"for a {report_kind.noun}" in refused.json()["preset"][0]
    assert staff.get(LIST, {"kind": kind}).status_code == 200
    commitment = Commitment.objects.create(
        contract=world.acme_contract, name=f"API walk {kind}", cadence="monthly", measured_by=kind
    )
    commitment_occurrences_ensure(commitment=commitment)
    occurrence = commitment.occurrences.order_by("period_start").first()
    listed = _ids(staff, OCCURRENCES, kind=kind, commitment=commitment.pk)
    assert occurrence.pk in listed
    rows = staff.get(f"{OCCURRENCES}{occurrence.pk}/rows/")
    if report_kind.rows is None:
        assert (rows.status_code, rows.json()) == (404, {"detail": "No rows for this kind yet."})
    else:
        assert rows.status_code == 200
        assert rows.json()["rows"] == []  # nothing imported: no row behind it
