"""Quarterly business reviews: the freeze, corrections, action items carried over, who may do
what, share links, beat's drafts, and the PDF checked as a reader sees it (pdftotext, pdftoppm)
against kpi_report's figures."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from contracts.models import AuditEvent
from contracts.templatetags.portal import figure_value
from kpis.metrics.registry import SCORECARD
from kpis.models import KpiSnapshot, Ticket
from msp_portal.celery import app
from reviews import services
from reviews.context import review_content, review_data_build
from reviews.drafts import reviews_draft_due
from reviews.models import ActionItem, Review
from reviews.pdf import ChartExportError, chart_svg

from .browser import CHROMIUM
from .test_recompute import import_sample, reexport_with_48101_as_p1

POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")
needs_pdf_tools = pytest.mark.skipif(
    CHROMIUM is None or not POPPLER, reason="needs Debian's chromium and poppler-utils"
)


@pytest.fixture
def acme(world):
    import_sample(world, "connectwise_service_tickets.csv")
    return world


def draft(world, quarter="2025-Q3"):
    review, _ = services.review_draft_ensure(
        contract=world.acme_contract, quarter=quarter, actor=world.advisor
    )
    return review


def test_a_draft_shows_every_scorecard_figure_as_stored(acme):
    content = review_content(draft(acme))
    snapshot = KpiSnapshot.objects.get(client=acme.acme, period_label="2025-Q3")
    assert [row["key"] for row in content["kpis"]] == [m.key for m in SCORECARD]
    for row in content["kpis"]:
        assert row["value"] == snapshot.values.get(row["key"]), row["key"]
    assert len(content["charts"]) >= 6
    assert content["summary"], "an executive summary"
    # The breach table lists exactly tickets the breach figure counts, worst first.
    assert content["breach_count"] == snapshot.values["resolution.sla_breached"]
    ratios = [b["ratio"] for b in content["breaches"]]
    assert ratios == sorted(ratios, reverse=True) and all(r > 1 for r in ratios)


def test_a_published_review_is_unchanged_after_a_new_import(acme, client_for, tmp_path):
    """Ticket 48101 (July 2025) becomes P1 in a re-export: the Q3 figures change, the published
    Q3 review and its page do not; a fresh draft would show the new figures."""
    review = draft(acme)
    services.review_update(
        review=review, values={"advisor_commentary": "Steady quarter."}, actor=acme.advisor
    )
    services.review_publish(review=review, actor=acme.advisor)
    frozen = json.dumps(Review.objects.get(pk=review.pk).frozen, sort_keys=True)
    page = client_for(acme.owner).get(reverse("review_detail", args=[acme.acme.slug, review.pk]))
    kpi_table = _section(page.content.decode(), "kpis")

    export = reexport_with_48101_as_p1(tmp_path)
    call_command(
        "import_tickets",
        str(export),
        "--client",
        acme.acme.slug,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    from kpis.metrics.recompute import kpis_recompute

    kpis_recompute(acme.acme, full=True)
    live = review_data_build(acme.acme_contract, "2025-Q3")
    assert live["priority"] != json.loads(frozen)["priority"], "the import changed Q3"

    review.refresh_from_db()
    assert json.dumps(review.frozen, sort_keys=True) == frozen
    again = client_for(acme.owner).get(reverse("review_detail", args=[acme.acme.slug, review.pk]))
    assert _section(again.content.decode(), "kpis") == kpi_table
    assert _section(again.content.decode(), "charts") == _section(page.content.decode(), "charts")


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_a_published_review_cannot_be_edited_and_a_correction_says_what_changed(acme):
    review = draft(acme)
    services.review_publish(review=review, actor=acme.advisor)
    with pytest.raises(services.ValidationError):
        services.review_update(review=review, values={"msp_commentary": "x"}, actor=acme.advisor)
    correction = services.review_correct(review=review, actor=acme.advisor)
    assert (correction.version, correction.status) == (2, Review.Status.DRAFT)
    with pytest.raises(services.ValidationError, match="Say what this correction changes"):
        services.review_publish(review=correction, actor=acme.advisor)
    # The stored figures move (as if a late export arrived), then the correction is published.
    snapshot = KpiSnapshot.objects.get(client=acme.acme, period_label="2025-Q3")
    before = snapshot.values["first_time_fix_rate"]
    snapshot.values["first_time_fix_rate"] = 0.5
    snapshot.save()
    correction.correction_note = "A late export added September's tickets."
    correction.save()
    services.review_publish(review=correction, actor=acme.advisor)
    frozen = Review.objects.get(pk=correction.pk).frozen
    assert frozen["correction_note"] == "A late export added September's tickets."
    assert frozen["corrections"] == [f"First-time fix: {before * 100:.1f}% → 50.0%"]
    assert Review.objects.get(pk=review.pk).frozen["kpis"] != frozen["kpis"]


def test_an_open_action_item_carries_over_to_the_next_quarter_and_a_closed_one_does_not(acme):
    q3 = draft(acme, "2025-Q3")
    kept_open = services.action_item_add(
        review=q3,
        title="Replace the firewall",
        owner_side="msp",
        due_on=date(2025, 12, 1),
        actor=acme.advisor,
    )
    closed = services.action_item_add(
        review=q3, title="Approve the matrix", owner_side="client", due_on=None, actor=acme.advisor
    )
    services.action_item_set_status(
        item=closed, status="closed", actor=acme.owner, contract=acme.acme_contract
    )
    q4_items = review_content(draft(acme, "2025-Q4"))["action_items"]
    assert [(i["id"], i["carried_over"]) for i in q4_items] == [(kept_open.pk, True)]
    # In its own quarter's review a closed item still shows, as closed.
    statuses = {i["id"]: i["status"] for i in review_content(q3)["action_items"]}
    assert statuses == {kept_open.pk: "open", closed.pk: "closed"}


def test_owners_read_comment_and_close_their_own_items_but_do_not_edit(acme, client_for):
    review = draft(acme)
    own = services.action_item_add(
        review=review,
        title="Approve the matrix",
        owner_side="client",
        due_on=None,
        actor=acme.advisor,
    )
    msps = services.action_item_add(
        review=review, title="Fix backups", owner_side="msp", due_on=None, actor=acme.advisor
    )
    owner, viewer = client_for(acme.owner), client_for(acme.viewer)
    args = [acme.acme.slug, review.pk]
    assert owner.get(reverse("review_detail", args=args)).status_code == 200
    assert owner.post(reverse("review_edit", args=args), {"msp_commentary": "x"}).status_code == 403
    assert owner.post(reverse("review_publish", args=args)).status_code == 403
    assert (
        owner.post(
            reverse("review_item_add", args=args), {"title": "x", "owner_side": "msp"}
        ).status_code
        == 403
    )
    edit = reverse("review_item_edit", args=[*args, own.pk])
    assert owner.post(edit, {"title": "x", "owner_side": "msp"}).status_code == 403
    assert owner.post(reverse("review_comment", args=args), {"body": "Thanks"}).status_code == 302
    assert review.comments.get().body == "Thanks"
    status = reverse("review_item_status", args=[*args, own.pk])
    assert owner.post(status, {"status": "closed"}).status_code == 302
    own.refresh_from_db()
    assert (own.status, own.closed_by) == ("closed", acme.owner)
    other = reverse("review_item_status", args=[*args, msps.pk])
    assert owner.post(other, {"status": "closed"}).status_code == 403
    # A read-only member reads but neither comments nor closes.
    assert viewer.get(reverse("review_detail", args=args)).status_code == 200
    assert viewer.post(reverse("review_comment", args=args), {"body": "x"}).status_code == 403
    assert viewer.post(status, {"status": "open"}).status_code == 403


def test_advisors_write_and_publish_and_the_page_escapes_what_they_write(acme, client_for):
    review = draft(acme)
    advisor = client_for(acme.advisor)
    args = [acme.acme.slug, review.pk]
    response = advisor.post(
        reverse("review_edit", args=args),
        {
            "advisor_commentary": "<script>alert(1)</script> Backups need work.",
            "msp_commentary": "",
            "attendees": "Ada Clark\nOlivia Owens",
            "next_review_on": "2026-01-20",
        },
    )
    assert response.status_code == 302
    html = advisor.get(reverse("review_detail", args=args)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Backups need work." in html
    assert "<script>alert(1)" not in html
    item = services.action_item_add(review=review, title="Fix backups", owner_side="msp",
                                    due_on=None, actor=acme.advisor)  # fmt: skip
    edit = reverse("review_item_edit", args=[*args, item.pk])
    form = {"title": "Test a restore", "owner_side": "client", "due_on": "2025-12-15"}
    assert advisor.post(edit, form).status_code == 302
    item.refresh_from_db()
    assert (item.title, item.owner_side, item.due_on) == ("Test a restore", "client",
                                                          date(2025, 12, 15))  # fmt: skip
    assert advisor.post(reverse("review_publish", args=args)).status_code == 302
    review.refresh_from_db()
    assert review.published and review.frozen["attendees"] == ["Ada Clark", "Olivia Owens"]
    assert review.frozen["next_review_on"] == "2026-01-20"


def test_a_share_link_reads_the_review_logged_out_until_it_expires_or_is_revoked(acme, client):
    review = draft(acme)
    services.review_publish(review=review, actor=acme.advisor)
    link, token = services.share_link_create(review=review, days=7, actor=acme.advisor)
    url = reverse("review_shared", args=[token])
    response = client.get(url)
    assert response.status_code == 200
    assert acme.acme.name in response.content.decode()
    forged = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    assert client.get(reverse("review_shared", args=[forged])).status_code == 404
    link.expires_at = timezone.now() - timedelta(seconds=1)
    link.save()
    gone = client.get(url)
    assert gone.status_code == 410 and "expired" in gone.content.decode()
    link.expires_at = timezone.now() + timedelta(days=1)
    link.save()
    services.share_link_revoke(link=link, actor=acme.advisor)
    assert client.get(url).status_code == 410


def test_drafts_cannot_be_shared_and_links_last_at_most_ninety_days(acme):
    review = draft(acme)
    with pytest.raises(services.ValidationError, match="published"):
        services.share_link_create(review=review, days=7, actor=acme.advisor)
    services.review_publish(review=review, actor=acme.advisor)
    with pytest.raises(services.ValidationError, match="1 to 90"):
        services.share_link_create(review=review, days=91, actor=acme.advisor)


def test_beat_drafts_the_quarter_that_ended_and_tells_the_advisor(acme, mailoutbox):
    # On 5 January 2026 the quarter that ended is 2025-Q4; Birch has no figures, so no draft.
    assert reviews_draft_due(today=date(2026, 1, 5)) == 1
    review = Review.objects.get()
    assert (review.client, review.quarter, review.status) == (acme.acme, "2025-Q4", "draft")
    assert [m.to for m in mailoutbox] == [[acme.advisor.email]]
    assert reverse("review_detail", args=[acme.acme.slug, review.pk]) in mailoutbox[0].body
    assert reviews_draft_due(today=date(2026, 1, 6)) == 0  # once only
    assert len(mailoutbox) == 1


def test_quarter_ended_before():
    assert services.quarter_ended_before(date(2025, 10, 1)) == "2025-Q3"
    assert services.quarter_ended_before(date(2026, 1, 1)) == "2025-Q4"
    assert services.quarter_ended_before(date(2026, 6, 30)) == "2026-Q1"


def test_without_a_browser_the_pdf_fails_with_what_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no chromium on it
    with pytest.raises(ChartExportError, match="apt-get install chromium"):
        chart_svg({"data": [], "layout": {}})


PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
    b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_the_pdf_layout_takes_a_paper_size_and_only_a_real_image_as_logo(acme, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reviews.models import ReviewBranding

    url = reverse("review_list", args=[acme.acme.slug])
    advisor = client_for(acme.advisor)
    fake = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = advisor.post(url, {"paper": "Letter", "logo": fake})
    assert response.status_code == 200 and "must be a PNG or JPEG" in response.content.decode()
    assert not ReviewBranding.objects.exists()
    logo = SimpleUploadedFile("logo.png", PNG_1PX, content_type="image/png")
    assert advisor.post(url, {"paper": "Letter", "logo": logo}).status_code == 302
    branding = ReviewBranding.objects.get(client=acme.acme)
    assert (branding.paper, branding.logo_type) == ("Letter", "image/png")
    event = AuditEvent.objects.filter(object_type="review branding").latest("pk")
    assert event.actor == acme.advisor and event.action == "create"
    assert event.changes == {"paper": [None, "Letter"], "logo": [None, "logo.png"]}
    assert advisor.post(url, {"paper": "A4"}).status_code == 302
    event = AuditEvent.objects.filter(object_type="review branding").latest("pk")
    assert (event.action, event.changes) == ("update", {"paper": ["Letter", "A4"]})
    assert client_for(acme.owner).post(url, {"paper": "A4"}).status_code == 403


def test_without_a_browser_the_queued_pdf_fails_and_says_so_on_the_page(
    acme, monkeypatch, tmp_path, client_for
):
    from reviews.generation import review_pdf_generate

    review = draft(acme)
    Review.objects.filter(pk=review.pk).update(pdf_status=Review.PdfStatus.QUEUED)
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert review_pdf_generate(review.pk) == "failed"
    state = (
        client_for(acme.owner)
        .get(reverse("review_pdf_status", args=[acme.acme.slug, review.pk]))
        .json()
    )
    assert state["status"] == "failed" and "apt-get install chromium" in state["message"]
    assert review_pdf_generate(review.pk) == "not queued"  # a redelivered task does nothing


@needs_pdf_tools
def test_generate_qbr_writes_a_board_pdf_with_kpi_reports_figures(acme, tmp_path):
    from django.core.files.base import ContentFile

    from reviews.models import ReviewBranding

    branding = ReviewBranding(client=acme.acme, paper="Letter", logo_type="image/png")
    branding.logo.save("logo.png", ContentFile(PNG_1PX))
    # The worst breach gets a hostile title: the PDF must print it, not lay it out as HTML.
    worst = review_data_build(acme.acme_contract, "2025-Q3")["breaches"][0]
    Ticket.objects.filter(pk=worst["ticket_id"]).update(title="<script>x</script><b>y")
    output = tmp_path / "qbr.pdf"
    out = io.StringIO()
    call_command(
        "generate_qbr",
        "--client",
        acme.acme.slug,
        "--quarter",
        "2025-Q3",
        "--output",
        str(output),
        stdout=out,
    )
    assert "2025-Q3 v1 (draft)" in out.getvalue()
    report = io.StringIO()
    call_command(
        "kpi_report",
        "--client",
        acme.acme.slug,
        "--period",
        "2025-Q3",
        "--format",
        "json",
        stdout=report,
    )
    figures = json.loads(report.getvalue())
    text = subprocess.run(
        ["pdftotext", "-layout", str(output), "-"], capture_output=True, text=True, check=True
    ).stdout
    for measure in SCORECARD:
        shown = figure_value(figures[measure.key], measure.unit)
        assert shown in text, f"{measure.key}: {shown} not in the PDF"
    for heading in (
        "Contents",
        "Executive summary",
        "Key figures",
        "Worst SLA breaches",
        "Recurring risks",
        "Commitments",
        "Action items",
        "Page 3 of",
    ):
        assert heading in text, heading
    info = subprocess.run(["pdfinfo", str(output)], capture_output=True, text=True).stdout
    assert "612 x 792 pts (letter)" in info  # the client's paper size
    fonts = subprocess.run(["pdffonts", str(output)], capture_output=True, text=True).stdout
    embedded = [line.split()[-5] for line in fonts.splitlines()[2:]]
    assert embedded and set(embedded) == {"yes"}, fonts  # every font embedded
    images = subprocess.run(["pdfimages", "-list", str(output)], capture_output=True, text=True)
    assert len(images.stdout.splitlines()) == 3  # header, rule, and the cover's logo
    pages = _pages_as_png(output, tmp_path)
    assert len(pages) >= 8
    # The chart pages: drawn charts colour a good part of the page; titles alone would not.
    titles = ("SLA compliance by priority", "SLA compliance by month", "Quality of service")
    chart_pages = [
        i
        for i, page_text in enumerate(_page_texts(output))
        if any(title in page_text for title in titles)
    ]
    assert chart_pages, "no page carries the charts"
    for index in chart_pages:
        assert _coloured(pages[index]) > 0.03, f"page {index + 1}: its charts look blank"


def _pages_as_png(pdf: Path, folder: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))


def _page_texts(pdf: Path) -> list[str]:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout.split("\f")


def _coloured(png: Path) -> float:
    """Share of the page's pixels in colour. Text, tables and headings are black or grey (under
    1% of a page in colour, status badges included); a page of drawn charts is 6–12%."""
    from PIL import Image

    saturation = Image.open(png).convert("HSV").getchannel("S").histogram()
    return sum(saturation[60:]) / sum(saturation)


@needs_pdf_tools
@pytest.mark.django_db(transaction=True)
def test_a_worker_makes_the_pdf_with_progress_and_the_page_serves_it(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    review = draft(world)
    advisor = client_for(world.advisor)
    args = [world.acme.slug, review.pk]
    app.control.purge()
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        assert advisor.post(reverse("review_pdf", args=args)).status_code == 302
        seen, deadline = set(), time.monotonic() + 120
        while True:
            state = advisor.get(reverse("review_pdf_status", args=args)).json()
            seen.add(state["status"])
            if state["status"] in ("done", "failed"):
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
    assert state["status"] == "done", state
    assert state["pages"] >= 8
    response = advisor.get(state["url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert ActionItem.objects.count() == 0  # nothing else was written on the way


def test_the_advisor_home_lists_reviews_to_prepare_first(acme, client_for):
    published = draft(acme, "2025-Q3")
    services.review_update(review=published, values={"next_review_on": date(2026, 1, 20)},
                           actor=acme.advisor)  # fmt: skip
    services.review_publish(review=published, actor=acme.advisor)
    to_prepare = draft(acme, "2025-Q4")
    page = client_for(acme.advisor).get(reverse("home"))
    upcoming = page.context["upcoming"]
    assert [(line.client, line.review) for line in upcoming] == [(acme.acme, to_prepare)]
    assert upcoming[0].next_review_on == date(2026, 1, 20)
    html = " ".join(page.content.decode().split())
    assert "2025-Q4 to prepare and publish; next review 20 Jan 2026" in html
    assert reverse("review_detail", args=[acme.acme.slug, to_prepare.pk]) in html


def test_review_pages_use_a_fixed_number_of_queries(
    acme, client_for, django_assert_max_num_queries
):
    review = draft(acme)
    for n in range(5):
        services.action_item_add(review=review, title=f"Item {n}", owner_side="client",
                                 due_on=None, actor=acme.advisor)  # fmt: skip
        services.comment_add(review=review, body=f"Comment {n}", actor=acme.owner)
    owner = client_for(acme.owner)
    url = reverse("review_detail", args=[acme.acme.slug, review.pk])
    owner.get(url)
    with django_assert_max_num_queries(40):  # a draft reads the live figures
        owner.get(url)
    services.review_publish(review=review, actor=acme.advisor)
    with django_assert_max_num_queries(15):  # a published one reads its frozen copy
        owner.get(url)
    with django_assert_max_num_queries(12):
        owner.get(reverse("review_list", args=[acme.acme.slug]))
