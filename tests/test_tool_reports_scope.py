"""Tool reports are kept per contract (review of issue 23). Acme contracts two MSPs here:
Northwind (the world's contract) and the rival MSP (a second contract, as the model allows:
unique on client + MSP + name). Each MSP's report judges only its own contract's commitments,
neither sees the other's rows on a page, a drill-down or the API, undo order is per contract;
and import/undo are hardened: a report dated in the future is refused, a file of bad rows keeps
the first 1,000 problems and a count of the rest, imports and undos take the contract's lock,
a commitment switched back to "by hand" loses its old measure, the same report imported again
is answered with the first."""

from __future__ import annotations

import io
import threading
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, connections
from django.urls import reverse

from contracts.models import Commitment, Contract
from contracts.services.commitments import commitment_occurrences_ensure
from evidence.kinds import KINDS
from evidence.measures import measures_refresh
from evidence.models import PhishingRow, TechnicianMfaRow, ToolReport
from msp_portal.jobs import Locks

from .test_api_tool_reports import token_client
from .tool_report_support import web_import

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
PHISHING = DATA / "phishing_reports" / "generic.csv"
SECRET = "Northwind attests: every one of our technicians uses MFA (Northwind only)."

# Per kind: the commitment's rule, and the samples Northwind imports (file, layout, day),
# oldest first (a restore commitment needs a backup report for its protected systems).
RULES = {
    "patches": {"cadence": "monthly", "within_days": 30, "severities": "critical"},
    "backups": {"cadence": "monthly", "within_days": 2, "target_percent": 95},
    "restores": {"cadence": "monthly"},
    "phishing": {"cadence": "monthly", "limit_percent": 10},
    "mfa": {"cadence": "quarterly"},
}
SAMPLES = {
    "patches": [("patches", "patch_reports/ninjaone_2025-10-03.csv", "ninjaone", "2025-10-03")],
    "backups": [("backups", "backup_reports/veeam_2025-09-01.csv", "veeam", "2025-09-01")],
    "restores": [
        ("backups", "backup_reports/veeam_2025-09-01.csv", "veeam", "2025-09-01"),
        ("restores", "backup_reports/veeam_surebackup_2025-10-01.csv", "veeam", "2025-10-01"),
    ],
    "phishing": [("phishing", "phishing_reports/generic.csv", "generic", "2025-12-01")],
    "mfa": [("mfa", "mfa_reports/entra_2025-09-30.csv", "entra", "2025-09-30")],
}


def _rival_contract(world) -> Contract:
    """Acme also contracts the rival MSP."""
    base = world.acme_contract
    return Contract.objects.create(
        client=world.acme,
        msp=world.rival_msp,
        name="Rival helpdesk for Acme",
        starts=base.starts,
        timezone=base.timezone,
        pricing_model=base.pricing_model,
        unit_price=base.unit_price,
    )


def _commitment(contract, kind: str) -> Commitment:
    c = Commitment.objects.create(
        contract=contract, name=f"Measured by {kind}", measured_by=kind, **RULES[kind]
    )
    commitment_occurrences_ensure(commitment=c)
    return c


def _import(contract, kind, path, preset, day, actor, name=None, **extra):
    if kind == "mfa":
        extra.setdefault("statement", SECRET)
    return KINDS[kind].import_report(
        contract=contract,
        upload=SimpleUploadedFile(name or path.name, path.read_bytes()),
        preset=preset,
        report_date=date.fromisoformat(day) if isinstance(day, str) else day,
        actor=actor,
        source="web",
        **extra,
    )


def _drilldown(world, contract, occ) -> str:
    kind = KINDS[occ.commitment.measured_by]
    staff = world.msp_staff if contract == world.acme_contract else world.rival_staff
    response = _web(world, staff).get(
        reverse(kind.drilldown, args=[world.acme.slug, contract.pk, occ.pk])
    )
    assert response.status_code == 200
    return response.content.decode()


def _web(world, user):
    from django.test import Client

    web = Client()
    web.force_login(user)
    return web


