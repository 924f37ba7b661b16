"""Hostile input: every file of tests/data/hostile/ through the command, the API upload and the
browser upload. Each gets its message (naming the row, column or key where there is one), none
gets a server error, and the tickets already imported are neither lost nor altered."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts.models import Membership, Organisation
from kpis.imports.services import import_run
from kpis.models import ImportJob, Ticket

from . import hostile_corpus
from .conftest import DEMO, apply_yaml_text

SAMPLES = Path(__file__).parent / "data" / "samples"
HOSTILE = hostile_corpus.HOSTILE


@dataclass
class Base:
    acme: Organisation
    msp: Organisation
    staff: object
    count: int
    checksum: str


def sample_state() -> tuple[int, str]:
    """How many tickets there are, and a digest of every stored value of the sample's."""
    rows = Ticket.objects.filter(source_system="halopsa").order_by("external_id").values_list(
        "external_id", "content_hash", "created_at", "resolved_at", "title", "priority",
        "state", "import_job_id", "updated_at",
    )  # fmt: skip
    return Ticket.objects.count(), hashlib.sha256(repr(list(rows)).encode()).hexdigest()


@pytest.fixture(scope="module")
def base(django_db_setup, django_db_blocker):
    """One client with a good sample imported, shared by the module: each test runs in a savepoint
    inside this transaction, which is rolled back at the end (nothing is left for other tests)."""
    with django_db_blocker.unblock(), transaction.atomic():
        apply_yaml_text((DEMO / "acme-dental.yaml").read_text())
        acme = Organisation.objects.get(slug="acme-dental")
        msp = Organisation.objects.get(slug="northwind-it")
        staff = get_user_model().objects.create_user(email="staff@hostile.test", password="x")
        Membership.objects.create(user=staff, organisation=msp, role=Membership.Role.MEMBER)
        TOTP.activate(staff, generate_totp_secret())
        call_command("import_tickets", str(SAMPLES / "halopsa_tickets.csv"), "--client",
                     "acme-dental", stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
        yield Base(acme, msp, staff, *sample_state())
        transaction.set_rollback(True)


def command_import(path: Path) -> tuple[ImportJob | None, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_tickets", str(path), "--client", "acme-dental", stdout=out, stderr=err)
    except CommandError as error:
        message = str(error)
    else:
        message = out.getvalue() + err.getvalue()
    return ImportJob.objects.filter(via="command").order_by("-pk").first(), message


def api_import(base: Base, name: str, data: bytes) -> tuple[int, dict, ImportJob | None]:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=base.staff)[0]}")
    upload = SimpleUploadedFile(name, data, "text/csv")
    response = api.post(reverse("import-upload"), {"file": upload, "client": "acme-dental"},
                        format="multipart")  # fmt: skip
    job = None
    if response.status_code == 202:
        job = import_run(response.json()["id"])  # what the worker does, in this process
    return response.status_code, response.json(), job


def browser_import(base: Base, name: str, data: bytes):
    web = Client()
    web.force_login(base.staff)
    target = f"client:{base.acme.pk}:{base.msp.pk}"
    upload = SimpleUploadedFile(name, data, "text/csv")
    response = web.post(reverse("import_upload"), {"file": upload, "target": target})
    assert response.status_code == 302, response.content[:500]
    job = ImportJob.objects.filter(via="web").order_by("-pk").first()
    mapping_page = web.get(reverse("import_mapping", args=[job.pk]))
    assert mapping_page.status_code in (200, 302)
    if mapping_page.status_code == 200:
        mapping = mapping_page.context["preview"].mapping
        form = {"preset": mapping.preset, "timezone": mapping.timezone,
                "date_order": mapping.date_order, "action": "confirm"}  # fmt: skip
        form |= {f"col__{f}": column for f, column in mapping.columns.items()}
        confirmed = web.post(reverse("import_mapping", args=[job.pk]), form)
        assert confirmed.status_code in (200, 302)
        job.refresh_from_db()
        if job.status == ImportJob.Status.QUEUED:
            import_run(job.pk)
        if job.status == ImportJob.Status.MAPPING:  # the form says what is wrong with it
            return job, confirmed.content.decode()
    job.refresh_from_db()
    detail = web.get(reverse("import_detail", args=[job.pk]))
    assert detail.status_code == 200
    return job, detail.content.decode()


