"""Backup job reports and restore test reports imported and measured, hand-computed against
tests/data/backup_reports/ (docs/evidence.md): a Veeam job history exported 1 Sep 2025 (nightly
runs 28 Jun - 31 Aug of SRV-FILE01, SRV-SQL01, WS-007), a Datto BCDR report exported 1 Oct 2025
(September: SRV-FILE01, SRV-SQL01, and SRV-APP01 new from 10 Sep; WS-007 gone) and a Veeam
SureBackup report exported 1 Oct 2025.

"Daily backups succeed" (monthly, a successful backup at least every 2 days, 95 % of runs):
  July: 3 devices x 31 nights = 93 runs, all succeeded; gaps of 1 day: kept.
  August: 93 runs; failed SRV-SQL01 14, 15, 16 Aug and WS-007 20 Aug (4); SRV-FILE01's 12 Aug
    "Warning" counts as a success: 89 / 93 = 95.7 % >= 95 %. SRV-SQL01: last success 13 Aug,
    next 17 Aug: 4 days > 2; WS-007 19 -> 21 Aug: 2 days, not more: missed by SRV-SQL01.
  September: SRV-FILE01 30 + SRV-SQL01 30 + SRV-APP01 21 (10-30 Sep, the first failed) = 81
    runs, 80 succeeded (98.8 %). WS-007 was last listed on 1 Sep (the Veeam report): it answers
    for 1 Sep only, 31 Aug -> 1 Sep = 1 day. SRV-APP01 counts from its first run: 10 -> 11 Sep,
    1 day. Kept.
  October: the latest backup report (1 Oct) cannot speak for it: not measured.
"Backup restore test" (quarterly), Q3 2025: owed by the systems protected all quarter:
  SRV-FILE01 (restored 15 Aug: tested) and SRV-SQL01 (its only Q3 test, 12 Sep, failed:
  missing). WS-007 left the reports on 1 Sep and SRV-APP01 was first backed up on 10 Sep: both
  owe nothing for Q3. => 1 of 2, 1 test failed: missed.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from contracts.models import Commitment, CommitmentOccurrence
from contracts.services.commitments import commitment_occurrences_ensure
from evidence.models import BackupJobRow, RestoreTestRow, ToolReport
from kpis.metrics.recompute import kpis_recompute

from .reviews_support import draft, needs_pdf_tools, qbr_pdf_text
from .tool_report_support import kpi_report_after_imports, web_import

REPORTS = Path(__file__).parent / "data" / "backup_reports"
BACKUPS = "Daily backups succeed"
RESTORES = "Backup restore test"


def _measured(world) -> tuple[Commitment, Commitment]:
    """Acme's restore test measured from the reports, and a daily backup commitment added (the
    demo's terms, evidence/demo.py)."""
    restores = world.acme_contract.commitments.get(name=RESTORES)
    restores.measured_by = "restores"
    restores.save()
    backups = Commitment.objects.create(
        contract=world.acme_contract,
        name=BACKUPS,
        cadence="monthly",
        owner="msp",
        measured_by="backups",
        within_days=2,
        target_percent=95,
    )
    commitment_occurrences_ensure(commitment=backups)
    return backups, restores


def _import(world, kind, name, preset, day, *extra):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_tool_report",
        str(REPORTS / name),
        "--kind",
        kind,
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


def _all_reports(world):
    _import(world, "backups", "veeam_2025-09-01.csv", "veeam", "2025-09-01")
    _import(world, "backups", "datto_2025-10-01.csv", "datto", "2025-10-01")
    return _import(world, "restores", "veeam_surebackup_2025-10-01.csv", "veeam", "2025-10-01")


def _month(commitment, month: int) -> CommitmentOccurrence:
    return commitment.occurrences.get(period_start__year=2025, period_start__month=month)


AUGUST_WORDS = (
    "89 of 93 runs succeeded (95.7%); 1 of 3 devices went more than 2 days without a "
    "successful backup (longest 4 days)"
)
SEPTEMBER_WORDS = (
    "80 of 81 runs succeeded (98.8%); every device (4) had a successful backup at least "
    "every 2 days"
)
Q3_WORDS = "1 of 2 protected systems had a successful restore test; 1 test failed"