# ---- Two MSPs of one client ----------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(RULES))
def test_each_msps_report_judges_and_shows_only_its_own_contract(world, kind):
    rival = _rival_contract(world)
    mine, theirs = _commitment(world.acme_contract, kind), _commitment(rival, kind)
    reports = [
        _import(world.acme_contract, k, DATA / f, p, d, world.msp_staff)
        for k, f, p, d in SAMPLES[kind]
    ]

    # Northwind's commitment is judged; the rival's, of the same client, is not.
    measured = [o for o in mine.occurrences.all() if o.measure is not None]
    assert measured
    assert not theirs.occurrences.exclude(measure=None).exists()

    # The rows behind Northwind's periods are Northwind's; the rival's same periods have none.
    rows_of = KINDS[kind].rows
    with_rows = next(o for o in measured if rows_of(o))
    first = next(iter(rows_of(with_rows)[0].values()))  # a device, system, campaign, person
    twin = theirs.occurrences.get(period_start=with_rows.period_start)
    assert all(rows_of(o) == [] for o in theirs.occurrences.all())
    assert str(first) in _drilldown(world, world.acme_contract, with_rows)
    assert str(first) not in _drilldown(world, rival, twin)

    # Neither the rival's report page nor its API lists Northwind's reports or rows.
    page = _web(world, world.rival_staff).get(
        reverse(KINDS[kind].page, args=[world.acme.slug, rival.pk])
    )
    assert all(r.original_name not in page.content.decode() for r in reports)
    api = token_client(world.rival_staff)
    listed = api.get("/api/v1/tool-reports/", {"limit": 1000}).json()["results"]
    assert {r["id"] for r in listed} & {r.pk for r in reports} == set()
    answer = api.get(f"/api/v1/measured-occurrences/{twin.pk}/rows/")
    assert answer.status_code == 200 and answer.json()["rows"] == []
    # ... and Northwind's rows are not the rival's to read.
    assert api.get(f"/api/v1/measured-occurrences/{with_rows.pk}/rows/").status_code == 404
    northwind = token_client(world.msp_staff)
    assert northwind.get(f"/api/v1/measured-occurrences/{with_rows.pk}/rows/").json()["rows"]


def test_the_rivals_identical_attestation_is_its_own_and_shows_none_of_northwinds(world):
    """The probe: the rival's upload of the same file, day and words was answered with
    Northwind's attestation, and the rival's drill-down showed Northwind's statement and the
    email of Northwind's uploader."""
    rival = _rival_contract(world)
    _commitment(world.acme_contract, "mfa")
    theirs = _commitment(rival, "mfa")
    entra = DATA / "mfa_reports" / "entra_2025-09-30.csv"
    first = _import(world.acme_contract, "mfa", entra, "entra", "2025-09-30", world.msp_staff)
    q3 = theirs.occurrences.get(period_start=date(2025, 7, 1))
    assert q3.measure is None
    text = _drilldown(world, rival, q3)
    assert SECRET not in text and world.msp_staff.email not in text

    again = _import(rival, "mfa", entra, "entra", "2025-09-30", world.rival_staff)
    assert again.pk != first.pk and again.contract_id == rival.pk
    # Each attestation's list is its contract's.
    assert set(
        TechnicianMfaRow.objects.filter(report=again).values_list("contract", flat=True)
    ) == {rival.pk}
    q3.refresh_from_db()
    assert q3.measure is not None
    assert world.msp_staff.email not in _drilldown(world, rival, q3)


