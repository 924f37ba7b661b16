"""Security, round two (issue #17), the items of the sec-render branch: what the PDF's renderers
may fetch (ssrf), CSV exports (csv), saved import mappings (mapping), reviews of a client with
two MSPs (two_msps), upload limits (upload), PDF regeneration (pdf_regen) and action items of a
published review (action_item). Each test failed on the code before its fix."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

import pytest
from django.urls import reverse

from kpis.models import Ticket
from reviews import services
from reviews.context import review_content

from .browser import CHROMIUM
from .test_recompute import import_sample, kpis_recompute

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")


# --- Item 5: the PDF's renderers fetch nothing ----------------------------------------------


class Listener:
    """A real HTTP listener on 127.0.0.1 that records every request line it is sent."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    first = connection.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"(connected, sent nothing)"
                self.requests.append(first.decode("latin-1") or "(connected, sent nothing)")
                body = b"x"
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1\r\n\r\n"
                    + body
                )

    @contextmanager
    def running(self):
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(5)
            self.server.close()


def _hostile(listener: Listener, what: str) -> str:
    return (
        f'<span style="background-image:url({listener.url(what + "-span")})">{what}</span>'
        f'<img src="{listener.url(what + "-img")}"><a href="{listener.url(what + "-a")}">x</a>'
    )


@needs_chromium
def test_ssrf_a_qbr_pdf_with_hostile_categories_and_titles_fetches_nothing(world):
    from reviews.generation import content_pdf

    import_sample(world, "connectwise_service_tickets.csv")
    with Listener().running() as listener:
        q3 = Ticket.objects.filter(
            client=world.acme, created_at__gte="2025-07-01T05:00:00Z",
            created_at__lt="2025-10-01T05:00:00Z",
        )  # fmt: skip
        q3.update(category=_hostile(listener, "category"), title=_hostile(listener, "title"))
        kpis_recompute(world.acme)
        review, _ = services.review_draft_ensure(
            contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
        )
        services.review_update(
            review=review,
            values={"msp_commentary": _hostile(listener, "commentary")},
            actor=world.advisor,
        )
        content = review_content(review)
        labels = next(c for c in content["charts"] if c["id"] == "categories")["figure"]
        assert any("background-image" in str(y) for y in labels["data"][0]["y"])  # it is there
        pdf, pages = content_pdf(content, world.acme)
        assert pdf.startswith(b"%PDF") and pages >= 8
        assert listener.requests == []


@needs_chromium
def test_ssrf_the_chart_page_fetches_nothing_even_when_markup_gets_through(world):
    """The second rule alone: kaleido's page in Chromium loads nothing from the network, also
    when a figure's label is handed over as markup (figure_inert bypassed on purpose)."""
    import kaleido

    from reviews import pdf

    with Listener().running() as listener:
        figure = {
            "data": [{"type": "bar", "x": [1], "y": [_hostile(listener, "raw")]}],
            "layout": {
                "title": {"text": _hostile(listener, "title")},
                "images": [{"source": listener.url("layout-image"), "x": 0, "y": 0}],
            },
        }
        pdf._server()
        svg = kaleido.calc_fig_sync(figure, opts={"format": "svg", "width": 400, "height": 300})
        assert b"<svg" in svg[:200]
        assert listener.requests == []


def test_ssrf_every_string_of_a_figure_is_escaped_for_every_renderer(world, client_for):
    from kpis.chart_text import figure_inert

    figure = {"data": [{"y": ["<b>a</b> & b"], "name": "<i>"}], "layout": {"height": 300}}
    assert figure_inert(figure) == {
        "data": [{"y": ["&lt;b&gt;a&lt;/b&gt; &amp; b"], "name": "&lt;i&gt;"}],
        "layout": {"height": 300},
    }
    # plotly.js on the review page gets the same escaped labels as the PDF's Chromium.
    import_sample(world, "connectwise_service_tickets.csv")
    Ticket.objects.filter(client=world.acme).update(category='<span style="x">Printers</span>')
    kpis_recompute(world.acme)
    review, _ = services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )
    page = client_for(world.advisor).get(
        reverse("review_detail", args=[world.acme.slug, review.pk])
    )
    charts = page.content.decode().split('id="review-charts"')[1].split("</script>")[0]
    # json_script writes & and < as \u0026 and \u003C: escaped once means \u0026lt;.
    assert r"\u0026lt;span style=\"x\"\u0026gt;Printers" in charts
    assert r"\u003Cspan" not in charts


