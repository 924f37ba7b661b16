"""Security, round two (issue #17): reviews of a client with two MSPs (two_msps, item 7), PDF
regeneration (pdf_regen, item 9) and action items of a published review (action_item, item
13). Each test failed on the code before its fix."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reviews import services
from reviews.context import review_content

from .test_recompute import import_sample


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
        django_user_model,
        "staff@second.test",
        world.second_contract.msp,
        Membership.Role.MEMBER,
        totp=True,
    )
    return world


def test_two_msps_each_see_and_change_only_their_own_reviews(two_msps, client_for):
    from reviews.generation import branding_of
    from reviews.models import ActionItem, Review

    w = two_msps
    first = services.review_draft_ensure(
        contract=w.acme_contract, quarter="2025-Q3", actor=w.advisor
    )[0]
    item = services.action_item_add(
        review=first,
        title="Rotate the Northwind admin password",
        owner_side="msp",
        due_on=None,
        actor=w.advisor,
    )
    services.review_publish(review=first, actor=w.advisor)
    second, northwind, owner = (
        client_for(w.second_staff),
        client_for(w.msp_staff),
        client_for(w.owner),
    )
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
    branding = second.post(reverse("review_list", args=[slug]), {"paper": "A4"})
    assert branding.status_code == 302
    assert branding_of(w.acme, w.second_contract)[0] == "A4"
    assert branding_of(w.acme, w.acme_contract)[0] == "Letter"  # unset: Acme is in the US

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


def test_action_item_of_a_published_review_changes_only_through_a_correction(world, client_for):
    from contracts.models import AuditEvent
    from reviews.models import ActionItem

    import_sample(world, "connectwise_service_tickets.csv")
    q3 = services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )[0]
    item = services.action_item_add(
        review=q3,
        title="Replace the firewall",
        owner_side="msp",
        due_on=None,
        actor=world.advisor,
    )
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


# --- The data the migrations of these items move ----------------------------------------------


def test_mapping_and_two_msps_migrations_move_existing_rows(world):
    """The data steps of kpis/0005 and reviews/0002, on rows as they were before them."""
    import importlib

    from django.apps import apps

    from kpis.models import SavedMapping
    from reviews.models import ActionItem

    mapping = {"preset": "generic"}
    kept = SavedMapping.objects.create(
        msp=world.northwind,
        name="Staff's",
        preset="generic",
        mapping=mapping,
        updated_by=world.msp_staff,
    )
    SavedMapping.objects.create(
        msp=world.northwind,
        name="Advisor's",
        preset="generic",
        mapping=mapping,
        updated_by=world.advisor,
    )
    kpis_0005 = importlib.import_module("kpis.migrations.0005_savedmapping_client")
    kpis_0005.remove_mappings_saved_by_outsiders(apps, None)
    assert list(SavedMapping.objects.all()) == [kept]

    review = services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )[0]
    raised = ActionItem.objects.create(
        client=world.acme, raised_in="2025-Q3", title="a", owner_side="msp"
    )
    orphan = ActionItem.objects.create(
        client=world.birch, raised_in="2024-Q1", title="b", owner_side="msp"
    )
    reviews_0002 = importlib.import_module("reviews.migrations.0002_reviews_per_contract")
    reviews_0002.items_to_their_contract(apps, None)
    raised.refresh_from_db()
    orphan.refresh_from_db()
    assert raised.contract == review.contract == world.acme_contract
    assert orphan.contract == world.birch_contract


def test_two_msps_never_read_each_others_reports_nor_fee(two_msps, client_for):
    """Issue 22's review: the MSP's own report (its figures, note and file name) and the fee of
    its contract are its contract's; the client's other MSP, a party to the client, reads
    neither on the reported-figures page, the reconciliation page or the dashboard."""
    from reconciliation.reports import msp_report_save

    w = two_msps
    msp_report_save(
        contract=w.second_contract,
        period_label="2025-Q3",
        figures={"resolution.compliance": 0.987},
        note="Second MSP's confidential quarterly note",
        actor=w.second_staff,
        source="web",
    )
    slug = w.acme.slug
    northwind = client_for(w.msp_staff)  # Acme's first MSP
    for name in ("reported_figures", "client_reconciliation"):
        page = northwind.get(reverse(name, args=[slug]) + "?period=2025-Q3")
        assert page.status_code == 200
        text = page.content.decode()
        assert "confidential quarterly note" not in text and "98.7%" not in text, name
        assert "staff@second.test" not in text, name  # who entered it
    dashboard = northwind.get(reverse("client_dashboard", args=[slug]) + "?period=2025-Q3")
    assert "98.7%" not in dashboard.content.decode()
    assert 'id="fee"' not in dashboard.content.decode()
    # The second MSP reads its own report, the owner (party to both) the current one's.
    for user in (w.second_staff, w.owner):
        page = client_for(user).get(reverse("reported_figures", args=[slug]) + "?period=2025-Q3")
        assert "staff@second.test" in page.content.decode()  # its report, in the list
