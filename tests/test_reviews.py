"""Quarterly business reviews: the freeze, corrections, action items carried over, who may do
what, share links, beat's drafts, and the PDF checked as a reader sees it (pdftotext, pdftoppm)
against kpi_report's figures."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from kpis.metrics.registry import SCORECARD
from kpis.models import KpiSnapshot
from reviews import services
from reviews.context import review_content, review_data_build
from reviews.drafts import reviews_draft_due
from reviews.models import Review

from .reviews_support import draft
from .test_recompute import reexport_with_48101_as_p1


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
    item = services.action_item_add(
        review=review, title="Fix backups", owner_side="msp", due_on=None, actor=acme.advisor
    )
    edit = reverse("review_item_edit", args=[*args, item.pk])
    form = {"title": "Test a restore", "owner_side": "client", "due_on": "2025-12-15"}
    assert advisor.post(edit, form).status_code == 302
    item.refresh_from_db()
    assert (item.title, item.owner_side, item.due_on) == (
        "Test a restore",
        "client",
        date(2025, 12, 15),
    )
    publish = reverse("review_publish", args=args)
    asked = advisor.post(publish)  # first the confirmation, listing what is still empty
    assert asked.status_code == 200 and "Publish now" in asked.content.decode()
    review.refresh_from_db()
    assert not review.published
    assert advisor.post(publish, {"confirmed": "yes"}).status_code == 302
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


def test_the_advisor_home_lists_reviews_to_prepare_first(acme, client_for):
    published = draft(acme, "2025-Q3")
    services.review_update(
        review=published, values={"next_review_on": date(2026, 1, 20)}, actor=acme.advisor
    )
    services.review_publish(review=published, actor=acme.advisor)
    to_prepare = draft(acme, "2025-Q4")
    page = client_for(acme.advisor).get(reverse("home"))
    upcoming = page.context["upcoming"]
    assert [(line.client, line.review) for line in upcoming] == [(acme.acme, to_prepare)]
    assert upcoming[0].next_review_on == date(2026, 1, 20)
    html = " ".join(page.content.decode().split())
    # 20 Jan 2026 is behind today: flagged, not called upcoming
    assert "2025-Q4 to prepare and publish;" in html
    assert "date passed</span> the next review was due 20 Jan 2026" in html
    assert reverse("review_detail", args=[acme.acme.slug, to_prepare.pk]) in html


def test_review_pages_use_a_fixed_number_of_queries(
    acme, client_for, django_assert_max_num_queries
):
    review = draft(acme)
    for n in range(5):
        services.action_item_add(
            review=review, title=f"Item {n}", owner_side="client", due_on=None, actor=acme.advisor
        )
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
