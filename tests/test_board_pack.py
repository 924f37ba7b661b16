"""The QBR as a board pack, read back from the PDF with poppler: tagged and titled, the scorecard
with every target on page 2, no page mostly blank, no empty section, no internal key, and the
paper of the client's country. The PDF and its page images are kept in artifacts/screenshots/
(where .ci/run keeps the browser tests' screenshots)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from datetime import date, timedelta
from pathlib import Path

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from kpis.metrics.registry import SCORECARD
from reviews import services
from reviews.board import NO_TARGET
from reviews.context import review_content
from reviews.generation import content_pdf

from .browser import SCREENSHOTS
from .reviews_support import PNG_1PX, draft, needs_pdf_tools

# A page whose white space (runs of empty pixel rows taller than a line gap) exceeds this share
# of its height reads as unfinished; only the last page may end early.
MOST_BLANK = 0.60


def _write_pdf(world, tmp_path: Path, name: str) -> Path:
    review = draft(world)
    pdf, _pages = content_pdf(review_content(review), world.acme, contract=world.acme_contract)
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _catalog(pdf: Path) -> bytes:
    """The PDF's catalog dictionary (WeasyPrint stores it in a compressed object stream)."""
    data = pdf.read_bytes()
    for match in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", match.end())
        try:
            unpacked = zlib.decompress(data[match.end() : end])
        except zlib.error:
            continue
        if b"/Type /Catalog" in unpacked:
            start = unpacked.index(b"/Type /Catalog")
            return unpacked[start : unpacked.index(b">>", start)]
    return b""


def _page_texts(pdf: Path) -> list[str]:
    return _run("pdftotext", "-layout", str(pdf), "-").split("\f")


def _page_images(pdf: Path, folder: Path, prefix: str) -> list[Path]:
    _run("pdftoppm", "-r", "30", "-gray", "-png", str(pdf), str(folder / prefix))
    return sorted(folder.glob(f"{prefix}-*.png"))


def blank_share(png: Path) -> float:
    """Share of the page's height in empty bands: runs of rows without ink taller than 3% of
    the page (a line gap or a table rule's spacing is not white space; a half-empty page is)."""
    from PIL import Image

    image = Image.open(png).convert("L")
    width, height = image.size
    pixels = image.load()
    inked = [any(pixels[x, y] < 200 for x in range(width)) for y in range(height)]
    least = max(1, round(height * 0.03))
    blank, run = 0, 0
    for has_ink in [*inked, True]:
        if has_ink:
            blank += run if run >= least else 0
            run = 0
        else:
            run += 1
    return blank / height