def test_ssrf_weasyprint_loads_only_data_uris_and_the_apps_static_files(settings):
    from weasyprint import HTML

    from reviews.render_guard import static_only_fetcher

    static = (settings.BASE_DIR / "static" / "favicon.svg").as_uri()
    with Listener().running() as listener:
        html = (
            f'<link rel="stylesheet" href="{listener.url("style.css")}">'
            f'<img src="{listener.url("image.png")}"><img src="file:///etc/hostname">'
            f'<img src="{static}"><p style="background:url({listener.url("bg.png")})">x</p>'
        )
        fetched = []

        guarded = static_only_fetcher()
        refuse_or_fetch = guarded.fetch

        def recording(url, headers=None):
            response = refuse_or_fetch(url, headers)
            fetched.append(url)
            return response

        guarded.fetch = recording
        HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=guarded).render()
        assert listener.requests == []
    assert fetched == [static]


# --- Item 12: CSV exports ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("x;=cmd|' /C calc'!A0", "x;'=cmd|' /C calc'!A0"),
        ("=1+1", "'=1+1"),
        ("a,+b", "a,'+b"),
        ("a\t@b", "a\t'@b"),
        ("a| -b", "a| '-b"),
        ("line\n=HYPERLINK(1)", "line\n'=HYPERLINK(1)"),
        ("plain - text", "plain - text"),
    ],
)
def test_csv_a_formula_is_inert_wherever_a_delimiter_guess_could_start_a_cell(text, written):
    import io

    from msp_portal.csv_export import csv_writer, inert

    assert inert(text) == written
    buffer = io.StringIO()
    csv_writer(buffer).writerow([7, text, None])
    # Every text cell quoted, numbers not: no guess splits a text cell.
    assert buffer.getvalue().startswith(f'7,"{written.replace(chr(34), chr(34) * 2)}",""')


def _cells_split_as(content: bytes, delimiter: str) -> list[str]:
    """The cells a spreadsheet sees when it guesses `delimiter` and ignores the quotes a
    different guess would have honoured (the worst case)."""
    text = content.decode()
    return [cell.strip().strip('"') for line in text.splitlines() for cell in line.split(delimiter)]


