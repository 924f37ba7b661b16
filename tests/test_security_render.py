"""Security, round two (issue #17): what the PDF's renderers may fetch (ssrf, item 5) and CSV
exports (csv, item 12). Each test failed on the code before its fix."""

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
            client=world.acme,
            created_at__gte="2025-07-01T05:00:00Z",
            created_at__lt="2025-10-01T05:00:00Z",
        )
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
    from kpis.dashboard.chart_text import figure_inert

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
    call_command(
        "import_tickets",
        str(export),
        "--client",
        world.acme.slug,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
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