@dataclass(frozen=True)
class Expect:
    """What a hostile file gets: rejected whole with a message, or imported (`created` tickets)
    with problems (row, column, reason) and words in the import's message."""

    rejected: str = ""
    created: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    message: str = ""
    stored: dict[str, str] = field(default_factory=dict)  # ticket id → title as stored
    # What the mapping page says instead of `rejected`, where it says it in words on the field
    # concerned (the command and the API name the mapping's key).
    page: str = ""


NO_TABLE = "has no table: expected a header row of two or more columns and a data row"
UNDECODABLE = "cannot be decoded as UTF-8, UTF-16 or Windows-1252"
ENTITIES = (
    "its XML declares entities (an XML bomb or a reference to another file), which are refused"
)
OUT_OF_RANGE = "a date before 1970 or after 2099 is not a ticket time"
NOT_A_COUNT = "not a number from 0 to 2,147,483,647"
CASES = {
    "absurd_numbers.csv": Expect(created=4, problems=[(n, "Reopens", NOT_A_COUNT) for n in (2, 3, 4, 5)]),
    "ambiguous_dates.csv": Expect(rejected="could be day-first or month-first and no date in the file decides it: choose the date order (dmy or mdy)"),
    "bare_cr.csv": Expect(created=2),
    "billion_laughs.xlsx": Expect(rejected=ENTITIES),
    "bom_in_middle.csv": Expect(created=2, stored={"H-1": "Printer jam", "H-2": "Printer jam"}),
    "control_characters.csv": Expect(created=1, stored={"H-1": "bell\x07 esc\x1b[31m red \x7f"}),
    "cp1252.csv": Expect(created=1, stored={"H-1": "Café printer"}),
    "crlf_in_quoted.csv": Expect(created=1, stored={"H-1": "line one\nline two"}),
    "damaged.xlsx": Expect(rejected="damaged.xlsx: cannot be opened as an Excel workbook"),
    "damaged.zip": Expect(rejected="damaged.zip: is a damaged zip or xlsx file"),
    "delimiters_only.csv": Expect(rejected=NO_TABLE),
    "dst_gap.csv": Expect(problems=[(2, "Opened", "not a date and time that exists")]),
    "duplicate_ids.csv": Expect(created=1, problems=[(2, "Ticket", "ticket appears again at row 3; the later row is imported")], stored={"H-1": "later wins"}),
    "elf_named.csv": Expect(rejected="elf_named.csv: not a table (binary data: a NUL byte on line 1)"),
    "empty.csv": Expect(rejected=NO_TABLE),
    "empty_ids.csv": Expect(created=1, problems=[(2, "Ticket", "required value is empty")]),
    "external_entity.xlsx": Expect(rejected=ENTITIES),
    "fake_gzip.csv": Expect(rejected="fake_gzip.csv: is a damaged or incomplete .gz file"),
    "formula_cells.csv": Expect(created=3, problems=[(2, "Priority", "value not mapped to a normalised priority")], stored={"=1+1": "=cmd|' /C calc'!A0", "+H-2": "+SUM(1;2)", "@H-3": "-1+1"}),
    "formula_cells.xlsx": Expect(created=2, problems=[(4, "Opened", "not a date and time that exists")], stored={"X-1": "=1+1", "X-2": '=HYPERLINK("http://evil.invalid","x")'}),
    "header_only.csv": Expect(rejected=NO_TABLE),
    "html_everywhere.csv": Expect(created=1, problems=[(2, "Priority", "value not mapped to a normalised priority")], message="'<i>prio</i>' ×1", stored={"<b>H-1</b>": hostile_corpus.HTML}),
    "impossible_dates.csv": Expect(created=1, problems=[(2, "Opened", "not a date and time that exists")]),
    "long_ids.csv": Expect(problems=[(2, "Ticket", "ticket id longer than 100 characters"), (3, "Ticket", "ticket id longer than 100 characters")]),
    "long_line.csv": Expect(created=1, problems=[(2, "Title", "longer than 10,000 characters: the first 10,000 are kept")], stored={"H-1": "x" * 10_000}),
    "many_members.zip": Expect(rejected="many_members.zip: holds 60 tables (part0.csv, part1.csv, part2.csv, part3.csv, part4.csv and 55 more); upload one"),
    "missing_required_column.csv": Expect(rejected="mapping.columns.external_id: required (Ticket number) but not mapped", page="Required: choose the file's column for “Ticket number”."),
    "mixed_encodings.csv": Expect(created=2, message="the file mixes encodings: lines in UTF-8 were read as UTF-8, the others (the first on line 3) as Windows-1252", stored={"H-1": "Café", "H-2": "Café"}),
    "negative_durations.csv": Expect(created=2, problems=[(2, "Reopens", NOT_A_COUNT), (3, "Reopens", NOT_A_COUNT)]),
    "nested.zip": Expect(rejected="nested.zip: holds no .csv, .xlsx, .txt or .tsv file"),
    "nested_named_csv.zip": Expect(rejected="t.csv in nested_named_csv.zip: is a zip inside a zip; upload the table itself"),
    "no_table.zip": Expect(rejected="no_table.zip: holds no .csv, .xlsx, .txt or .tsv file"),
    "not_gzip.csv.gz": Expect(created=2),
    "nul_in_cell.csv": Expect(rejected="nul_in_cell.csv: not a table (binary data: a NUL byte on line 2)"),
    "old_xls_named.xlsx": Expect(rejected="is an old-style .xls or a password-protected workbook; save it as .xlsx or CSV"),
    "one_column.csv": Expect(rejected=NO_TABLE),
    "pdf_named.csv": Expect(rejected="pdf_named.csv: is a PDF document, not a table: export the tickets as CSV or XLSX"),
    "png_named.csv": Expect(rejected="png_named.csv: is a PNG image, not a table: export the tickets as CSV or XLSX"),
    "ragged_rows.csv": Expect(created=2, problems=[(3, "Opened", "required value is empty")], message="row 2 had more cells than the header's 12 columns: the cells past column 12 were not imported"),
    "reserved_header.csv": Expect(created=1),
    "resolved_before_created.csv": Expect(problems=[(2, "Resolved", "resolved before it was created")]),
    "traversal_member.zip": Expect(created=2),
    "truncated.csv.gz": Expect(rejected="truncated.csv.gz: is a damaged or incomplete .gz file"),
    "unclosed_quote.csv": Expect(rejected='cannot be read as a table: a quoted value is not closed properly near: "never closed'),
    "undefined_cp1252_bytes.csv": Expect(rejected=UNDECODABLE),
    "utf16_no_bom.csv": Expect(created=2),
    "utf16_odd_length.csv": Expect(rejected="utf16_odd_length.csv: cannot be decoded as UTF-16"),
    "utf8_bom_not_utf8.csv": Expect(rejected=UNDECODABLE),
    "whitespace_only.csv": Expect(rejected=NO_TABLE),
    "year_1.csv": Expect(problems=[(2, "Opened", OUT_OF_RANGE), (2, "Resolved", OUT_OF_RANGE)]),
    "year_9999.csv": Expect(problems=[(2, "Opened", OUT_OF_RANGE), (2, "Resolved", OUT_OF_RANGE)]),
}  # fmt: skip