def test_the_veeam_report_reads_its_runs_and_names_the_unfinished_one(world):
    out, err = _import(world, "backups", "veeam_2025-09-01.csv", "veeam", "2025-09-01")
    report = ToolReport.objects.get(client=world.acme, kind="backups")
    # 65 nights x 3 devices, and a run still going at the export (row 197: header is row 1).
    assert (report.rows_read, report.rows_imported) == (196, 195)
    assert report.problems == [
        {
            "row": 197,
            "column": "Status",
            "value": "Running",
            "reason": "not finished when the report was exported: it has no result yet",
        }
    ]
    assert "196 rows read, 195 imported" in out and "row 197, column Status 'Running'" in err
    sql = BackupJobRow.objects.get(device="SRV-SQL01", started__date="2025-08-14")
    # 8/14/2025 10:20:05 PM, month-first on a 12-hour clock, kept as the tool's wall clock.
    assert sql.started == datetime(2025, 8, 14, 22, 20, 5, tzinfo=UTC)
    assert (sql.job, sql.result, sql.raw_result) == ("Servers nightly", "failed", "Failed")
    warned = BackupJobRow.objects.get(device="SRV-FILE01", started__date="2025-08-12")
    assert (warned.result, warned.raw_result) == ("warning", "Warning")


def test_an_unknown_result_word_is_named_with_its_row_and_column(world):
    _import(world, "restores", "veeam_surebackup_2025-10-01.csv", "veeam", "2025-10-01")
    report = ToolReport.objects.get(kind="restores")
    assert (report.rows_read, report.rows_imported) == (6, 5)
    [bad] = report.problems
    assert (bad["row"], bad["column"], bad["value"]) == (7, "Result", "Stopped")
    assert bad["reason"].startswith("not a result this layout knows (one of: ")


@pytest.mark.parametrize(
    ("kind", "name", "preset"),
    [
        ("backups", "acronis.csv", "acronis"),
        ("backups", "generic.csv", "generic"),
        ("restores", "datto_screenshots.csv", "datto"),
        ("restores", "acronis_recovery.csv", "acronis"),
        ("restores", "generic_restores.csv", "generic"),
    ],
)
def test_each_layout_reads_its_sample(world, kind, name, preset):
    _import(world, kind, name, preset, "2025-10-01")
    assert ToolReport.objects.get().problems == []
    if kind == "backups":
        # Acronis writes 08/14/2025 22:00 (month-first), the generic file ISO: one moment.
        rows = BackupJobRow.objects.filter(client=world.acme).order_by("started", "device")
        assert [(r.device, r.started.date().isoformat(), r.result) for r in rows] == [
            ("SRV-FILE01", "2025-08-13", "success"),
            ("SRV-FILE01", "2025-08-14", "warning"),
            ("SRV-SQL01", "2025-08-14", "failed"),
        ]
        assert rows[1].started.hour == 22
    else:
        tests = RestoreTestRow.objects.filter(client=world.acme).order_by("system")
        assert [(t.system, t.result) for t in tests] == [
            ("SRV-FILE01", "success"),
            ("SRV-SQL01", "failed"),
        ]
        assert tests[0].tested_on.isoformat() == "2025-09-02" and tests[0].scope


def test_a_missing_column_refuses_the_file_naming_it(world):
    wrong = "no column for the device or protected machine, start time, result in the Veeam"
    with pytest.raises(CommandError, match=wrong):
        _import(world, "backups", "datto_2025-10-01.csv", "veeam", "2025-10-01")
    with pytest.raises(CommandError, match=r"no column 'When' \(start time\) in the file"):
        _import(world, "backups", "generic.csv", "generic", "2025-10-01", "--map", "started=When")
    assert not ToolReport.objects.exists()


def test_reimporting_the_same_report_changes_no_row(world):
    _all_reports(world)
    fields = ["job", "device", "started", "result", "raw_result", "last_seen", "report"]
    before = list(BackupJobRow.objects.filter(client=world.acme).order_by("pk").values(*fields))
    _import(world, "backups", "datto_2025-10-01.csv", "datto", "2025-10-01")
    after = list(BackupJobRow.objects.filter(client=world.acme).order_by("pk").values(*fields))
    assert len(before) == 195 + 81
    # The same rows, each now written by the newest import of the same file (last seen the
    # same day): nothing else moves.
    assert [{**r, "report": None} for r in after] == [{**r, "report": None} for r in before]