def _keep(prefix: str, *files: Path) -> None:
    """Copies the files to the artifacts folder, replacing an earlier run's (page counts vary)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{prefix}*"):
        old.unlink()
    for file in files:
        shutil.copy(file, SCREENSHOTS / file.name)


@needs_pdf_tools
def test_the_board_pack_reads_as_a_board_pack(acme, tmp_path):
    pdf = _write_pdf(acme, tmp_path, "board-pack-acme-2025-Q3.pdf")
    images = _page_images(pdf, tmp_path, "board-pack-acme-page")
    _keep(
        "board-pack-acme", pdf, *images
    )  # kept before any check, so a failure leaves them to look at
    info = _run("pdfinfo", str(pdf))
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    assert re.search(
        r"^Title:\s+Acme Dental Group · Quarterly business review 2025-Q3$", info, re.M
    )
    assert "612 x 792 pts (letter)" in info  # Acme is in the US: Letter
    assert b"/Lang (en)" in _catalog(pdf)  # the document's language, for screen readers

    pages = _page_texts(pdf)
    cover, scorecard = pages[0], pages[1]
    assert "Northwind IT Services" in cover and "Acme Dental Group" in cover  # both names
    assert "Scorecard: 2025-Q3 against the contract" in scorecard
    for measure in SCORECARD:  # every measure, with its target or the contract's silence
        assert measure.label in scorecard, measure.label
    rows = [line for line in scorecard.splitlines() if "●" in line]  # each row's verdict mark
    assert len(rows) >= len(SCORECARD)
    assert all(NO_TARGET in row or "at least" in row or "at most" in row for row in rows), rows
    assert "Northwind IT Services met" in scorecard  # the verdict in one sentence

    text = "\n".join(pages)
    assert "Recommendations and roadmap" in text
    # Every figure of the registry is in the key figures; the four the dashboard shows in
    # sections of their own (risks, uptime, credits, tickets without a verdict) are not rows.
    from kpis.dashboard.selectors import MORE_FIGURES

    flat = " ".join(text.split())
    for measure in MORE_FIGURES:
        assert measure.label in flat, measure.label
    for empty in ("No commentary yet", "Not recorded", "not scheduled", "No action items"):
        assert empty not in text, empty  # an empty section is left out, not printed
    for key in ("resolution.compliance", "ci:", "user:", "|"):
        assert key not in text, key  # people read names, never keys

    assert len(images) == len([p for p in pages if p.strip()])
    shares = {image.name: round(blank_share(image), 2) for image in images}
    mostly_blank = [name for name, share in list(shares.items())[:-1] if share > MOST_BLANK]
    assert not mostly_blank, shares


@needs_pdf_tools
def test_a_uk_client_gets_a4_and_the_cover_sets_a_missing_logo_in_type(acme, tmp_path):
    acme.acme.country = "GB"
    acme.acme.save()
    pdf = _write_pdf(acme, tmp_path, "board-pack-uk.pdf")
    assert "595.276 x 841.89 pts (A4)" in _run("pdfinfo", str(pdf))
    assert _run("pdfimages", "-list", str(pdf)).count("\n") == 2  # no logo image: the names
    cover = _page_texts(pdf)[0]
    in_type = cover.count("Northwind IT Services")  # the name set in type, details, verdict
    assert in_type == 3 and cover.count("Acme Dental Group") >= 2  # the client's too

    # With the MSP's logo (set in the admin) the cover draws it instead of the MSP's name.
    msp = acme.acme_contract.msp
    msp.logo.save("logo.png", ContentFile(PNG_1PX))
    pdf = _write_pdf(acme, tmp_path, "board-pack-uk-msp-logo.pdf")
    assert _run("pdfimages", "-list", str(pdf)).count("\n") == 3  # header, rule, the logo
    assert _page_texts(pdf)[0].count("Northwind IT Services") == in_type - 1  # logo, not type


def test_blank_share_tells_a_full_page_from_a_half_empty_one(tmp_path):
    from PIL import Image, ImageDraw

    def page(lines: int) -> Path:
        image = Image.new("L", (250, 350), 255)
        draw = ImageDraw.Draw(image)
        for i in range(lines):
            draw.rectangle([20, 20 + i * 8, 230, 24 + i * 8], fill=0)
        path = tmp_path / f"page-{lines}.png"
        image.save(path)
        return path

    assert blank_share(page(39)) < 0.15  # lines 8 px apart: no white space worth the name
    assert blank_share(page(15)) > MOST_BLANK  # the lower two-thirds empty


def test_publishing_asks_first_and_lists_what_is_still_empty(acme, client_for):
    review = draft(acme)
    advisor = client_for(acme.advisor)
    url = reverse("review_publish", args=[acme.acme.slug, review.pk])
    services.review_update(
        review=review, values={"msp_commentary": "A good quarter for backups."}, actor=acme.advisor
    )
    asked = advisor.post(url)
    assert asked.status_code == 200
    html = " ".join(asked.content.decode().split())
    assert "The advisor&#x27;s commentary" in html and "Attendees" in html
    assert "The MSP&#x27;s commentary" not in html  # written: not listed
    review.refresh_from_db()
    assert not review.published  # nothing happens until the confirmation's own button
    assert advisor.post(url, {"confirmed": "yes"}).status_code == 302
    review.refresh_from_db()
    assert review.published
    assert client_for(acme.owner).post(url, {"confirmed": "yes"}).status_code == 403


def test_the_editor_shows_the_figures_beside_the_fields_and_flags_a_past_next_review(
    acme, client_for
):
    review = draft(acme)
    services.review_update(
        review=review,
        values={"next_review_on": timezone.localdate() - timedelta(days=1)},
        actor=acme.advisor,
    )
    page = client_for(acme.advisor).get(reverse("review_detail", args=[acme.acme.slug, review.pk]))
    html = page.content.decode()
    layout = html[html.index('class="editor-layout"') :]
    figures, fields = layout.index('class="editor-figures"'), layout.index('class="editor-fields"')
    assert figures < fields < layout.index('id="id_advisor_commentary"')
    assert "Resolution SLA compliance" in layout[figures:fields]  # the scorecard, beside
    assert "no target in the contract" in layout[figures:fields]
    assert 'id="next-review-passed"' in html
    services.review_update(
        review=review,
        values={"next_review_on": timezone.localdate() + timedelta(days=30)},
        actor=acme.advisor,
    )
    page = client_for(acme.advisor).get(reverse("review_detail", args=[acme.acme.slug, review.pk]))
    assert 'id="next-review-passed"' not in page.content.decode()


def test_the_portfolio_flags_a_past_next_review_instead_of_calling_it_upcoming(acme, client_for):
    review = draft(acme)
    services.review_update(
        review=review, values={"next_review_on": date(2025, 10, 20)}, actor=acme.advisor
    )
    services.review_publish(review=review, actor=acme.advisor)
    soon = timezone.localdate() + timedelta(days=10)
    home = client_for(acme.advisor).get(reverse("home"))
    html = " ".join(home.content.decode().split())
    assert "date passed</span> the next review was due 20 Oct 2025" in html
    line = home.context["upcoming"][0]
    assert line.next_review_passed
    line.next_review_on = soon
    from portfolio.selectors import upcoming_reviews

    assert not upcoming_reviews([line])[0].next_review_passed


def test_the_shared_page_of_a_published_review_shows_its_scorecard(acme, client):
    review = draft(acme)
    services.review_publish(review=review, actor=acme.advisor)
    _link, token = services.share_link_create(review=review, days=3, actor=acme.advisor)
    html = client.get(reverse("review_shared", args=[token])).content.decode()
    assert "Scorecard: 2025-Q3 against the contract" in html
    assert "Northwind IT Services met" in html and NO_TARGET in html