def test_the_corpus_is_at_least_forty_files_and_each_has_its_expectation():
    on_disk = {p.name for p in HOSTILE.iterdir()}
    assert on_disk == set(CASES) == set(hostile_corpus.small_files())
    assert len(on_disk) >= 40


def assert_problems(job: ImportJob, expect: Expect) -> None:
    for row, column, reason in expect.problems:
        found = job.problems.filter(row=row, column=column, reason__contains=reason)
        assert found.exists(), (row, column, reason, list(job.problems.values_list()))


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_file_gets_its_message_everywhere_and_harms_nothing(base, name, db):
    expect, path = CASES[name], HOSTILE / name
    data = path.read_bytes()

    job, output = command_import(path)
    if expect.rejected:
        assert expect.rejected in output
        assert job is None or job.status == ImportJob.Status.REJECTED
    else:
        assert job.status == ImportJob.Status.DONE, job.message
        assert (job.created, job.updated) == (expect.created, 0)
        assert f"created={expect.created} " in output
        assert expect.message in job.message
        assert_problems(job, expect)
        for row, _column, _reason in expect.problems:
            assert f"row {row}" in output
    for external_id, title in expect.stored.items():
        assert Ticket.objects.get(source_system="generic", external_id=external_id).title == title

    # The API: 400 naming the problem, or 202 and the worker's run (here, in this process).
    code, body, api_job = api_import(base, name, data)
    if expect.rejected and code == 400:
        wanted = "The submitted file is empty." if not data else expect.rejected
        assert wanted in body["file"][0]
    elif expect.rejected:  # found only by the full run (ambiguous dates)
        assert code == 202 and api_job.status == ImportJob.Status.REJECTED
        assert expect.rejected in api_job.message
    else:
        assert code == 202, body
        assert api_job.status == ImportJob.Status.DONE, api_job.message
        # The same file again: nothing new, nothing changed.
        assert (api_job.created, api_job.updated) == (0, 0)
        assert_problems(api_job, expect)

    # The browser: upload, the mapping step, confirm; the page says what happened.
    web_job, page = browser_import(base, name, data)
    if expect.rejected:
        assert web_job.status in (ImportJob.Status.REJECTED, ImportJob.Status.MAPPING)
        assert escape(expect.page or expect.rejected) in page
    else:
        assert web_job.status == ImportJob.Status.DONE, web_job.message
        assert (web_job.created, web_job.updated) == (0, 0)
        assert escape(expect.message) in page

    count, checksum = sample_state()
    assert checksum == base.checksum  # the sample's tickets: none lost, none altered
    assert count == base.count + expect.created