def test_undo_order_and_rows_are_per_contract(world):
    """Northwind imports the November campaigns on 1 Dec; the rival imports the same campaign
    (same name and day) with 50 clicks on 2 Dec. Each contract keeps its own row; Northwind may
    still undo its report (the later one is the rival's), and the rival's row stays."""
    rival = _rival_contract(world)
    mine = _import(
        world.acme_contract, "phishing", PHISHING, "generic", "2025-12-01", world.msp_staff
    )
    fixed = PHISHING.read_text().replace(",1200,54,", ",1200,50,").encode()
    theirs = KINDS["phishing"].import_report(
        contract=rival,
        upload=SimpleUploadedFile("rival.csv", fixed),
        preset="generic",
        report_date=date(2025, 12, 2),
        actor=world.rival_staff,
        source="web",
    )
    lure = "November MFA fatigue lure"
    assert PhishingRow.objects.get(contract=world.acme_contract, campaign=lure).clicked == 54
    assert PhishingRow.objects.get(contract=rival, campaign=lure).clicked == 50
    assert theirs.replaced == []  # the rival's import overwrote nothing of Northwind's

    web = _web(world, world.msp_staff)
    page = web.get(reverse("phishing_reports", args=[world.acme.slug, world.acme_contract.pk]))
    assert "Undo this import" in page.content.decode()
    response = web.post(
        reverse("phishing_report_undo", args=[world.acme.slug, world.acme_contract.pk, mine.pk]),
        follow=True,
    )
    assert "taken back" in response.content.decode()
    assert not ToolReport.objects.filter(pk=mine.pk).exists()
    assert PhishingRow.objects.get(contract=rival, campaign=lure).clicked == 50
    assert not PhishingRow.objects.filter(contract=world.acme_contract).exists()


# ---- A report dated in the future ------------------------------------------------------------