def test_csv_every_export_is_inert_under_every_delimiter_guess(world, client_for, tmp_path):
    import csv
    import io

    from django.core.management import call_command

    from kpis.models import ImportJob

    from .hostile_corpus import row, table

    hostile = "x;=cmd|' /C calc'!A0"
    export = tmp_path / "hostile.csv"
    # One ticket titled with it; one whose priority is it (a problem row quoting the value).
    export.write_bytes(table(row("H-1", title=f'"{hostile}"'), row("H-2", priority=f'"{hostile}"')))
    call_command("import_tickets", str(export), "--client", world.acme.slug,
                 stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    job = ImportJob.objects.latest("pk")
    assert Ticket.objects.filter(title=hostile).exists() and job.problems.exists()
    staff = client_for(world.msp_staff)
    listing = reverse("client_tickets", args=[world.acme.slug])
    exports = {
        "tickets": staff.get(listing + "?period=2025-Q3&figure=tickets.created&format=csv"),
        "problems": staff.get(reverse("import_problems_csv", args=[job.pk])),
    }
    for where, response in exports.items():
        assert response.status_code == 200, where
        assert hostile.replace(";=", ";'=") in response.content.decode(), where
        for delimiter in (",", ";", "\t", "|"):
            cells = _cells_split_as(response.content, delimiter)
            runnable = [c for c in cells if c[:1] in ("=", "+", "-", "@")]
            assert runnable == [], (where, delimiter, runnable[:3])
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert len(rows) > 1, where


# --- Item 6: saved import mappings --------------------------------------------------------


def _web_import_confirmed(user, client, msp, *, timezone: str = "", save_as: str = ""):
    """Upload the ConnectWise sample in the browser for (client, msp) as `user`, and confirm
    its mapping (with this zone and name, when given): (job, the preview shown)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from kpis.models import ImportJob

    from .test_recompute import SAMPLES

    web = Client()
    web.force_login(user)
    data = (SAMPLES / "connectwise_service_tickets.csv").read_bytes()
    upload = SimpleUploadedFile("export.csv", data, "text/csv")
    target = f"client:{client.pk}:{msp.pk}"
    assert web.post(reverse("import_upload"), {"file": upload, "target": target}).status_code == 302
    job = ImportJob.objects.filter(via="web").latest("pk")
    preview = web.get(reverse("import_mapping", args=[job.pk])).context["preview"]
    mapping = preview.mapping
    form = {"preset": mapping.preset, "timezone": timezone or mapping.timezone,
            "date_order": mapping.date_order, "action": "confirm", "save_as": save_as}  # fmt: skip
    form |= {f"col__{f}": column for f, column in mapping.columns.items()}
    assert web.post(reverse("import_mapping", args=[job.pk]), form).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    return job, preview


def test_mapping_an_advisor_cannot_overwrite_the_msps_saved_mapping(world):
    from kpis.models import SavedMapping

    # Northwind's staff save the MSP's mapping on an import for Birch & Cole.
    _web_import_confirmed(world.msp_staff, world.birch, world.northwind, save_as="Northwind CW")
    msp_wide = SavedMapping.objects.get(msp=world.northwind, name="Northwind CW")
    assert msp_wide.client is None and msp_wide.updated_by == world.msp_staff
    # The advisor (Acme's only) saves under the same name, with another time zone.
    _web_import_confirmed(
        world.advisor, world.acme, world.northwind,
        timezone="Pacific/Auckland", save_as="Northwind CW",
    )  # fmt: skip
    msp_wide.refresh_from_db()
    assert msp_wide.updated_by == world.msp_staff
    assert msp_wide.mapping["timezone"] != "Pacific/Auckland"
    advisors = SavedMapping.objects.get(msp=world.northwind, name="Northwind CW", client=world.acme)
    assert advisors.mapping["timezone"] == "Pacific/Auckland"
    # Birch & Cole's next import (a client the advisor cannot see) is not pre-filled by it.
    _job, preview = _web_import_confirmed(world.msp_staff, world.birch, world.northwind)
    assert preview.mapping.timezone != "Pacific/Auckland"
    # Acme's next import is: it is that client's own saved mapping.
    _job, preview = _web_import_confirmed(world.msp_staff, world.acme, world.northwind)
    assert preview.mapping.timezone == "Pacific/Auckland"


# --- Item 7: a client with two MSPs -----------------------------------------------------------


@pytest.fixture
def two_msps(world, django_user_model):
    """Acme's tickets imported, then a second MSP with its own, newer contract with Acme (no
    advisor) and a member of its staff: world.second_contract, world.second_staff."""
    import yaml

    from contracts.models import Contract, Membership

    from .conftest import apply_yaml_text, demo_document, make_user

    import_sample(world, "connectwise_service_tickets.csv")
    doc = demo_document("acme-dental.yaml")
    doc.pop("advisor", None)
    doc["msp"] = {"slug": "second-msp", "name": "Second MSP"}
    doc["contract"]["name"] = "Second MSP support"
    doc["contract"]["starts"] = "2025-08-01"
    apply_yaml_text(yaml.safe_dump(doc))
    world.second_contract = Contract.objects.get(msp__slug="second-msp")
    world.second_staff = make_user(
        django_user_model, "staff@second.test", world.second_contract.msp,
        Membership.Role.MEMBER, totp=True,
    )  # fmt: skip
    return world


def test_two_msps_each_see_and_change_only_their_own_reviews(two_msps, client_for):
    from reviews.generation import branding_of
    from reviews.models import ActionItem, Review

    w = two_msps
    first = services.review_draft_ensure(
        contract=w.acme_contract, quarter="2025-Q3", actor=w.advisor
    )[0]
    item = services.action_item_add(
        review=first, title="Rotate the Northwind admin password", owner_side="msp",
        due_on=None, actor=w.advisor,
    )  # fmt: skip
    services.review_publish(review=first, actor=w.advisor)
    second, northwind, owner = (
        client_for(w.second_staff), client_for(w.msp_staff), client_for(w.owner)
    )  # fmt: skip
    slug = w.acme.slug

    # The list: the first MSP's review and who published it are not the second MSP's to read.
    listing = second.get(reverse("review_list", args=[slug]))
    assert listing.status_code == 200
    assert list(listing.context["reviews"]) == []
    assert w.advisor.email not in listing.content.decode()
    assert listing.context["contract"] == w.second_contract
    assert second.get(reverse("review_detail", args=[slug, first.pk])).status_code == 404

    # Starting the quarter's review opens the second MSP's own, on its own contract.
    started = second.post(reverse("review_start", args=[slug]), {"quarter": "2025-Q3"})
    own = Review.objects.get(contract=w.second_contract, quarter="2025-Q3")
    assert started["Location"] == reverse("review_detail", args=[slug, own.pk])
    assert own.pk != first.pk and own.version == 1
    assert [i["id"] for i in review_content(own)["action_items"]] == []
    mark = reverse("review_item_status", args=[slug, own.pk, item.pk])
    assert second.post(mark, {"status": "closed"}).status_code == 404
    item.refresh_from_db()
    assert item.status == ActionItem.Status.OPEN

    # The PDF's layout the second MSP sets is its own contract's.
    branding = second.post(reverse("review_list", args=[slug]), {"paper": "Letter"})
    assert branding.status_code == 302
    assert branding_of(w.acme, w.second_contract)[0] == "Letter"
    assert branding_of(w.acme, w.acme_contract)[0] == "A4"

    # Northwind starts its reviews on its own contract, though the other one is newer.
    assert northwind.get(reverse("review_list", args=[slug])).context["contract"] == (
        w.acme_contract
    )
    northwind.post(reverse("review_start", args=[slug]), {"quarter": "2025-Q4"})
    assert Review.objects.get(quarter="2025-Q4").contract == w.acme_contract
    assert not Review.objects.filter(contract=w.second_contract, quarter="2025-Q4").exists()

    # Each MSP's home shows Acme under its own contract, with its own newest review.
    [line] = [li for li in second.get(reverse("home")).context["lines"] if li.client == w.acme]
    assert (line.contract, line.review) == (w.second_contract, own)
    [line] = [li for li in northwind.get(reverse("home")).context["lines"] if li.client == w.acme]
    assert line.contract == w.acme_contract and line.review.quarter == "2025-Q4"

    # The client's own people are party to both contracts and read both MSPs' reviews.
    seen = set(owner.get(reverse("review_list", args=[slug])).context["reviews"])
    assert {first, own} <= seen


# --- Item 9: PDF regeneration -----------------------------------------------------------------


def test_pdf_regen_needs_a_writing_role_is_throttled_and_the_last_pdf_stays_served(
    world, client_for
):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from reviews.models import Review

    import_sample(world, "connectwise_service_tickets.csv")
    review = services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )[0]
    review.pdf.save("old.pdf", ContentFile(b"%PDF-1.4 the last one"), save=False)
    review.pdf_status, review.pdf_generated_at = Review.PdfStatus.DONE, timezone.now()
    review.save()
    args = [world.acme.slug, review.pk]
    pdf, status = reverse("review_pdf", args=args), reverse("review_pdf_status", args=args)
    viewer, advisor = client_for(world.viewer), client_for(world.advisor)

    # A read-only member reads the PDF but does not make the worker draw it again.
    assert viewer.post(pdf).status_code == 403
    assert b"".join(viewer.get(pdf).streaming_content) == b"%PDF-1.4 the last one"
    # A writer asking again moments later, with nothing changed, queues nothing.
    assert advisor.post(pdf).status_code == 302
    review.refresh_from_db()
    assert review.pdf_status == Review.PdfStatus.DONE
    # Later, it is queued; meanwhile the last PDF is served, and the status names it.
    Review.objects.filter(pk=review.pk).update(
        pdf_generated_at=timezone.now() - timedelta(minutes=10)
    )
    assert advisor.post(pdf).status_code == 302
    review.refresh_from_db()
    assert review.pdf_status == Review.PdfStatus.QUEUED
    served = viewer.get(pdf)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == b"%PDF-1.4 the last one"
    assert viewer.get(status).json()["url"] == pdf
    page = viewer.get(reverse("review_detail", args=args)).content.decode()
    assert 'id="pdf-generate"' not in page and 'id="pdf-last"' in page


# --- Item 13: action items of a published review ----------------------------------------------


def test_action_item_of_a_published_review_changes_only_through_a_correction(world, client_for):
    from contracts.models import AuditEvent
    from reviews.models import ActionItem

    import_sample(world, "connectwise_service_tickets.csv")
    q3 = services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )[0]
    item = services.action_item_add(
        review=q3, title="Replace the firewall", owner_side="msp", due_on=None,
        actor=world.advisor,
    )  # fmt: skip
    services.review_publish(review=q3, actor=world.advisor)
    advisor, owner = client_for(world.advisor), client_for(world.owner)
    slug = world.acme.slug

    def edit(review, **values):
        form = {"title": "Nothing to replace", "owner_side": "client", **values}
        return advisor.post(reverse("review_item_edit", args=[slug, review.pk, item.pk]), form)

    def mark(client, review, status):
        url = reverse("review_item_status", args=[slug, review.pk, item.pk])
        return client.post(url, {"status": status})

    # Through the published review: refused, nothing changes.
    assert edit(q3).status_code == 302
    assert mark(advisor, q3, "closed").status_code == 302
    item.refresh_from_db()
    assert (item.title, item.owner_side, item.status) == ("Replace the firewall", "msp", "open")
    # Through the next quarter's draft: its status moves, its agreed wording does not.
    q4 = services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q4", actor=world.advisor
    )[0]
    edit(q4)
    item.refresh_from_db()
    assert item.title == "Replace the firewall"
    mark(advisor, q4, "in_progress")
    item.refresh_from_db()
    assert item.status == ActionItem.Status.IN_PROGRESS
    # A correction of the quarter it was agreed in changes the wording, and the audit says so.
    correction = services.review_correct(review=q3, actor=world.advisor)
    edit(correction)
    item.refresh_from_db()
    assert (item.title, item.owner_side) == ("Nothing to replace", "client")
    assert AuditEvent.objects.filter(action="action_item_edited").exists()
    assert owner.get(reverse("review_detail", args=[slug, q3.pk])).status_code == 200


# --- Item 8: upload size and memory -----------------------------------------------------------


def _export_rows(count: int) -> bytes:
    from .hostile_corpus import HEADER

    rows = "".join(
        f"H-{n},Printer jam {n},Incident,Closed,P3,Phone,Printing,WS-1,ann,"
        f"2025-07-01 10:00,2025-07-01 12:00,0\n"
        for n in range(count)
    )
    return (HEADER + "\n" + rows).encode()


@pytest.mark.parametrize("size", [50_000, 3 * 1024**2], ids=["streamed", "declared"])
def test_upload_over_the_limit_is_413_naming_the_limit_in_the_browser_and_the_api(
    world, client_for, settings, size
):
    """Refused while it streams (a body within the declared slack) and before it is read (a
    body declared larger than the limit allows), by the page and by the API alike."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kpis.models import ImportJob

    from .test_import_api import token_client

    settings.IMPORT_MAX_BYTES = 20_000
    data = _export_rows(size // 90)[:size]
    web = client_for(world.msp_staff)
    target = f"client:{world.acme.pk}:{world.northwind.pk}"
    page = web.post(
        reverse("import_upload"),
        {"file": SimpleUploadedFile("big.csv", data, "text/csv"), "target": target},
    )
    assert page.status_code == 413
    assert "file: the upload is larger than the limit of 20,000 bytes" in page.content.decode()
    api = token_client(world.msp_staff)
    answer = api.post(
        reverse("import-upload"),
        {"file": SimpleUploadedFile("big.csv", data, "text/csv"), "client": world.acme.slug},
        format="multipart",
    )
    assert answer.status_code == 413, answer.content[:300]
    assert "larger than the limit of 20,000 bytes" in answer.json()["detail"]
    assert not ImportJob.objects.exists()
    # Under the limit both still take it.
    small = _export_rows(20)
    assert len(small) < 20_000
    ok = api.post(
        reverse("import-upload"),
        {"file": SimpleUploadedFile("small.csv", small, "text/csv"), "client": world.acme.slug},
        format="multipart",
    )
    assert ok.status_code == 202, ok.content[:300]


def test_upload_preview_reads_only_the_head_of_a_large_gz(world):
    """64 MB of rows in a .gz: the preview unpacks a few MB for its 200 rows, not the file."""
    import gzip
    import tracemalloc

    from kpis.services.imports import PREVIEW_ROWS, import_create, preview_table

    text = _export_rows(720_000)
    assert len(text) > 60 * 1024**2
    packed = gzip.compress(text, compresslevel=1)
    del text
    job = import_create(
        msp=world.northwind, client=world.acme, user=world.msp_staff, via="web",
        name="big.csv.gz", content=packed,
    )  # fmt: skip
    del packed
    tracemalloc.start()
    try:
        table = preview_table(job)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table.frame.height == PREVIEW_ROWS
    assert table.columns[0] == "Ticket"
    assert peak < 32 * 1024**2, f"the preview held {peak / 1024**2:.0f} MB"


# --- The data the migrations of these items move ----------------------------------------------


def test_mapping_and_two_msps_migrations_move_existing_rows(world):
    """The data steps of kpis/0005 and reviews/0002, on rows as they were before them."""
    import importlib

    from django.apps import apps

    from kpis.models import SavedMapping
    from reviews.models import ActionItem

    mapping = {"preset": "generic"}
    kept = SavedMapping.objects.create(msp=world.northwind, name="Staff's", preset="generic",
                                       mapping=mapping, updated_by=world.msp_staff)  # fmt: skip
    SavedMapping.objects.create(msp=world.northwind, name="Advisor's", preset="generic",
                                mapping=mapping, updated_by=world.advisor)  # fmt: skip
    kpis_0005 = importlib.import_module("kpis.migrations.0005_savedmapping_client")
    kpis_0005.remove_mappings_saved_by_outsiders(apps, None)
    assert list(SavedMapping.objects.all()) == [kept]

    review = services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )[0]
    raised = ActionItem.objects.create(client=world.acme, raised_in="2025-Q3", title="a",
                                       owner_side="msp")  # fmt: skip
    orphan = ActionItem.objects.create(client=world.birch, raised_in="2024-Q1", title="b",
                                       owner_side="msp")  # fmt: skip
    reviews_0002 = importlib.import_module("reviews.migrations.0002_reviews_per_contract")
    reviews_0002.items_to_their_contract(apps, None)
    raised.refresh_from_db()
    orphan.refresh_from_db()
    assert raised.contract == review.contract == world.acme_contract
    assert orphan.contract == world.birch_contract
