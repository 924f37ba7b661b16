"""The pages a person uses, as that person would: what they show and what they let you do."""

from __future__ import annotations

import re

from django.urls import reverse

from contracts.models import AuditEvent


def test_the_owner_lands_on_their_client_and_reaches_the_sla_targets(world, client_for):
    client = client_for(world.owner)
    home = client.get("/", follow=True)
    assert home.redirect_chain[-1][0] == reverse("client_home", args=[world.acme.slug])
    page = client.get(reverse("contract_detail", args=[world.acme.slug, world.acme_contract.pk]))
    html = page.content.decode()
    rows = re.findall(
        r"<tr><th scope=\"row\">(P\d)[^<]*</th><td class=\"num\">([^<]+)</td>"
        r"<td class=\"num\">([^<]+)</td>",
        html,
    )
    # Targets read as durations: hours, then days past 24 h (never "1,440 min").
    assert rows == [
        ("P1", "30 min", "4 h"),
        ("P2", "1 h", "8 h"),
        ("P3", "4 h", "1 day"),
        ("P4", "8 h", "2 days"),
    ]
    assert "America/Chicago" in html
    assert "After-hours onsite support" in html  # exclusions listed
    assert "below 95%" in html and "5% of the monthly fee" in html  # credit terms
    assert "USD 8,410.00" in html  # 58 users × 145.00


def test_the_matrix_page_flags_change_management_as_a_gap(world, client_for):
    html = (
        client_for(world.owner)
        .get(reverse("contract_matrix", args=[world.acme.slug, world.acme_contract.pk]))
        .content.decode()
    )
    assert "Change management: shared, but the split is not written down" in html
    assert re.search(r'<tr class="has-gap">\s*<th scope="row">Change management', html)
    # Its gaps refuse approval: no button for either side, and the page says why.
    assert "It cannot be approved until every area has an owner" in html
    assert "Approve for Acme Dental Group" not in html
    assert "Approve for Northwind IT Services" not in html


def test_the_client_home_shows_a_gap_banner(world, client_for):
    html = (
        client_for(world.viewer)
        .get(reverse("client_home", args=[world.acme.slug]))
        .content.decode()
    )
    assert "The responsibility matrix has" in html


def test_a_read_only_member_sees_no_write_buttons(world, client_for):
    client = client_for(world.viewer)
    matrix = client.get(reverse("contract_matrix", args=[world.acme.slug, world.acme_contract.pk]))
    assert "Approve for" not in matrix.content.decode()
    commitments = client.get(
        reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk])
    )
    assert "Mark done" not in commitments.content.decode()


def test_commitments_show_status_and_evidence(world, client_for):
    html = (
        client_for(world.owner)
        .get(reverse("contract_commitments", args=[world.acme.slug, world.acme_contract.pk]))
        .content.decode()
    )
    assert "Backup restore test" in html
    assert "Overdue" in html  # the fixture leaves later periods undone
    assert ">report.pdf</a>" in html  # the first quarter's evidence, downloadable
    assert ">Kept</span>" in html  # done on its due date, with the required evidence


def test_msp_staff_see_a_client_list_and_switch_organisations(world, client_for, django_user_model):
    from contracts.models import Membership

    Membership.objects.create(
        user=world.msp_staff, organisation=world.birch, role=Membership.Role.READ_ONLY
    )
    client = client_for(world.msp_staff)
    html = client.get("/").content.decode()
    assert "Acme Dental Group" in html and "Birch &amp; Cole Law" in html
    assert "Other Co" not in html
    response = client.post(reverse("organisation_switch"), {"organisation": world.birch.pk})
    assert response["Location"] == reverse("client_home", args=[world.birch.slug])
    assert (
        client.post(reverse("organisation_switch"), {"organisation": world.other.pk}).status_code
        == 404
    )


def test_marking_done_through_the_page_is_audited_and_shown_in_history(world, client_for):
    from tests.test_permissions import open_occurrence

    occ = open_occurrence(world.acme_contract)
    client = client_for(world.msp_staff)
    client.post(
        reverse("occurrence_complete", args=[world.acme.slug, world.acme_contract.pk, occ.pk]),
        {"completed_on": occ.due_date.isoformat(), "note": "restored SQL01 to sandbox"},
    )
    event = AuditEvent.objects.get(action="complete", object_id=str(occ.pk))
    assert event.actor == world.msp_staff and event.source == "web"
    assert event.changes["completed_on"] == [None, occ.due_date.isoformat()]
    history = client.get(reverse("contract_detail", args=[world.acme.slug, world.acme_contract.pk]))
    assert "restored SQL01 to sandbox" in history.content.decode()


def test_titles_and_names_are_escaped(world, client_for):
    world.acme.name = "<script>alert(1)</script>"
    world.acme.save()
    html = (
        client_for(world.owner).get(reverse("client_home", args=[world.acme.slug])).content.decode()
    )
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_static_assets_are_served_by_the_app(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert b"--brand" in b"".join(response.streaming_content)


def test_the_log_in_page_has_no_third_party_assets(client):
    html = client.get(reverse("account_login")).content.decode()
    assert re.findall(r'(?:src|href)="(https?://[^"]+)"', html) == []


def test_the_history_is_paginated_newest_first(world, client_for):
    contract = world.acme_contract
    AuditEvent.objects.filter(contract=contract).delete()
    AuditEvent.objects.filter(client=world.acme, contract=None).delete()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            source="command",
            client=world.acme,
            contract=contract,
            action="update",
            object_type="contract",
            object_id=str(contract.pk),
            object_repr=f"change number {n:02d}",
        )
        for n in range(60)
    )
    detail = client_for(world.owner).get(
        reverse("contract_detail", args=[world.acme.slug, contract.pk])
    )
    assert "All 60 changes, with filters and a CSV export" in detail.content.decode()
    assert "change number 59" in detail.content.decode()
    url = reverse("contract_history", args=[world.acme.slug, contract.pk])
    first = client_for(world.owner).get(url).content.decode()
    assert "60 changes, newest first; page 1 of 2" in first
    assert "change number 59" in first and "change number 10" in first
    assert "change number 09" not in first
    second = client_for(world.owner).get(url, {"page": 2}).content.decode()
    assert "change number 09" in second and "change number 00" in second
    assert "change number 10" not in second
