"""The overlap question and undo on the import's page: who may answer and undo, and what each
answer does to the rows (kpis/imports/undo_views.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from contracts.models import Membership
from kpis.imports.services import import_file_sync, import_run
from kpis.models import ImportJob, Ticket

from .conftest import make_user
from .tenant_rows import tenant_digest
from .test_import import SAMPLES, run_import

CW = SAMPLES / "connectwise_service_tickets.csv"
HALO = SAMPLES / "halopsa_tickets.csv"


def web_import(world, path, **options) -> ImportJob:
    """An import as the browser makes it (via web), run in this process as the worker would."""
    return import_file_sync(
        msp=world.northwind,
        client=world.acme,
        user=world.msp_staff,
        via=ImportJob.Via.WEB,
        name=path.name,
        content=path.read_bytes(),
        **options,
    )


@pytest.fixture
def asked(world) -> ImportJob:
    """ConnectWise imported, then HaloPSA stopped at the question."""
    run_import(CW, world.acme.slug, "--no-recompute")
    job = web_import(world, HALO)
    assert job.status == ImportJob.Status.OVERLAP
    return job


def test_the_page_asks_naming_the_import_its_source_dates_and_counts(world, client_for, asked):
    first = ImportJob.objects.exclude(pk=asked.pk).get()
    page = client_for(world.msp_staff).get(reverse("import_detail", args=[asked.pk]))
    html = page.content.decode()
    assert "These tickets look like ones already imported" in html
    assert (
        "ConnectWise" in html and f"import {first.pk}</a> (connectwise_service_tickets.csv)" in html
    )
    assert "2025-07-" in html and "2026-06-" in html
    assert 'value="replace"' in html and 'value="import"' in html and 'value="cancel"' in html
    assert "connectwise<" not in html  # the source's name, not its code
    assert Ticket.objects.filter(client=world.acme, source_system="halopsa").count() == 0


def test_replace_chosen_on_the_page_replaces(world, client_for, asked):
    staff = client_for(world.msp_staff)
    answer = staff.post(reverse("import_overlap", args=[asked.pk]), {"choice": "replace"})
    assert answer.status_code == 302
    asked.refresh_from_db()
    assert (asked.status, asked.on_overlap) == ("queued", "replace")
    import_run(asked.pk)  # what the worker runs once the choice is committed
    assert not Ticket.objects.filter(client=world.acme, source_system="connectwise").exists()
    assert Ticket.objects.filter(client=world.acme, source_system="halopsa").count() == 2078


def test_cancel_chosen_on_the_page_stores_nothing(world, client_for, asked):
    staff = client_for(world.msp_staff)
    staff.post(reverse("import_overlap", args=[asked.pk]), {"choice": "cancel"})
    asked.refresh_from_db()
    assert asked.status == ImportJob.Status.CANCELLED
    assert Ticket.objects.filter(client=world.acme).count() == 2077
    again = staff.post(reverse("import_overlap", args=[asked.pk]), {"choice": "import"})
    assert again.status_code == 302
    asked.refresh_from_db()
    assert asked.status == ImportJob.Status.CANCELLED  # no longer waiting: nothing changes


def test_a_client_member_cannot_answer_the_question(world, client_for, asked):
    clients = [client_for(user) for user in (world.owner, world.viewer)]  # logged in first
    before = tenant_digest(world.acme_contract)
    for client in clients:
        answer = client.post(reverse("import_overlap", args=[asked.pk]), {"choice": "import"})
        assert answer.status_code == 403
    assert tenant_digest(world.acme_contract) == before


def test_msp_staff_confirm_and_undo_on_the_page(world, client_for):
    job = web_import(world, CW)
    staff = client_for(world.msp_staff)
    detail = staff.get(reverse("import_detail", args=[job.pk])).content.decode()
    assert reverse("import_undo", args=[job.pk]) in detail
    confirm = staff.get(reverse("import_undo", args=[job.pk])).content.decode()
    assert "The 2,077 tickets this import created are removed." in confirm
    assert Ticket.objects.filter(client=world.acme).count() == 2077  # a GET changes nothing
    done = staff.post(reverse("import_undo", args=[job.pk]), follow=True).content.decode()
    assert f"Import {job.pk} undone: 2,077 tickets removed" in done
    assert "Undone on" in done and world.msp_staff.email in done
    job.refresh_from_db()
    assert (job.status, job.undone_by) == (ImportJob.Status.UNDONE, world.msp_staff)
    assert not Ticket.objects.filter(client=world.acme).exists()
    again = staff.post(reverse("import_undo", args=[job.pk]), follow=True).content.decode()
    assert "was undone already" in again


@pytest.mark.parametrize("persona", ["owner", "viewer", "msp_reader", "advisor"])
def test_only_a_writer_of_the_msp_may_undo(world, client_for, django_user_model, persona):
    job = web_import(world, CW)
    if persona == "msp_reader":
        user = make_user(
            django_user_model,
            "reader@northwind.test",
            world.northwind,
            Membership.Role.READ_ONLY,
            totp=True,
        )
    else:
        user = getattr(world, persona)
    client = client_for(user)
    before = tenant_digest(world.acme_contract)
    assert client.get(reverse("import_undo", args=[job.pk])).status_code == 403
    assert client.post(reverse("import_undo", args=[job.pk])).status_code == 403
    assert tenant_digest(world.acme_contract) == before
    assert Ticket.objects.filter(client=world.acme).count() == 2077


def test_another_msp_gets_404_and_changes_nothing(world, client_for):
    job = web_import(world, CW)
    rival = client_for(world.rival_staff)
    before = tenant_digest(world.acme_contract)
    assert rival.get(reverse("import_undo", args=[job.pk])).status_code == 404
    assert rival.post(reverse("import_undo", args=[job.pk])).status_code == 404
    assert (
        rival.post(reverse("import_overlap", args=[job.pk]), {"choice": "cancel"}).status_code
        == 404
    )
    assert tenant_digest(world.acme_contract) == before


def test_the_mapping_pages_summary_says_the_overlap_before_the_import_is_queued(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    run_import(CW, world.acme.slug, "--no-recompute")
    first = ImportJob.objects.get()
    web = client_for(world.msp_staff)
    upload = SimpleUploadedFile("halo.csv", HALO.read_bytes(), "text/csv")
    target = f"client:{world.acme.pk}:{world.northwind.pk}"
    assert web.post(reverse("import_upload"), {"file": upload, "target": target}).status_code == 302
    job = ImportJob.objects.exclude(pk=first.pk).get()
    html = web.get(reverse("import_mapping", args=[job.pk])).content.decode()
    summary = html[html.index('id="summary"') : html.index("</dl>", html.index('id="summary"'))]
    assert '<dd data-fact="overlap"><strong>' in summary
    assert "look like tickets already imported from another source" in summary
    assert f"import {first.pk} (connectwise_service_tickets.csv)" in summary
    assert "the import will ask" in summary

    # The same source again overlaps with nothing: a re-export updates its own tickets.
    same = SimpleUploadedFile("cw.csv", CW.read_bytes(), "text/csv")
    web.post(reverse("import_upload"), {"file": same, "target": target})
    latest = ImportJob.objects.order_by("-pk").first()
    page = web.get(reverse("import_mapping", args=[latest.pk])).content.decode()
    assert '<dd data-fact="overlap">none with tickets from other sources</dd>' in page