def csv_cells(body: bytes) -> list[str]:
    return [cell for record in csv.reader(io.StringIO(body.decode())) for cell in record]


def test_html_in_every_text_field_is_stored_as_data_and_escaped_on_every_page(base, db):
    command_import(HOSTILE / "html_everywhere.csv")
    ticket = Ticket.objects.get(source_system="generic", external_id="<b>H-1</b>")
    assert ticket.title == hostile_corpus.HTML
    assert (ticket.priority_raw, ticket.category, ticket.requester) == (
        "<i>prio</i>", "<i>cat</i>", "<i>user</i>",
    )  # fmt: skip
    job = ImportJob.objects.filter(via="command").latest("pk")
    web = Client()
    web.force_login(base.staff)
    listing = reverse("client_tickets", args=["acme-dental"]) + "?period=2025-Q3&priority="
    pages = {
        "ticket list": web.get(listing + "&figure=tickets.created&sort=created"),
        "ticket": web.get(reverse("client_ticket", args=["acme-dental", ticket.pk])),
        "import": web.get(reverse("import_detail", args=[job.pk])),
    }
    for where, response in pages.items():
        body = response.content.decode()
        assert response.status_code == 200, where
        assert "<script>alert" not in body and "<img src=x" not in body and "<i>prio" not in body
        assert "&lt;i&gt;prio&lt;/i&gt;" in body or where == "ticket list", where
        if where != "import":
            assert escape(hostile_corpus.HTML) in body, where
    problems = web.get(reverse("import_problems_csv", args=[job.pk]))
    assert "<i>prio</i>" in csv_cells(problems.content)  # data in a CSV, as written


def test_cells_a_spreadsheet_would_run_are_neutralised_in_every_csv_export(base, db):
    command_import(HOSTILE / "formula_cells.csv")
    job = ImportJob.objects.filter(via="command").latest("pk")
    web = Client()
    web.force_login(base.staff)
    listing = reverse("client_tickets", args=["acme-dental"])
    exports = {
        "tickets": web.get(listing + "?period=2025-Q3&figure=tickets.created&format=csv"),
        "problems": web.get(reverse("import_problems_csv", args=[job.pk])),
    }
    for where, response in exports.items():
        assert response.status_code == 200, where
        cells = csv_cells(response.content)
        assert cells, where
        runnable = [c for c in cells if c[:1] in ("=", "+", "-", "@")]
        assert runnable == [], where
    tickets = csv_cells(exports["tickets"].content)
    assert {"'=1+1", "'+H-2", "'@H-3", "'=cmd|' /C calc'!A0", "'-1+1"} <= set(tickets)
    assert "'=cmd|' /C calc'!A0" in csv_cells(exports["problems"].content)


UPLOAD_NAMES = ["../../etc/passwd.csv", "/etc/passwd.csv", "C:\\Windows\\system32\\x.csv",
                "nul\x00byte.csv", "n" * 400 + ".csv", '"quoted";\r\nSet-Cookie: x=1.csv',
                "<script>alert(1)</script>.csv"]  # fmt: skip


