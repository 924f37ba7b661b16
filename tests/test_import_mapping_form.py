"""The browser's mapping step goes through a Django form (kpis/imports/forms.py): each field is
checked on its own and a wrong one is named in plain words; what the page listed is what the
mapping maps."""

from __future__ import annotations

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kpis.models import ImportJob

SAMPLES = Path(__file__).parent / "data" / "samples"


def mapping_page(web, world, *, several_clients=False):
    """Upload the HaloPSA sample as MSP staff; the mapping page's response and its job."""
    data = (SAMPLES / "halopsa_tickets.csv").read_bytes()
    target = (
        f"msp:{world.northwind.pk}"
        if several_clients
        else f"client:{world.acme.pk}:{world.northwind.pk}"
    )
    upload = SimpleUploadedFile("halo.csv", data, "text/csv")
    response = web.post(reverse("import_upload"), {"file": upload, "target": target})
    assert response.status_code == 302
    job = ImportJob.objects.filter(via="web").order_by("-pk").first()
    page = web.get(reverse("import_mapping", args=[job.pk]))
    assert page.status_code == 200
    return page, job


def form_of(page) -> dict:
    """The page's form as the browser would post it, with the guesses it shows."""
    preview = page.context["preview"]
    mapping = preview.mapping
    form = {"preset": mapping.preset, "timezone": mapping.timezone, "date_order": "auto"}
    form |= {f"col__{f}": column for f, column in mapping.columns.items()}
    for field_name, values in preview.value_counts.items():
        form[f"count__{field_name}"] = len(values)
        for index, (raw, _count, guess) in enumerate(values):
            form[f"raw__{field_name}__{index}"] = raw
            form[f"val__{field_name}__{index}"] = guess or ""
    return form


def test_a_time_zone_that_does_not_exist_is_named_and_nothing_is_queued(world, client_for):
    web = client_for(world.msp_staff)
    page, job = mapping_page(web, world)
    form = form_of(page) | {"timezone": "Mars/Olympus", "action": "confirm"}
    answer = web.post(reverse("import_mapping", args=[job.pk]), form)
    assert answer.status_code == 200
    text = answer.content.decode()
    # On the field itself, and in the list of problems at the top that links to it.
    on_field = '<p class="field-error" id="timezone-error">&#x27;Mars/Olympus&#x27; is not a time'
    assert on_field in text
    assert '<a href="#timezone">Time zone of times without an offset</a>: ' in text
    job.refresh_from_db()
    assert job.status == ImportJob.Status.MAPPING


def test_a_value_mapped_on_the_page_is_the_value_the_import_maps(world, client_for):
    web = client_for(world.msp_staff)
    page, job = mapping_page(web, world)
    form = form_of(page)
    priorities = page.context["preview"].value_counts["priority"]
    first_raw = priorities[0][0]
    form["val__priority__0"] = "P4"
    form |= {"action": "confirm", "save_as": "  Halo as we read it  "}
    answer = web.post(reverse("import_mapping", args=[job.pk]), form)
    assert answer.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    assert job.mapping["values"]["priority"][first_raw.strip().lower()] == "P4"
    assert job.mapping_name == "Halo as we read it"


def test_a_normalised_value_that_does_not_exist_is_refused(world, client_for):
    web = client_for(world.msp_staff)
    page, job = mapping_page(web, world)
    form = form_of(page) | {"val__priority__0": "P9", "action": "confirm"}
    answer = web.post(reverse("import_mapping", args=[job.pk]), form)
    assert answer.status_code == 200
    assert "Select a valid choice. P9 is not one of the available choices." in (
        answer.content.decode()
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.MAPPING


def test_a_company_is_routed_only_to_a_client_of_the_importing_msp(world, client_for):
    """Other Co is Rival MSP's client: Northwind's import cannot send tickets there."""
    web = client_for(world.msp_staff)
    page, job = mapping_page(web, world, several_clients=True)
    form = form_of(page) | {"count__company": 1, "rawco__0": "Acme", "company__0": "other-co"}
    answer = web.post(reverse("import_mapping", args=[job.pk]), form | {"action": "confirm"})
    assert answer.status_code == 200
    assert "Select a valid choice. other-co is not one of the available choices." in (
        answer.content.decode()
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.MAPPING


def test_the_upload_form_chooses_no_client_for_the_person(world, client_for):
    """Issue #20: a preselected client sent files to the wrong client without a word."""
    import re

    page = client_for(world.msp_staff).get(reverse("import_upload")).content.decode()
    selected = re.findall(r'<option value="([^"]*)"[^>]* selected', page)
    assert selected == [""]
    assert "Choose whose tickets these are" in page
    refused = client_for(world.msp_staff).post(reverse("import_upload"), {"target": ""})
    assert "Choose an export file to upload." in refused.content.decode()