def test_a_report_dated_in_the_future_is_refused_on_every_path(world):
    url = reverse("phishing_reports", args=[world.acme.slug, world.acme_contract.pk])
    with PHISHING.open("rb") as handle:
        response = _web(world, world.msp_staff).post(
            url, {"file": handle, "preset": "generic", "report_date": "2031-01-01"}, follow=True
        )
    assert "a report cannot be exported in the future" in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        _import(
            world.acme_contract,
            "mfa",
            DATA / "mfa_reports" / "generic.csv",
            "generic",
            "2031-01-01",
            world.msp_staff,
        )
    assert "report_date" in refused.value.message_dict
    with pytest.raises(CommandError, match="cannot be exported in the future"):
        call_command(
            "import_tool_report",
            str(PHISHING),
            "--kind",
            "phishing",
            "--client",
            world.acme.slug,
            "--preset",
            "generic",
            "--report-date",
            "2031-01-01",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not ToolReport.objects.exists()


# ---- Many bad rows -----------------------------------------------------------------------


def test_a_file_of_bad_rows_keeps_the_first_thousand_problems_and_counts_the_rest(world, tmp_path):
    """1,205 rows with no device: 1,000 problems named, then "and 205 more rows left out"
    (1,205 - 1,000 = 205); the page, its message and the API say the same."""
    lines = ["device,patch,severity,released,installed"]
    lines += [f",KB{i},critical,2025-08-01,2025-08-02" for i in range(1205)]
    data = ("\n".join(lines) + "\n").encode()
    web = _web(world, world.msp_staff)
    url = reverse("patch_reports", args=[world.acme.slug, world.acme_contract.pk])
    text = web_import(
        web,
        url,
        {
            "file": SimpleUploadedFile("bad.csv", data),
            "preset": "generic",
            "report_date": "2025-12-01",
        },
    )
    assert "bad.csv: 0 of 1205 rows imported; 1205 problems, the first 1000 listed below." in text
    assert "And 205 more rows left out: fix the file and import it again" in text
    report = ToolReport.objects.get()
    assert len(report.problems) == 1001
    assert report.problems[999]["row"] == 1001  # the header is row 1: the 1,000th bad row
    assert report.problems[-1]["reason"] == (
        "and 205 more rows left out: fix the file and import it again"
    )
    # The command says the count in words, not "row None".
    err = io.StringIO()
    bad = tmp_path / "bad_rows.csv"
    bad.write_bytes(data)
    call_command(
        "import_tool_report", str(bad), "--kind", "patches", "--client", world.acme.slug,
        "--preset", "generic", "--report-date", "2025-12-02",
        stdout=io.StringIO(), stderr=err,
    )  # fmt: skip
    assert err.getvalue().splitlines()[-1] == (
        "And 205 more rows left out: fix the file and import it again"
    )
    body = token_client(world.msp_staff).get(f"/api/v1/tool-reports/{report.pk}/").json()
    assert len(body["problems"]) == 1001
    assert body["problems"][-1]["row"] is None
    assert body["problems"][-1]["reason"] == report.problems[-1]["reason"]


# ---- The contract's lock -----------------------------------------------------------------


def _held(contract_id: int, ready: threading.Event, release: threading.Event) -> None:
    """Hold the contract's tool-report lock on another connection until told to let go."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [Locks.TOOL_REPORTS, contract_id])
            ready.set()
            release.wait(30)
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [Locks.TOOL_REPORTS, contract_id])
    finally:
        connections["default"].close()


# Committing transactions: the test's own would keep the transaction-level lock of the first
# import until the test ends, and the other session would wait for it.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("step", ["import", "undo"])
def test_import_and_undo_wait_for_the_contracts_lock(world, step):
    """While another session holds the contract's lock, an import or undo of the contract
    waits (here: gives up after 300 ms); one of another contract does not wait."""
    rival = _rival_contract(world)
    report = _import(
        world.acme_contract, "phishing", PHISHING, "generic", "2025-12-01", world.msp_staff
    )
    ready, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_held, args=(world.acme_contract.pk, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            if step == "import":
                _import(
                    world.acme_contract,
                    "phishing",
                    PHISHING,
                    "generic",
                    "2025-12-02",
                    world.msp_staff,
                    name="later.csv",
                )
            else:
                KINDS["phishing"].undo_report(report=report, actor=world.msp_staff, source="web")
        # Another contract's reports are not held up.
        _import(rival, "phishing", PHISHING, "generic", "2025-12-02", world.rival_staff)
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert ToolReport.objects.filter(pk=report.pk).exists()
    assert ToolReport.objects.filter(contract=world.acme_contract).count() == 1


# ---- Back to "by hand"; the same report again ----------------------------------------------


def test_a_commitment_switched_back_to_by_hand_loses_its_old_measure(world):
    phishing = _commitment(world.acme_contract, "phishing")
    _import(world.acme_contract, "phishing", PHISHING, "generic", "2025-12-01", world.msp_staff)
    assert phishing.occurrences.exclude(measure=None).exists()
    phishing.measured_by = ""
    phishing.save()
    measures_refresh(client_id=world.acme.pk)
    assert not phishing.occurrences.exclude(measure=None).exists()


@pytest.mark.parametrize("kind", ["patches", "phishing", "mfa"])
def test_the_same_report_imported_again_is_answered_with_the_first(world, kind):
    [(k, f, preset, day)] = SAMPLES[kind]
    first = _import(world.acme_contract, k, DATA / f, preset, day, world.msp_staff)
    again = _import(world.acme_contract, k, DATA / f, preset, day, world.msp_staff)
    assert again.pk == first.pk
    assert ToolReport.objects.filter(kind=kind).count() == 1
    # Another day is another report.
    later = _import(world.acme_contract, k, DATA / f, preset, "2025-12-05", world.msp_staff)
    assert later.pk != first.pk


# ---- The migration -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_each_row_the_contract_of_its_report(world):
    """Rows stored per client before evidence 0004 get the contract of the report that wrote
    them: Northwind's campaign Northwind's contract, the rival's the rival's."""
    from django.db.migrations.executor import MigrationExecutor

    rival = _rival_contract(world)
    before, after = (
        [("evidence", "0003_tool_report_kinds")],
        [("evidence", "0004_rows_per_contract")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        report_model, row_model = (
            old.get_model("evidence", m) for m in ("ToolReport", "PhishingRow")
        )
        for contract, campaign in ((world.acme_contract, "Northwind lure"), (rival, "Rival lure")):
            report = report_model.objects.create(
                client_id=world.acme.pk,
                contract_id=contract.pk,
                kind="phishing",
                preset="generic",
                file="tool-reports/x",
                original_name=f"{campaign}.csv",
                sha256="0" * 64,
                report_date=date(2025, 12, 1),
            )
            row_model.objects.create(
                client_id=world.acme.pk,
                report=report,
                campaign=campaign,
                sent_on=date(2025, 11, 24),
                recipients=10,
                clicked=1,
                reported=2,
                last_seen=date(2025, 12, 1),
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert dict(PhishingRow.objects.values_list("campaign", "contract_id")) == {
        "Northwind lure": world.acme_contract.pk,
        "Rival lure": rival.pk,
    }
    assert after[0] in MigrationExecutor(connection).loader.applied_migrations


def test_an_advisor_of_both_contracts_names_the_one_an_api_upload_is_for(world):
    """Clearview advises both of Acme's contracts (Northwind's and the rival's). An upload
    through the API without a contract is refused, naming both; with one it lands there; a
    contract of another client, or one Clearview does not advise, is refused by its id."""
    from evidence.models import ToolReportJob

    assert world.acme_contract.advisor_id == world.clearview.pk
    rival = _rival_contract(world)
    rival.advisor = world.clearview
    rival.save()
    api = token_client(world.advisor)
    path = DATA / "patch_reports" / "ninjaone_2025-10-03.csv"

    def upload(**extra):
        with open(path, "rb") as handle:
            body = {
                "client": world.acme.slug,
                "kind": "patches",
                "preset": "ninjaone",
                "report_date": "2025-10-03",
                "file": handle,
                **extra,
            }
            return api.post("/api/v1/tool-reports/", body, format="multipart")

    refused = upload()
    assert refused.status_code == 400
    said = refused.json()["contract"][0]
    assert "has 2 contracts in force that you are party to" in said
    assert f"{rival.pk}: Rival helpdesk for Acme" in said
    assert f"{world.acme_contract.pk}: {world.acme_contract.name}" in said
    assert not ToolReportJob.objects.exists()
    queued = upload(contract=rival.pk)
    assert queued.status_code == 202, queued.content
    assert ToolReportJob.objects.get(pk=queued.json()["id"]).contract_id == rival.pk
    elsewhere = Contract.objects.exclude(client=world.acme).first()
    assert elsewhere is not None
    wrong = upload(contract=elsewhere.pk)
    assert wrong.status_code == 400
    assert f"has the id {elsewhere.pk}" in wrong.json()["contract"][0]
    # Only the one queued above: a refusal queues nothing.
    assert ToolReportJob.objects.count() == 1
    # Northwind's staff, party to one contract of Acme, need not say which.
    staff = token_client(world.msp_staff)
    with open(path, "rb") as handle:
        body = {
            "client": world.acme.slug,
            "kind": "patches",
            "preset": "ninjaone",
            "report_date": "2025-10-03",
            "file": handle,
        }
        assert staff.post("/api/v1/tool-reports/", body, format="multipart").status_code == 202


def test_a_clients_own_member_before_any_contract_is_told_so_not_a_500(world, django_user_model):
    """A client with no contract yet is visible to its own members: an API upload for it is
    refused in words (review of the background imports)."""
    from contracts.models import Membership, Organisation
    from evidence.models import ToolReportJob

    from .conftest import make_user

    newcomer = Organisation.objects.create(
        slug="newcomer-dental", name="Newcomer Dental", kind=Organisation.Kind.CLIENT
    )
    admin = make_user(django_user_model, "admin@newcomer.test", newcomer, Membership.Role.ADMIN)
    path = DATA / "patch_reports" / "ninjaone_2025-10-03.csv"
    with open(path, "rb") as handle:
        body = {
            "client": "newcomer-dental",
            "kind": "patches",
            "preset": "ninjaone",
            "report_date": "2025-10-03",
            "file": handle,
        }
        answer = token_client(admin).post("/api/v1/tool-reports/", body, format="multipart")
    assert answer.status_code == 400
    assert answer.json()["client"] == ["Newcomer Dental has no contract to import for yet."]
    assert not ToolReportJob.objects.exists()


def test_the_saved_columns_choice_takes_ascii_digits_only(world):
    """ "²" is a digit to str.isdigit but not to int(): the page must not answer 500."""
    staff = _web(world, world.msp_staff)
    url = reverse("patch_reports", args=[world.acme.slug, world.acme_contract.pk])
    for chosen in ("²", "١", "12a", ""):
        assert staff.get(url, {"columns": chosen}).status_code == 200