@pytest.mark.parametrize("name", UPLOAD_NAMES)
def test_a_hostile_file_name_is_only_a_label_through_the_api_and_the_browser(base, name, db):
    """The stored file's name is the server's own; the upload's name is a label, with no folder,
    no control character, at most 255 characters, and it is downloaded back safely."""
    media = Path(settings.MEDIA_ROOT).resolve()
    code, body, api_job = api_import(base, name, hostile_corpus.GOOD)
    assert code == 202, body
    web_job, page = browser_import(base, name, hostile_corpus.GOOD)
    web = Client()
    web.force_login(base.staff)
    for job in (api_job, web_job):
        assert job.status == ImportJob.Status.DONE
        label = job.original_name
        assert label and len(label) <= 255
        assert not set(label) & {"/", "\\", "\x00", "\r", "\n"}, label
        stored = Path(job.file.path).resolve()
        assert stored.is_relative_to(media / "imports") and stored.name.isalnum()
        download = web.get(reverse("import_file", args=[job.pk]))
        assert download.status_code == 200
        disposition = download["Content-Disposition"]
        assert "\n" not in disposition and "/" not in disposition.replace("filename*=utf-8''", "")
        assert b"".join(download.streaming_content) == hostile_corpus.GOOD
    assert "<script>alert(1)</script>" not in page


@pytest.mark.parametrize(
    ("name", "reason"),
    [("../../etc/passwd.csv", "No such file or directory"), ("nul\x00byte.csv", "null byte"),
     ("n" * 400 + ".csv", "File name too long"), (".", "Is a directory")],
)  # fmt: skip
def test_the_command_names_a_path_it_cannot_read(base, name, reason, db, tmp_path):
    with pytest.raises(CommandError, match="cannot be read") as raised:
        call_command("import_tickets", str(tmp_path / name), "--client", "acme-dental")
    assert reason in str(raised.value)
    assert sample_state() == (base.count, base.checksum)


BIG = {
    hostile_corpus.wide_header: "ten_thousand_columns.csv: has 10000 columns; at most 2000 are supported",
    hostile_corpus.xlsx_bomb: "zip_bomb.xlsx: is too large when unpacked",
    hostile_corpus.huge_cell: "",
}  # fmt: skip


@pytest.mark.parametrize("make", list(BIG), ids=lambda make: make.__name__)
def test_the_big_hostile_files_are_refused_or_read_within_bounds(base, make, db, tmp_path):
    path = make(tmp_path)
    job, output = command_import(path)
    code, body, _ = api_import(base, path.name, path.read_bytes())
    if BIG[make]:
        assert BIG[make] in output and job.status == ImportJob.Status.REJECTED
        assert code == 400 and BIG[make] in body["file"][0]
    else:  # a 50 MB cell: imported, the title cut to its limit with a warning on its row
        assert job.status == ImportJob.Status.DONE and code == 202
        assert len(Ticket.objects.get(source_system="generic", external_id="H-1").title) == 10_000
        assert job.problems.filter(
            row=2, column="Title", reason="longer than 10,000 characters: the first 10,000 are kept"
        ).exists()
    assert sample_state()[1] == base.checksum


@pytest.mark.parametrize(
    ("mapping", "key"),
    [({"preset": ["generic"]}, "mapping.preset: must be text"),
     ({"columns": ["Ticket"]}, "mapping.columns: must be an object"),
     ({"columns": {"external_id": 7}}, "mapping.columns.external_id: must be text"),
     ({"values": {"priority": {"urgent": ["P1"]}}}, "mapping.values.priority.urgent: must be text"),
     ({"pause_states": "waiting"}, "mapping.pause_states: must be a list of text"),
     ([1, 2], "mapping: must be a JSON object")],
)  # fmt: skip
def test_an_api_mapping_of_the_wrong_shape_is_a_400_naming_the_key(base, mapping, key, db):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=base.staff)[0]}")
    upload = SimpleUploadedFile("t.csv", hostile_corpus.GOOD, "text/csv")
    response = api.post(
        reverse("import-upload"),
        {"file": upload, "client": "acme-dental", "mapping": json.dumps(mapping)},
        format="multipart",
    )
    assert response.status_code == 400, response.content[:300]
    assert key in response.json()["file"][0]