def test_the_occurrences_are_kept_or_missed_by_the_reports(world, today):
    backups, restores = _measured(world)
    _all_reports(world)
    july, august, september, october = (_month(backups, m) for m in (7, 8, 9, 10))
    assert july.measure == {
        "runs": 93,
        "succeeded": 93,
        "devices": 3,
        "late_devices": 0,
        "longest_gap": 1,
        "within_days": 2,
        "kept": True,
    }
    assert august.measure == {
        "runs": 93,
        "succeeded": 89,
        "devices": 3,
        "late_devices": 1,
        "longest_gap": 4,
        "within_days": 2,
        "kept": False,
    }
    assert september.measure == {
        "runs": 81,
        "succeeded": 80,
        "devices": 4,
        "late_devices": 0,
        "longest_gap": 1,
        "within_days": 2,
        "kept": True,
    }
    assert october.measure is None
    statuses = [o.status_on(today, 0) for o in (july, august, september, october)]
    assert statuses == ["kept", "missed", "kept", "overdue"]
    q3 = _month(restores, 7)
    assert q3.measure == {"systems": 2, "tested": 1, "failed_tests": 1, "kept": False}
    assert q3.status_on(today, 0) == "missed"


def test_a_restore_report_alone_measures_nothing_until_a_backup_report_covers_it(world):
    _backups, restores = _measured(world)
    _import(world, "restores", "veeam_surebackup_2025-10-01.csv", "veeam", "2025-10-01")
    assert _month(restores, 7).measure is None
    # The backup report names the protected systems: importing it judges the restore tests.
    _import(world, "backups", "veeam_2025-09-01.csv", "veeam", "2025-09-01")
    assert _month(restores, 7).measure is None  # 1 Sep does not reach 30 Sep
    _import(world, "backups", "datto_2025-10-01.csv", "datto", "2025-10-01")
    assert _month(restores, 7).measure["kept"] is False


def test_undo_puts_back_the_rows_newest_first_and_judges_again(world, client_for):
    backups, restores = _measured(world)
    _all_reports(world)
    veeam, datto = ToolReport.objects.filter(kind="backups").order_by("pk")
    staff = client_for(world.msp_staff)

    def undo(report):
        url = reverse(
            "backup_report_undo", args=[world.acme.slug, world.acme_contract.pk, report.pk]
        )
        return staff.post(url, follow=True).content.decode()

    assert "undo the reports imported after it first" in undo(veeam)
    refused = client_for(world.owner).post(
        reverse("backup_report_undo", args=[world.acme.slug, world.acme_contract.pk, datto.pk])
    )
    assert refused.status_code == 403 and ToolReport.objects.filter(kind="backups").count() == 2
    assert "datto_2025-10-01.csv: taken back" in undo(datto)
    assert BackupJobRow.objects.filter(client=world.acme).count() == 195
    # Only Veeam's report (1 Sep) is left: September and the quarter are no longer measured.
    assert _month(backups, 9).measure is None and _month(restores, 7).measure is None
    assert _month(backups, 8).measure["kept"] is False


def test_undo_restores_the_rows_a_report_overwrote(world):
    _import(world, "restores", "generic_restores.csv", "generic", "2025-09-20")
    first = ToolReport.objects.get()
    # A later export says SRV-SQL01's test of 15 Sep passed after all (it was re-run).
    later = REPORTS.parent.parent / "data" / "backup_reports" / "generic_restores.csv"
    text = later.read_text().replace("2025-09-15,failed", "2025-09-15,passed")
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evidence.backup_services import restore_report_import, restore_report_undo

    report = restore_report_import(
        contract=world.acme_contract,
        upload=SimpleUploadedFile("rerun.csv", text.encode()),
        preset="generic",
        report_date=datetime(2025, 9, 30).date(),
        actor=None,
        source="command",
    )
    sql = RestoreTestRow.objects.get(system="SRV-SQL01")
    assert (sql.result, sql.raw_result, sql.report_id) == ("success", "passed", report.pk)
    restore_report_undo(report=report, actor=None, source="command")
    sql = RestoreTestRow.objects.get(system="SRV-SQL01")
    assert (sql.result, sql.raw_result, sql.report_id, str(sql.last_seen)) == (
        "failed",
        "failed",
        first.pk,
        "2025-09-20",
    )


