"""Phishing-simulation results and technician MFA attestations imported and measured,
hand-computed against tests/data/phishing_reports/ and tests/data/mfa_reports/.

Acme's "Phishing simulation" (monthly) measured at most 10 % clicking:
  KnowBe4, one row per campaign, exported 5 Oct 2025 (covers July to September):
    July:      July invoice lure, 15 Jul: 40 recipients, 3 clicked = 7.5 % <= 10 %, 12 reported
               (30 %), 1 entered data  -> kept
    August:    August password reset, 12 Aug: 40, 6 clicked = 15 % > 10 %, 8 reported (20 %),
               2 entered data  -> missed
    September: no campaign (Parcel notice's start date "soon" is unreadable: row 4, a
               problem)  -> missed: the simulation was not run
    October:   the report, exported 5 Oct, cannot speak for the rest of October: not measured.
  KnowBe4, one row per recipient, exported 3 Nov 2025: October shipping notice, 11 rows:
    10 recipients (BEN@ on row 12 is ben@ again: counted once), first delivered 7 Oct;
    clicked: ben = 1 -> 1 / 10 = 10 % <= 10 %; reported: ana, dev, fay ("Yes"), hal = 4
    (ida's "pending" on row 10 cannot be read: counted as not reported) -> 40 %  -> kept.

"MFA for every technician" (quarterly), added measured by `mfa`:
  Entra ID, attested 30 Sep 2025: 4 technicians, carl.help's "Is MFA capable" False
    -> Q3 2025: 3 of 4 -> missed
  PSA technician list, attested 20 Jan 2026: 4 of 4 -> Q1 2026 kept; Q4 2025 has no
    attestation dated in it, and a later one shows the quarter passed -> missed.
    Q2 2026 on: no attestation after them -> not measured.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.urls import reverse

from contracts.models import Commitment, CommitmentOccurrence
from contracts.services.commitments import commitment_occurrences_ensure
from evidence.models import PhishingRow, TechnicianMfaRow, ToolReport
from kpis.metrics.recompute import kpis_recompute

from .conftest import apply_yaml_text, demo_document
from .reviews_support import draft, needs_pdf_tools, qbr_pdf_text
from .tool_report_support import kpi_report_after_imports, web_import

DATA = Path(__file__).parent / "data"
PHISHING_DIR = DATA / "phishing_reports"
MFA_DIR = DATA / "mfa_reports"
PHISHING = "Phishing simulation"
MFA = "MFA for every technician"
STATEMENT = "Every technician with access to your systems signs in with MFA."

JULY = "1 campaign to 40 people: 3 clicked (7.5%), 12 reported (30%), 1 entered data"
AUGUST = "1 campaign to 40 people: 6 clicked (15%), 8 reported (20%), 2 entered data"
NONE_SENT = "No phishing simulation was sent in this period."
OCTOBER = "1 campaign to 10 people: 1 clicked (10%), 4 reported (40%)"
Q3_MFA = "3 of 4 technicians sign in with MFA, attested 30 Sep 2025"
Q1_MFA = "4 of 4 technicians sign in with MFA, attested 20 Jan 2026"
NO_ATTESTATION = "No MFA attestation is dated in this period."


def _measured(world) -> tuple[Commitment, Commitment]:
    phishing = world.acme_contract.commitments.get(name=PHISHING)
    phishing.measured_by, phishing.limit_percent = "phishing", 10
    phishing.save()
    mfa = Commitment.objects.create(
        contract=world.acme_contract, name=MFA, cadence="quarterly", measured_by="mfa"
    )
    commitment_occurrences_ensure(commitment=mfa)
    return phishing, mfa


def _import(world, kind, path, preset, day, *extra):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_tool_report",
        str(path),
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


def _phishing(world, name="knowbe4_2025-10-05.csv", preset="knowbe4", day="2025-10-05", *extra):
    return _import(world, "phishing", PHISHING_DIR / name, preset, day, *extra)


def _recipients(world):
    return _phishing(world, "knowbe4_recipients_2025-11-03.csv", "knowbe4_recipients", "2025-11-03")


def _attest(world, name="entra_2025-09-30.csv", preset="entra", day="2025-09-30", *extra):
    return _import(world, "mfa", MFA_DIR / name, preset, day, "--statement", STATEMENT, *extra)


def _all_reports(world):
    _phishing(world)
    _recipients(world)
    _attest(world)
    _attest(world, "psa_technicians_2026-01-20.csv", "psa_technicians", "2026-01-20")


def _occ(commitment, year, month) -> CommitmentOccurrence:
    return commitment.occurrences.get(period_start__year=year, period_start__month=month)


# ---- Phishing: import, problems, layouts ---------------------------------------------


def test_a_campaign_report_names_its_bad_row_and_imports_the_rest(world):
    out, err = _phishing(world)
    report = ToolReport.objects.get(client=world.acme, kind="phishing")
    assert (report.rows_read, report.rows_imported) == (3, 2)
    assert report.problems == [
        {
            "row": 4,
            "column": "Started",
            "value": "soon",
            "reason": "not a date: the day it was sent says which period it answers for",
        }
    ]
    assert "row 4, column Started 'soon'" in err and "3 rows read, 2 imported" in out
    august = PhishingRow.objects.get(client=world.acme, campaign="August password reset")
    assert (str(august.sent_on), august.recipients, august.clicked, august.reported) == (
        "2025-08-12",
        40,
        6,
        8,
    )
    assert august.submitted == 2


def test_a_per_recipient_report_is_summed_per_campaign_with_its_doubts_named(world):
    _recipients(world)
    report = ToolReport.objects.get(client=world.acme, kind="phishing")
    # 11 rows read; the repeated address is left out: 10 recipients imported.
    assert (report.rows_read, report.rows_imported) == (11, 10)
    assert report.problems == [
        {
            "row": 10,
            "column": "Reported At",
            "value": "pending",
            "reason": "not a yes or no word, nor a time: counted as not reported",
        },
        {
            "row": 12,
            "column": "Email",
            "value": "BEN@acme-dental.example",
            "reason": "the same recipient of the campaign as row 3: counted once",
        },
    ]
    row = PhishingRow.objects.get(client=world.acme)
    assert (row.campaign, str(row.sent_on), row.recipients, row.clicked, row.reported) == (
        "October shipping notice",
        "2025-10-07",
        10,
        1,
        4,
    )
    assert row.submitted == 0


@pytest.mark.parametrize(
    ("name", "preset"),
    [
        ("defender_simulations.csv", "defender"),
        ("proofpoint_campaigns.csv", "proofpoint"),
        ("hoxhunt_trainings.csv", "hoxhunt"),
        ("generic.csv", "generic"),
    ],
)
def test_each_phishing_layout_reads_its_sample(world, name, preset):
    _phishing(world, name, preset, "2025-12-10")
    row = PhishingRow.objects.get(client=world.acme, campaign="November MFA fatigue lure")
    # Month-first with a time (Defender), ISO, day-first with dots (Hoxhunt): 24 November;
    # "1,200" read as 1200.
    assert (str(row.sent_on), row.recipients, row.clicked, row.reported) == (
        "2025-11-24",
        1200,
        54,
        310,
    )
    problems = ToolReport.objects.get().problems
    if preset != "generic":
        assert problems == []
    else:
        assert problems == [
            {
                "row": 3,
                "column": "clicked",
                "value": "12",
                "reason": "more clicks than recipients (10)",
            },
            {
                "row": 4,
                "column": "recipients",
                "value": "ten",
                "reason": "the number of recipients: not a count",
            },
        ]


def test_a_file_in_another_layout_is_refused_naming_the_missing_field(world):
    refused = (
        "no column for the day it was sent, clicks, reports, number of recipients in the "
        "KnowBe4 \\(one row per campaign\\) layout"
    )
    with pytest.raises(CommandError, match=refused):
        _phishing(world, "knowbe4_recipients_2025-11-03.csv", "knowbe4", "2025-11-03")
    with pytest.raises(CommandError, match=r"no column 'Sent' \(clicks\) in the file"):
        _phishing(world, "generic.csv", "generic", "2025-12-10", "--map", "clicked=Sent")
    assert not ToolReport.objects.exists()


def test_reimporting_the_same_phishing_report_changes_no_row(world):
    _phishing(world)
    fields = ["campaign", "sent_on", "recipients", "clicked", "reported", "submitted"]
    before = list(PhishingRow.objects.order_by("pk").values("pk", "last_seen", *fields))
    _phishing(world)
    after = list(PhishingRow.objects.order_by("pk").values("pk", "last_seen", *fields))
    assert after == before and len(before) == 2


def test_an_older_phishing_report_does_not_overwrite_a_newer_one(world):
    _phishing(world, day="2025-12-01")
    _phishing(world, day="2025-10-05")
    assert {str(r.last_seen) for r in PhishingRow.objects.all()} == {"2025-12-01"}
    assert ToolReport.objects.order_by("pk").last().rows_imported == 0


# ---- Phishing: measured ----------------------------------------------------------------


def test_the_phishing_occurrences_are_kept_or_missed_by_the_reports(world, today):
    phishing, _mfa = _measured(world)
    _phishing(world)
    july, august, september, october = (_occ(phishing, 2025, m) for m in (7, 8, 9, 10))
    assert july.measure == {
        "campaigns": 1,
        "recipients": 40,
        "clicked": 3,
        "reported": 12,
        "submitted": 1,
        "click_rate": 0.075,
        "report_rate": 0.3,
        "kept": True,
    }
    assert (august.measure["click_rate"], august.measure["kept"]) == (0.15, False)
    assert september.measure["campaigns"] == 0 and september.measure["kept"] is False
    assert october.measure is None  # exported 5 Oct: it cannot speak for the rest of October
    statuses = [o.status_on(today, 0) for o in (july, august, september, october)]
    assert statuses == ["kept", "missed", "missed", "overdue"]
    _recipients(world)
    october.refresh_from_db()
    assert october.measure["click_rate"] == 0.1 and october.measure["kept"] is True


def test_undoing_phishing_results_newest_first_puts_the_campaigns_back(world, client_for):
    phishing, _mfa = _measured(world)
    _phishing(world)
    first = ToolReport.objects.get()
    before = sorted(PhishingRow.objects.values_list("campaign", "sent_on", "report", "last_seen"))
    _phishing(world, day="2025-11-03")  # the same campaigns, exported again later
    _recipients(world)
    staff = client_for(world.msp_staff)

    def undo(report):
        url = reverse(
            "phishing_report_undo", args=[world.acme.slug, world.acme_contract.pk, report.pk]
        )
        return staff.post(url, follow=True).content.decode()

    assert "undo the reports imported after it first" in undo(first)
    refused = client_for(world.owner).post(
        reverse(
            "phishing_report_undo",
            args=[
                world.acme.slug,
                world.acme_contract.pk,
                ToolReport.objects.order_by("pk").last().pk,
            ],
        )
    )
    assert refused.status_code == 403
    for report in ToolReport.objects.exclude(pk=first.pk).order_by("-pk"):
        assert f"{report.original_name}: taken back" in undo(report)
    assert sorted(
        PhishingRow.objects.values_list("campaign", "sent_on", "report", "last_seen")
    ) == (before)
    assert _occ(phishing, 2025, 10).measure is None
    assert _occ(phishing, 2025, 7).measure["kept"] is True


# ---- MFA -------------------------------------------------------------------------------


def test_an_attestation_needs_the_statement(world):
    with pytest.raises(CommandError, match="Statement: the attestation needs the MSP's statement"):
        _import(world, "mfa", MFA_DIR / "entra_2025-09-30.csv", "entra", "2025-09-30")
    assert not ToolReport.objects.exists()


def test_an_attestation_keeps_each_technician_and_names_the_unreadable(world):
    _out, err = _attest(world, "generic.csv", "generic", "2025-11-03")
    report = ToolReport.objects.get(kind="mfa")
    assert report.statement == STATEMENT and (report.rows_read, report.rows_imported) == (4, 3)
    assert report.problems == [
        {
            "row": 3,
            "column": "mfa",
            "value": "maybe",
            "reason": "not a yes or no word: counted without MFA",
        },
        {"row": 4, "column": "technician", "value": "", "reason": "the technician is empty"},
    ]
    rows = dict(TechnicianMfaRow.objects.values_list("technician", "mfa"))
    assert rows == {"Alex Tech": True, "Bea Ops": False, "Carl Help": False}
    assert "row 3, column mfa 'maybe'" in err


def test_the_same_attestation_again_changes_nothing(world):
    _attest(world)
    _attest(world)
    assert ToolReport.objects.filter(kind="mfa").count() == 1
    assert TechnicianMfaRow.objects.count() == 4


def test_the_mfa_occurrences_are_kept_or_missed_by_the_attestations(world, today, client_for):
    _phishing_commitment, mfa = _measured(world)
    _attest(world)
    q3, q4 = _occ(mfa, 2025, 7), _occ(mfa, 2025, 10)
    assert q3.measure == {
        "attested_on": "2025-09-30",
        "technicians": 4,
        "with_mfa": 3,
        "statement": True,
        "kept": False,
    }
    assert q4.measure is None  # nothing is dated after Q3 yet
    _attest(world, "psa_technicians_2026-01-20.csv", "psa_technicians", "2026-01-20")
    q4.refresh_from_db()
    q1 = _occ(mfa, 2026, 1)
    assert (q4.measure["attested_on"], q4.measure["kept"]) == (None, False)
    assert (q1.measure["with_mfa"], q1.measure["kept"]) == (4, True)
    assert _occ(mfa, 2026, 4).measure is None
    assert [o.status_on(today, 0) for o in (q3, q4, q1)] == ["missed", "missed", "kept"]
    # Undo the January attestation: Q4 waits again, Q3 stays judged by September's.
    staff_undo = reverse(
        "mfa_report_undo",
        args=[world.acme.slug, world.acme_contract.pk, ToolReport.objects.order_by("pk").last().pk],
    )
    client_for(world.msp_staff).post(staff_undo)
    q4.refresh_from_db()
    assert q4.measure is None and TechnicianMfaRow.objects.count() == 4


# ---- Pages -----------------------------------------------------------------------------


def test_the_commitments_page_says_both_and_the_drilldowns_list_the_rows(world, client_for):
    phishing, mfa = _measured(world)
    _all_reports(world)
    client = client_for(world.owner)
    slug, pk = world.acme.slug, world.acme_contract.pk
    page = client.get(reverse("contract_commitments", args=[slug, pk])).content.decode()
    for words in (JULY, AUGUST, NONE_SENT, OCTOBER, Q3_MFA, Q1_MFA, NO_ATTESTATION):
        assert words in page, words
    assert "measured from <a" in page and "at most 10% of recipients clicking" in page
    august, q3 = _occ(phishing, 2025, 8), _occ(mfa, 2025, 7)
    drill = reverse("occurrence_phishing", args=[slug, pk, august.pk])
    mfa_drill = reverse("occurrence_mfa", args=[slug, pk, q3.pk])
    assert drill in page and mfa_drill in page

    body = client.get(drill).content.decode()
    assert "Missed (measured)" in body and AUGUST in body
    rows = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 1 and "August password reset" in rows[0] and ">40<" in rows[0]
    assert "July invoice lure" not in body

    body = client.get(mfa_drill).content.decode()
    assert "Missed (measured)" in body and Q3_MFA in body and STATEMENT in body
    rows = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    # Those without MFA first.
    assert len(rows) == 4 and "carl.help@" in rows[0] and "<strong>no</strong>" in rows[0]
    assert "msp" not in rows[0].lower().replace("bluecrest-msp", "")  # words, not keys
    report = ToolReport.objects.get(kind="mfa", report_date="2025-09-30")
    download = reverse("mfa_report_file", args=[slug, pk, report.pk])
    assert download in body
    response = client.get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (MFA_DIR / "entra_2025-09-30.csv").read_bytes()

    q4 = _occ(mfa, 2025, 10)
    body = client.get(reverse("occurrence_mfa", args=[slug, pk, q4.pk])).content.decode()
    assert NO_ATTESTATION in body
    # A drill-down of another kind's occurrence is not found.
    wrong = client.get(reverse("occurrence_mfa", args=[slug, pk, august.pk]))
    assert wrong.status_code == 404


def test_the_kinds_pages_show_the_trend_and_take_uploads_from_staff(world, client_for):
    _measured(world)
    _phishing(world)
    slug, pk = world.acme.slug, world.acme_contract.pk
    page = client_for(world.owner).get(reverse("phishing_reports", args=[slug, pk]))
    text = page.content.decode()
    assert "Click rate" in text and "7.5%" in text and "15%" in text and AUGUST in text

    url = reverse("mfa_reports", args=[slug, pk])
    body = {"preset": "entra", "report_date": "2025-09-30", "statement": STATEMENT}
    with (MFA_DIR / "entra_2025-09-30.csv").open("rb") as handle:
        refused = client_for(world.owner).post(url, {**body, "file": handle})
    assert refused.status_code == 403
    with (MFA_DIR / "entra_2025-09-30.csv").open("rb") as handle:
        unsaid = client_for(world.msp_staff).post(
            url, {**body, "statement": " ", "file": handle}, follow=True
        )
    assert "needs the MSP" in unsaid.content.decode()
    assert not ToolReport.objects.filter(kind="mfa").exists()
    with (MFA_DIR / "entra_2025-09-30.csv").open("rb") as handle:
        done = web_import(client_for(world.msp_staff), url, {**body, "file": handle})
    assert "entra_2025-09-30.csv: 4 of 4 rows imported." in done
    text = client_for(world.msp_staff).get(url).content.decode()
    assert STATEMENT in text
    assert "Technicians with MFA" in text and "75%" in text


# ---- Figures, the QBR --------------------------------------------------------------------


def test_the_verdict_strip_counts_a_measured_occurrence_overdue_only_when_not_kept(world):
    from datetime import date

    from kpis.dashboard.verdicts import overdue_count

    today = date(2025, 10, 15)
    before = overdue_count(world.acme_contract, today)
    _measured(world)
    # Phishing July - September stay overdue (unrecorded before, unmeasured now); the MFA
    # commitment adds Q3, due 30 Sep: one more.
    assert overdue_count(world.acme_contract, today) == before + 1
    _phishing(world)
    # July kept by the report; August (15 %) and September (no campaign) missed: one fewer.
    assert overdue_count(world.acme_contract, today) == before
    _attest(world, "psa_technicians_2026-01-20.csv", "psa_technicians", "2025-09-15")
    # Q3 kept by an attestation of 15 Sep listing 4 of 4 with MFA: one fewer again.
    assert overdue_count(world.acme_contract, today) == before - 1


def test_kpi_report_counts_the_measured_occurrences(acme, django_capture_on_commit_callbacks):
    _measured(acme)
    report = kpi_report_after_imports(
        acme, django_capture_on_commit_callbacks, lambda: _all_reports(acme)
    )
    # Q3 2025: 9 occurrences due (backup restore test 1, patches 3, phishing 3, QBR 1, MFA 1).
    # Kept: the backup test (done with evidence, past the answer window) and, measured, July's
    # phishing; August's and September's phishing and Q3's MFA missed, patches and the QBR
    # not recorded: 2 / 9.
    assert report["commitments.kept_rate"] == pytest.approx(2 / 9)


def test_the_qbr_page_says_what_the_reports_show(acme, client_for):
    phishing, mfa = _measured(acme)
    _all_reports(acme)
    kpis_recompute(acme.acme, full=True)
    review = draft(acme)
    page = client_for(acme.advisor).get(reverse("review_detail", args=[acme.acme.slug, review.pk]))
    text = page.content.decode()
    for words in (JULY, AUGUST, NONE_SENT, Q3_MFA):
        assert words in text, words
    slug, pk = acme.acme.slug, acme.acme_contract.pk
    assert reverse("occurrence_phishing", args=[slug, pk, _occ(phishing, 2025, 8).pk]) in text
    assert reverse("occurrence_mfa", args=[slug, pk, _occ(mfa, 2025, 7).pk]) in text


@needs_pdf_tools
def test_the_qbr_pdf_says_kept_and_missed_with_the_words(acme, tmp_path):
    _measured(acme)
    _all_reports(acme)
    kpis_recompute(acme.acme, full=True)
    text = qbr_pdf_text(acme.acme.slug, "2025-Q3", tmp_path)
    section = text[text.rfind("Commitments Commitment Owner") :]
    # The table's status cell wraps ("Missed ... (measured)"): each part is there, and each
    # measured occurrence's words.
    assert "Kept 1 campaign to 40 people" in section and "(measured)" in section
    assert "Missed 3 of 4 technicians" in section
    for words in (JULY, AUGUST, NONE_SENT, Q3_MFA):
        assert words in section, words


# ---- The demo ----------------------------------------------------------------------------


def test_the_demo_reports_show_kept_and_missed_periods(world):
    """evidence/demo/: the KnowBe4 report of 3 Jul 2026 and four attestations.
    Phishing, at most 10 %: Jul 5/58, Aug 4/58, Sep 3/59, Oct 5/59, Nov 4/60 kept; Dec 2025
    no campaign: missed; Jan 6/60 = 10 % exactly: kept; Feb 8/60 = 13.3 %: missed; Mar 3/61,
    Apr 4/61, May 2/62, Jun 3/62 kept; Jul 2026 not covered. MFA: Q3 2025 3 of 3 kept, Q4 3 of
    4 (Dan New without) missed, Q1 2026 4 of 4 and Q2 3 of 3 kept; Q3 2026 not covered."""
    from evidence.demo import demo_contract_document, demo_reports_ensure

    document = demo_contract_document(demo_document("acme-dental.yaml"))
    apply_yaml_text(yaml.safe_dump(document), source="command")
    done = demo_reports_ensure(world.msp_staff)
    # The five hygiene reports among the demo's (the other kinds' are checked with them).
    assert len([d for d in done if "knowbe4" in d or "_mfa_" in d]) == 5
    assert demo_reports_ensure(world.msp_staff) == []  # once only
    contract = world.acme_contract
    phishing = contract.commitments.get(name=PHISHING)
    months = [(2025, m) for m in range(7, 13)] + [(2026, m) for m in range(1, 8)]
    kept = [(occ.measure or {}).get("kept") for occ in (_occ(phishing, y, m) for y, m in months)]
    assert kept == [True] * 5 + [False, True, False] + [True] * 4 + [None]
    mfa = contract.commitments.get(name=MFA)
    quarters = [(2025, 7), (2025, 10), (2026, 1), (2026, 4), (2026, 7)]
    kept = [(_occ(mfa, y, m).measure or {}).get("kept") for y, m in quarters]
    assert kept == [True, False, True, True, None]


def test_the_overview_card_counts_the_overdue_as_the_verdict_strip_does(world, client_for):
    """The client's overview says one number of overdue commitments in both places: the
    card's (overdue + missed by the reports, the missed named in its note) and the strip's."""
    import re

    from contracts.services.commitments import contract_today
    from kpis.dashboard.verdicts import overdue_count

    _measured(world)
    _phishing(world)
    page = client_for(world.owner).get(reverse("client_home", args=[world.acme.slug]))
    html = page.content.decode()
    card = re.search(r'<span class="stat-value">(\d+) overdue</span>', html)
    missed = re.search(r"of the overdue, (\d+) missed by the reports", html)
    total = overdue_count(world.acme_contract, contract_today(world.acme_contract))
    assert card is not None and int(card.group(1)) == total
    assert missed is not None and 0 < int(missed.group(1)) < total
