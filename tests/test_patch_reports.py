"""Patch reports imported and measured, hand-computed against tests/data/patch_reports/:
Acme's "Critical patches installed within 30 days" (monthly) measured from a Datto RMM report
exported 10 Aug 2025 and a NinjaOne report exported 3 Oct 2025.

August 2025 (pairs due 1-31 Aug, i.e. released 2 Jul - 1 Aug):
  ACME-PC01  KB5040442  released 9 Jul, installed 15 Jul  ->  6 days, on time
  ACME-PC02  KB5040442  installed 20 Aug                 -> 42 days, late
  ACME-PC03  KB5040442  installed 29 Jul                 -> 20 days, on time
  ACME-SRV01 KB5040437  never installed                  -> late
  ACME-OLD   KB5040442  never installed; the device is absent from the October report, last
             seen 10 Aug, after this pair fell due (8 Aug)  -> counted, late
  not counted: ACME-OLD KB5040999 (due 19 Aug, after the device was last seen), ACME-PC01
             KB5040443 (Important), ACME-PC04 (its release date is unreadable: a problem).
  => 2 of 5 on time; latencies 6, 20, 42: median 20, p90 (nearest rank 3 of 3) 42: missed.
September: ACME-PC01 KB5041585 released 13 Aug, installed 20 Aug: 1 of 1, 7 days: kept.
July: nothing due, and the reports cover it: kept. October on: no report covers it.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.urls import reverse

from contracts.contract_export import contract_document
from contracts.models import CommitmentOccurrence
from evidence.models import PatchRow, ToolReport
from kpis.metrics.recompute import kpis_recompute

from .conftest import apply_yaml_text, demo_document
from .reviews_support import draft, needs_pdf_tools, qbr_pdf_text
from .tool_report_support import kpi_report_after_imports, web_import

REPORTS = Path(__file__).parent / "data" / "patch_reports"
PATCHES = "Critical patches installed within 30 days"


def _measured(world):
    commitment = world.acme_contract.commitments.get(name=PATCHES)
    commitment.measured_by = "patches"
    commitment.within_days = 30
    commitment.severities = "critical"
    commitment.save()
    return commitment


def _import(world, name, preset, day, *extra):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_patch_report",
        str(REPORTS / name),
        "--client",
        world.acme.slug,
        "--preset",
        preset,
        "--report-date",
        day,
        *extra,
        stdout=out,
        stderr=err,
    )
    return out.getvalue(), err.getvalue()


def _both_reports(world):
    _import(world, "datto_rmm_2025-08-10.csv", "datto_rmm", "2025-08-10")
    return _import(world, "ninjaone_2025-10-03.csv", "ninjaone", "2025-10-03")


def _occurrence(commitment, month: int) -> CommitmentOccurrence:
    return commitment.occurrences.get(period_start__year=2025, period_start__month=month)


def test_a_bad_row_is_named_and_the_rest_imported(world):
    out, err = _import(world, "ninjaone_2025-10-03.csv", "ninjaone", "2025-10-03")
    report = ToolReport.objects.get(client=world.acme)
    assert (report.rows_read, report.rows_imported) == (7, 6)
    # The header is row 1: ACME-PC04 is the seventh data row, row 8.
    assert report.problems == [
        {
            "row": 8,
            "column": "Release Date",
            "value": "next week",
            "reason": "not a date: the release date is needed to know when it fell due",
        }
    ]
    assert "row 8, column Release Date 'next week'" in err
    assert "7 rows read, 6 imported" in out
    assert not PatchRow.objects.filter(device="ACME-PC04").exists()
    pc02 = PatchRow.objects.get(client=world.acme, device="ACME-PC02", patch="KB5040442")
    assert (str(pc02.released), str(pc02.installed), pc02.severity) == (
        "2025-07-09",
        "2025-08-20",
        "Critical",
    )


def test_reimporting_the_same_report_changes_no_row(world):
    _both_reports(world)
    fields = ["device", "patch", "severity", "released", "installed", "status", "last_seen"]
    before = list(PatchRow.objects.filter(client=world.acme).order_by("pk").values(*fields))
    _import(world, "ninjaone_2025-10-03.csv", "ninjaone", "2025-10-03")
    after = list(PatchRow.objects.filter(client=world.acme).order_by("pk").values(*fields))
    assert after == before and len(before) == 8  # 6 of NinjaOne's, ACME-OLD's 2 of Datto's


def test_an_older_report_does_not_overwrite_a_newer_one(world):
    _import(world, "ninjaone_2025-10-03.csv", "ninjaone", "2025-10-03")
    _import(world, "datto_rmm_2025-08-10.csv", "datto_rmm", "2025-08-10")
    pc01 = PatchRow.objects.get(client=world.acme, device="ACME-PC01", patch="KB5040442")
    assert str(pc01.last_seen) == "2025-10-03"


def test_a_missing_column_refuses_the_file_naming_it(world):
    with pytest.raises(CommandError, match=r"no column 'Published' \(release date\) in the"):
        _import(world, "generic.csv", "generic", "2025-10-03", "--map", "released=Published")
    wrong_layout = "no column for the device, patch or KB id in the NinjaOne layout"
    with pytest.raises(CommandError, match=wrong_layout):
        _import(world, "cw_automate.csv", "ninjaone", "2025-10-03")
    assert not ToolReport.objects.exists()


@pytest.mark.parametrize(
    ("name", "preset"),
    [
        ("nable_ncentral.csv", "nable"),
        ("cw_automate.csv", "cw_automate"),
        ("generic.csv", "generic"),
    ],
)
def test_each_layout_reads_its_sample(world, name, preset):
    _import(world, name, preset, "2025-10-03")
    pc01 = PatchRow.objects.get(client=world.acme, device="ACME-PC01", patch="KB5041585")
    # Month-first (N-able), day-first (Automate) and ISO dates all read as 13 and 20 August.
    assert (str(pc01.released), str(pc01.installed)) == ("2025-08-13", "2025-08-20")
    assert pc01.severity.lower() == "critical"
    assert ToolReport.objects.get().problems == []


def test_the_occurrences_are_kept_or_missed_by_the_reports(world, today):
    commitment = _measured(world)
    _both_reports(world)
    july, august, september, october = (_occurrence(commitment, m) for m in (7, 8, 9, 10))
    assert july.measure == {
        "on_time": 0,
        "counted": 0,
        "median_days": None,
        "p90_days": None,
        "kept": True,
    }
    assert august.measure == {
        "on_time": 2,
        "counted": 5,
        "median_days": 20.0,
        "p90_days": 42,
        "kept": False,
    }
    assert september.measure == {
        "on_time": 1,
        "counted": 1,
        "median_days": 7.0,
        "p90_days": 7,
        "kept": True,
    }
    assert october.measure is None  # exported 3 Oct: it cannot speak for the rest of October
    statuses = [o.status_on(today, 0) for o in (july, august, september, october)]
    assert statuses == ["kept", "missed", "kept", "overdue"]


def test_a_target_below_100_percent_keeps_august(world):
    commitment = _measured(world)
    commitment.target_percent = 40  # 2 of 5 = 40 %
    commitment.save()
    _both_reports(world)
    assert _occurrence(commitment, 8).measure["kept"] is True


def test_importing_recomputes_and_kpi_report_shows_the_measured_kept_rate(
    acme, django_capture_on_commit_callbacks
):
    _measured(acme)
    report = kpi_report_after_imports(
        acme, django_capture_on_commit_callbacks, lambda: _both_reports(acme)
    )
    # Q3 2025: 8 occurrences due (backup restore test 1, patches 3, phishing 3, QBR 1). Kept:
    # the backup test (done with evidence, past the answer window) and, measured, July and
    # September's patches; August's missed, phishing and the QBR not recorded: 3 / 8.
    assert report["commitments.kept_rate"] == pytest.approx(3 / 8)


def test_the_commitments_page_and_the_drilldown_show_the_rows(world, client_for):
    commitment = _measured(world)
    _both_reports(world)
    client = client_for(world.owner)
    url = reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])
    page = client.get(url).content.decode()
    assert "2 of 5 patches on time, median 20 days, p90 42 days" in page
    assert "1 of 1 patch on time, median 7 days, p90 7 days" in page
    august = _occurrence(commitment, 8)
    drill = reverse("occurrence_patches", args=[world.acme.slug, world.acme_contract.pk, august.pk])
    assert drill in page
    # A measured commitment is not marked done by hand.
    complete = reverse(
        "occurrence_complete", args=[world.acme.slug, world.acme_contract.pk, august.pk]
    )
    assert complete not in page
    body = client.get(drill).content.decode()
    assert "Missed (measured)" in body
    rows = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 5
    # Late ones first: never installed (OLD, SRV01), then PC02 42 days; then the on-time ones.
    assert ["ACME-OLD" in rows[0] or "ACME-SRV01" in rows[0], "ACME-PC02" in rows[2]] == [
        True,
        True,
    ]
    assert "not installed" in rows[0] and "late" in rows[0]
    assert ">42<" in rows[2] and "on time" in rows[4]
    assert "ACME-PC04" not in body and "KB5040443" not in body and "KB5040999" not in body


def test_the_upload_page_imports_for_staff_and_refuses_the_client(world, client_for):
    url = reverse("patch_reports", args=[world.acme.slug, world.acme_contract.pk])
    body = {"preset": "ninjaone", "report_date": "2025-10-03"}
    with (REPORTS / "ninjaone_2025-10-03.csv").open("rb") as handle:
        refused = client_for(world.owner).post(url, {**body, "file": handle})
    assert refused.status_code == 403 and not ToolReport.objects.exists()
    with (REPORTS / "ninjaone_2025-10-03.csv").open("rb") as handle:
        page = web_import(client_for(world.msp_staff), url, {**body, "file": handle})
    assert "6 of 7 rows imported; 1 problem listed below." in page
    assert "next week" in page and ToolReport.objects.get().uploaded_by == world.msp_staff


def test_the_qbr_page_says_what_the_reports_show_with_the_rows_behind_it(acme, client_for):
    commitment = _measured(acme)
    _both_reports(acme)
    kpis_recompute(acme.acme, full=True)
    review = draft(acme)
    page = client_for(acme.advisor).get(reverse("review_detail", args=[acme.acme.slug, review.pk]))
    text = page.content.decode()
    assert "2 of 5 patches on time, median 20 days, p90 42 days" in text
    assert "Missed (measured)" in text
    august = _occurrence(commitment, 8)
    drill = reverse("occurrence_patches", args=[acme.acme.slug, acme.acme_contract.pk, august.pk])
    assert drill in text


@needs_pdf_tools
def test_the_qbr_pdf_says_what_the_reports_show(acme, tmp_path):
    _measured(acme)
    _both_reports(acme)
    kpis_recompute(acme.acme, full=True)
    text = qbr_pdf_text(acme.acme.slug, "2025-Q3", tmp_path)
    assert "Missed (measured)" in text
    assert "2 of 5 patches on time, median 20 days, p90 42 days" in text
    assert "1 of 1 patch on time, median 7 days, p90 7 days" in text


def test_the_contract_file_measures_a_commitment_and_exports_it(world):
    _both_reports(world)
    document = demo_document("acme-dental.yaml")
    for block in document["commitments"]:
        if block["name"] == PATCHES:
            block["measured"] = {"by": "patches", "within_days": 30, "target_percent": 40}
    apply_yaml_text(yaml.safe_dump(document), source="command")
    commitment = world.acme_contract.commitments.get(name=PATCHES)
    assert (commitment.measured_by, commitment.within_days, commitment.severities) == (
        "patches",
        30,
        "critical",
    )
    # Applied after the reports: August is judged at once, 2 of 5 = 40 %, the file's target.
    assert _occurrence(commitment, 8).measure["kept"] is True
    exported = contract_document(contract=world.acme_contract)
    block = next(b for b in exported["commitments"] if b["name"] == PATCHES)
    assert block["measured"] == {
        "by": "patches",
        "within_days": 30,
        "severities": ["critical"],
        "target_percent": 40.0,
    }


def test_the_verdict_strip_counts_measured_occurrences_overdue_only_when_not_kept(world):
    from kpis.dashboard.verdicts import overdue_count

    today = date(2025, 10, 15)
    before = overdue_count(world.acme_contract, today)
    commitment = _measured(world)
    # Measured, no report yet: July, August and September (due by 30 Sep) stay overdue.
    assert overdue_count(world.acme_contract, today) == before
    _both_reports(world)
    # July and September kept by the reports, August missed: two fewer overdue.
    assert overdue_count(world.acme_contract, today) == before - 2
    assert _occurrence(commitment, 8).measure["kept"] is False


def test_undoing_a_report_puts_back_the_rows_it_overwrote_newest_first(world, client_for):
    commitment = _measured(world)
    fields = ["device", "patch", "severity", "released", "installed", "status", "last_seen"]

    def rows():
        return sorted(PatchRow.objects.filter(client=world.acme).values_list(*fields))

    _import(world, "datto_rmm_2025-08-10.csv", "datto_rmm", "2025-08-10")
    after_datto, datto = rows(), ToolReport.objects.get()
    _import(world, "ninjaone_2025-10-03.csv", "ninjaone", "2025-10-03")
    ninjaone = ToolReport.objects.exclude(pk=datto.pk).get()
    assert rows() != after_datto
    staff = client_for(world.msp_staff)

    def undo(report):
        url = reverse(
            "patch_report_undo", args=[world.acme.slug, world.acme_contract.pk, report.pk]
        )
        return staff.post(url, follow=True).content.decode()

    # The older report first: refused, nothing changes.
    assert "undo the reports imported after it first" in undo(datto)
    assert ToolReport.objects.count() == 2
    refused = client_for(world.owner).post(
        reverse("patch_report_undo", args=[world.acme.slug, world.acme_contract.pk, ninjaone.pk])
    )
    assert refused.status_code == 403 and ToolReport.objects.count() == 2
    assert "ninjaone_2025-10-03.csv: taken back" in undo(ninjaone)
    # ACME-PC01 KB5040442 is Datto's again (last seen 10 Aug); NinjaOne's own rows are gone.
    assert rows() == after_datto
    # Only Datto's report (10 Aug) is left: no period after it is measured any more.
    assert _occurrence(commitment, 8).measure is None
    assert _occurrence(commitment, 7).measure is not None


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_a_report_in_a_windows_encoding_is_read_not_refused(world, encoding):
    """RMM tools export Windows-1252 or UTF-16 as often as UTF-8: the upload is not refused
    for it, and the reader decodes the accented device name."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evidence.services import patch_report_import

    text = (REPORTS / "generic.csv").read_text().replace("ACME-PC01", "RÉCEPTION-01")
    report = patch_report_import(
        contract=world.acme_contract,
        upload=SimpleUploadedFile("generic.csv", text.encode(encoding)),
        preset="generic",
        report_date=date(2025, 10, 3),
        actor=None,
        source="command",
    )
    assert report.rows_imported == report.rows_read > 0
    assert PatchRow.objects.filter(device="RÉCEPTION-01").exists()