def test_importing_recomputes_and_kpi_report_counts_the_measured_occurrences(
    acme, django_capture_on_commit_callbacks
):
    _measured(acme)
    report = kpi_report_after_imports(
        acme, django_capture_on_commit_callbacks, lambda: _all_reports(acme), "--commitments"
    )
    # Q3 2025: 11 occurrences due (restore test 1, patches 3, phishing 3, QBR 1, and the added
    # daily backups 3). Kept: daily backups July and September (measured). The restore test,
    # kept by hand before it was measured, is now missed by its reports; patches, phishing
    # and the QBR are not recorded: 2 / 11.
    assert report["commitments.kept_rate"] == pytest.approx(2 / 11)
    # The occurrences behind the rate, each with its status, its words and its rows' page.
    due = {(d["commitment"], d["due"]): d for d in report["commitments.due"]}
    assert len(due) == 11
    august = due[("Daily backups succeed", "2025-08-31")]
    assert august["status"] == "Missed (measured)"
    assert august["measured"] == AUGUST_WORDS
    occurrence = CommitmentOccurrence.objects.get(
        commitment__name="Daily backups succeed", due_date="2025-08-31"
    )
    assert august["rows"] == reverse(
        "occurrence_backups", args=[acme.acme.slug, acme.acme_contract.pk, occurrence.pk]
    )
    assert due[("Daily backups succeed", "2025-07-31")]["status"] == "Kept"
    unrecorded = due[("Quarterly business review held", "2025-09-30")]
    assert (unrecorded["status"], unrecorded["measured"], unrecorded["rows"]) == ("Overdue", "", "")
    text = io.StringIO()
    call_command("kpi_report", "--client", acme.acme.slug, "--period", "2025-Q3", stdout=text)
    assert (
        f"    Daily backups succeed, due 2025-08-31: Missed (measured); {AUGUST_WORDS}; "
        f"the rows behind it: {august['rows']}"
    ) in text.getvalue()


def test_the_commitments_page_and_the_drilldowns_show_the_rows(world, client_for):
    backups, restores = _measured(world)
    _all_reports(world)
    client = client_for(world.owner)
    url = reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])
    page = client.get(url).content.decode()
    assert AUGUST_WORDS in page and SEPTEMBER_WORDS in page and Q3_WORDS in page
    assert "measured from <a" in page
    assert (
        "backup job reports</a>: every device backed up successfully at least every 2 days, "
        "at least 95% of the runs successful"
    ) in page
    assert "restore test reports</a>: a successful restore test of every protected system" in page
    august = _month(backups, 8)
    args = [world.acme.slug, world.acme_contract.pk]
    drill = reverse("occurrence_backups", args=[*args, august.pk])
    assert drill in page
    body = client.get(drill).content.decode()
    assert "Missed (measured)" in body
    devices = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    # The late device first: SRV-SQL01, 3 failed, 4 days (13 Aug to 17 Aug).
    assert "SRV-SQL01" in devices[0] and "too long without a backup" in devices[0]
    assert "4 days" in devices[0] and "13 Aug to 17 Aug 2025" in devices[0]
    assert ">3<" in devices[0]
    assert "WS-007" in body and "succeeded with warnings" in body
    runs = body.split("<tbody>")[2].split("</tbody>")[0].split("<tr")[1:]
    assert len(runs) == 93
    q3 = reverse("occurrence_restores", args=[*args, _month(restores, 7).pk])
    assert q3 in page
    body = client.get(q3).content.decode()
    systems = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert [s.split("</th>")[0].rsplit(">", 1)[1] for s in systems] == [
        "SRV-SQL01",
        "SRV-FILE01",
        "SRV-APP01",
        "WS-007",
    ]
    assert "no successful test this period" in systems[0] and "12 Sep 2025, failed" in systems[0]
    assert "tested within the cadence" in systems[1]
    assert "first backed up on 10 Sep 2025" in systems[2]
    assert "not in the backup reports after 1 Sep 2025" in systems[3]
    # Words, not keys: no stored result code on the pages.
    assert ">success<" not in body and "failed_tests" not in body and "why_not_owed" not in body


def test_the_pages_upload_for_staff_and_refuse_the_client(world, client_for):
    for name, kind, file, preset, day, said in [
        ("backup_reports", "backups", "veeam_2025-09-01.csv", "veeam", "2025-09-01", "195 of 196"),
        (
            "restore_reports",
            "restores",
            "veeam_surebackup_2025-10-01.csv",
            "veeam",
            "2025-10-01",
            "5 of 6",
        ),
    ]:
        url = reverse(name, args=[world.acme.slug, world.acme_contract.pk])
        body = {"preset": preset, "report_date": day}
        with (REPORTS / file).open("rb") as handle:
            refused = client_for(world.owner).post(url, {**body, "file": handle})
        assert refused.status_code == 403
        assert not ToolReport.objects.filter(kind=kind).exists()
        with (REPORTS / file).open("rb") as handle:
            text = web_import(client_for(world.msp_staff), url, {**body, "file": handle})
        assert f"{said} rows imported; 1 problem listed below." in text
        assert client_for(world.owner).get(url).status_code == 200


def test_the_qbr_page_says_what_the_reports_show(acme, client_for):
    backups, restores = _measured(acme)
    _all_reports(acme)
    kpis_recompute(acme.acme, full=True)
    review = draft(acme)
    page = client_for(acme.advisor).get(reverse("review_detail", args=[acme.acme.slug, review.pk]))
    text = page.content.decode()
    assert AUGUST_WORDS in text and Q3_WORDS in text
    args = [acme.acme.slug, acme.acme_contract.pk]
    assert reverse("occurrence_backups", args=[*args, _month(backups, 8).pk]) in text
    assert reverse("occurrence_restores", args=[*args, _month(restores, 7).pk]) in text


@needs_pdf_tools
def test_the_qbr_pdf_says_what_the_reports_show(acme, tmp_path):
    _measured(acme)
    _all_reports(acme)
    kpis_recompute(acme.acme, full=True)
    text = qbr_pdf_text(acme.acme.slug, "2025-Q3", tmp_path)
    assert "Missed (measured)" in text
    assert AUGUST_WORDS in text and SEPTEMBER_WORDS in text and Q3_WORDS in text


def _kpi_report(world, period: str) -> dict:
    out = io.StringIO()
    call_command(
        "kpi_report",
        "--client",
        world.acme.slug,
        "--period",
        period,
        "--format",
        "json",
        stdout=out,
    )
    return json.loads(out.getvalue())


def test_service_credits_tied_to_the_kept_rate_follow_the_measured_backups(acme):
    contract = acme.acme_contract
    contract.credit_measure = "commitments.kept_rate"
    contract.credit_period = "quarter"
    contract.credit_tiers = [{"below": 0.1, "credit_percent": 5}]
    contract.save()
    _measured(acme)
    kpis_recompute(acme.acme, full=True)
    # No report yet: none of Q3's 11 occurrences is kept (0 < 10 %): a 5 % credit.
    before = _kpi_report(acme, "2025-Q3")
    assert before["commitments.kept_rate"] == 0
    assert before["service_credits"]["percent"] == 5
    _all_reports(acme)
    kpis_recompute(acme.acme, full=True)
    # July's and September's backups kept by the reports: 2 / 11 = 18 % >= 10 %: no credit.
    after = _kpi_report(acme, "2025-Q3")
    assert after["commitments.kept_rate"] == pytest.approx(2 / 11)
    assert after["service_credits"]["percent"] == 0