def test_a_period_awaits_its_report_for_the_grace_days_then_is_overdue(world, settings):
    """October 2025 ends on 31 Oct; the latest report (3 Oct) cannot cover it. For the
    COMMITMENT_REPORT_GRACE_DAYS after it (10: through 10 Nov) it awaits its report: not kept,
    not overdue, no credit; from 11 Nov it is overdue and, for a credited commitment, credits."""
    from kpis.dashboard.verdicts import overdue_count
    from kpis.metrics.period import Period
    from kpis.metrics.snapshot import commitments_missed

    commitment = _measured(world)
    commitment.credit_percent = 2
    commitment.owner = "msp"
    commitment.save()
    _both_reports(world)
    october = _occurrence(commitment, 10)
    assert october.measure is None
    statuses = {
        day: october.status_on(date(2025, *day), 0)
        for day in [(10, 31), (11, 1), (11, 10), (11, 11)]
    }
    assert statuses == {
        (10, 31): "due",
        (11, 1): "awaiting_report",
        (11, 10): "awaiting_report",
        (11, 11): "overdue",
    }
    label = dict(CommitmentOccurrence.Status.choices)["awaiting_report"]
    assert label == "Over, awaiting the report"
    # The overview's count and the credits follow the same day.
    assert overdue_count(world.acme_contract, date(2025, 11, 11)) == (
        overdue_count(world.acme_contract, date(2025, 11, 10)) + 1
    )
    occurrences = list(
        CommitmentOccurrence.objects.filter(pk=october.pk).select_related("commitment")
    )
    for o in occurrences:
        o.evidence_count = 0
    month = Period.parse("2025-10", "UTC")
    assert commitments_missed(occurrences, month, date(2025, 11, 10)) == []
    assert commitments_missed(occurrences, month, date(2025, 11, 11)) == [
        {"name": PATCHES, "due": "2025-10-31", "percent": 2.0}
    ]
    # The days are a setting: with 3, the 4th day after the period is overdue.
    settings.COMMITMENT_REPORT_GRACE_DAYS = 3
    assert october.status_on(date(2025, 11, 3), 0) == "awaiting_report"
    assert october.status_on(date(2025, 11, 4), 0) == "overdue"