def test_the_demo_reports_keep_and_miss_what_docs_evidence_md_says(world):
    from evidence.demo import demo_reports_ensure

    backups, restores = _measured(world)
    done = demo_reports_ensure(world.msp_staff)
    assert "acme-veeam-jobs-2026-01-02.csv: 760 rows" in done
    kept = {
        (o.period_start.isoformat()[:7]): o.measure["kept"]
        for o in backups.occurrences.filter(measure__isnull=False)
    }
    # Missed: October 2025 (NAS-01 failed 7-9 Oct: 4 days) and November 2025 (WS-019 failed
    # 3-6 Nov: 5 days); July 2025 - June 2026 covered.
    assert sorted(k for k, v in kept.items() if not v) == ["2025-10", "2025-11"]
    assert len(kept) == 12
    quarters = {
        o.period_start.isoformat()[:7]: o.measure["kept"]
        for o in restores.occurrences.filter(measure__isnull=False)
    }
    # Q1 2026: NAS-01 has no test (its last, 4 Dec 2025, was Q4's).
    assert quarters == {"2025-07": True, "2025-10": True, "2026-01": False, "2026-04": True}
    # Once only: a second run imports nothing again.
    assert demo_reports_ensure(world.msp_staff) == []


def test_undo_of_a_newer_export_puts_back_the_runs_with_their_start_times(world):
    _import(world, "backups", "generic.csv", "generic", "2025-09-01")
    first = ToolReport.objects.get()
    fields = ["job", "device", "started", "result", "raw_result", "last_seen", "report"]
    before = sorted(BackupJobRow.objects.values_list(*fields))
    # The same runs exported again a day later: the newer report now speaks for them.
    _import(world, "backups", "generic.csv", "generic", "2025-09-02")
    second = ToolReport.objects.exclude(pk=first.pk).get()
    assert set(BackupJobRow.objects.values_list("report", flat=True)) == {second.pk}
    assert len(second.replaced) == 3
    from evidence.backup_services import backup_report_undo

    backup_report_undo(report=second, actor=None, source="command")
    assert sorted(BackupJobRow.objects.values_list(*fields)) == before


def test_the_verdict_strip_counts_measured_backups_overdue_only_when_not_kept(world):
    from kpis.dashboard.verdicts import overdue_count

    today = datetime(2025, 10, 15).date()
    before = overdue_count(world.acme_contract, today)
    backups, _restores = _measured(world)
    # Measured, no report yet: July, August, September (backups) are overdue, and the restore
    # test of Q3, kept by hand before, is overdue too: 4 more.
    assert overdue_count(world.acme_contract, today) == before + 4
    _all_reports(world)
    # Kept by the reports: July and September's backups; August and Q3's restores missed.
    assert overdue_count(world.acme_contract, today) == before + 2
    assert _month(backups, 8).measure["kept"] is False


def test_the_drilldowns_name_the_devices_counted_as_retired(world, client_for):
    """WS-007 is in the 1 Sep report, not in the 1 Oct ones: it counts as retired after 1 Sep.
    A report that left a failing device out would turn a miss into a keep, so every period it
    touches names it: September's backups and Q3's restore tests, not August's (it answered
    for the whole of August)."""
    backups, restores = _measured(world)
    _all_reports(world)
    args = [world.acme.slug, world.acme_contract.pk]
    owner, staff = client_for(world.owner), client_for(world.msp_staff)
    september, q3 = _month(backups, 9), _month(restores, 7)
    august = reverse("occurrence_backups", args=[*args, _month(backups, 8).pk])
    for name, occurrence in (("occurrence_backups", september), ("occurrence_restores", q3)):
        url = reverse(name, args=[*args, occurrence.pk])
        body = owner.get(url).content.decode()
        section = body.split('id="left-out-heading"')[1]
        assert "1 device in earlier reports is not in the latest one (of 1 Oct 2025)" in section
        rows = section.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
        assert len(rows) == 1 and "WS-007" in rows[0] and "1 Sep 2025" in rows[0]
        # The client's admin may dispute the occurrence; the MSP's staff are told who can.
        dispute = reverse("dispute_occurrence", args=[*args, occurrence.pk])
        assert dispute in section
        staff_body = staff.get(url).content.decode()
        assert "the client can dispute this occurrence" in staff_body and dispute not in staff_body
    assert "Devices counted as retired" not in owner.get(august).content.decode()
