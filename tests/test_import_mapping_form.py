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
    form["shown_rows_are"] = "updates" if mapping.shape == "event" else "tickets"
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


def _selected(html: str, select_id: str) -> str:
    """The value of the option the page shows chosen in one select ("" for none)."""
    import re

    block = re.search(rf'<select id="{select_id}".*?</select>', html, re.S)
    assert block, select_id
    chosen = re.findall(r'<option value="([^"]*)" selected', block.group(0))
    return chosen[0] if chosen else ""


def test_a_required_column_left_out_is_named_on_its_field_and_the_page_shows_the_choice(
    world, client_for
):
    """Issue #20: `mapping.columns.created_at: required (Created) but not mapped` was shown while
    the Created dropdown showed a column chosen: the page answered a refused mapping with the
    preset's fresh guesses instead of what was posted. Now it shows the choice made, and says
    what to do in words on that field."""
    web = client_for(world.msp_staff)
    page, job = mapping_page(web, world)
    assert _selected(page.content.decode(), "col__created_at") == "dateoccurred"
    form = form_of(page) | {"col__created_at": "", "col__title": "site_name", "action": "confirm"}
    answer = web.post(reverse("import_mapping", args=[job.pk]), form)
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "mapping.columns" not in html and "created_at" not in html.split("<form")[0]
    assert (
        '<p class="field-error" id="col__created_at-error">Required: choose the file&#x27;s '
        "column for “Created”.</p>"
    ) in html
    assert 'aria-describedby="col__created_at-error"' in html
    # The page shows what was posted, beside the problem: not the guesses the preset makes.
    assert _selected(html, "col__created_at") == ""
    assert _selected(html, "col__title") == "site_name"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.MAPPING


def test_the_page_previews_the_first_rows_as_the_pipeline_stores_them(world, client_for):
    web = client_for(world.msp_staff)
    page, _job = mapping_page(web, world)
    check = page.context["check"]
    assert [heading for heading, _column in check.headings] == [
        "Created", "Priority", "State", "Origin", "Tier", "Type",
    ]  # fmt: skip
    first = check.parsed[0]
    assert first.row == 2 and first.ticket == "48101"
    cells = {heading: (raw, stored) for heading, raw, stored in first.cells}
    # HaloPSA's API export is in UTC; Acme's contract reads it in America/Chicago (CDT, -5).
    assert cells["Created"] == ("2025-07-08T21:05:00", "08 Jul 2025 16:05")
    assert cells["Priority"] == ("3", "P3")
    assert cells["State"] == ("Closed", "closed")
    summary = check.summary
    assert (summary.rows, summary.tickets, summary.zone) == (2078, 2078, "America/Chicago")
    assert summary.first_created and summary.last_created
    html = page.content.decode()
    # Value sections are named by the file's columns, not the portal's field names.
    assert "Values of “priority_id”" in html and "Values of priority<" not in html


def test_a_pdf_renamed_csv_is_named_for_what_it_is_with_no_progress_bar(world, client_for):
    web = client_for(world.msp_staff)
    pdf = SimpleUploadedFile("tickets.csv", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "text/csv")
    target = f"client:{world.acme.pk}:{world.northwind.pk}"
    web.post(reverse("import_upload"), {"file": pdf, "target": target})
    job = ImportJob.objects.latest("pk")
    answer = web.get(reverse("import_mapping", args=[job.pk]), follow=True)
    html = answer.content.decode()
    assert answer.redirect_chain[-1][0] == reverse("import_detail", args=[job.pk])
    assert "This file was not imported" in html
    assert "tickets.csv: is a PDF document, not a table" in html
    assert "<progress" not in html and 'id="progress"' not in html
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REJECTED


def test_the_done_page_says_what_was_stored_and_where_to_look_next(world, client_for):
    import re

    from kpis.imports.services import import_file_sync

    job = import_file_sync(
        msp=world.northwind,
        client=world.acme,
        user=world.msp_staff,
        via=ImportJob.Via.WEB,
        name="halo.csv",
        content=(SAMPLES / "halopsa_tickets.csv").read_bytes(),
    )
    html = client_for(world.msp_staff).get(reverse("import_detail", args=[job.pk])).content
    html = html.decode()
    assert '<span class="stat-value" data-field="created">2,078</span>' in html
    assert "<progress" not in html
    # Dates in Acme's zone, the months recomputed, the dashboard of the newest complete one.
    outcome = job.outcome
    assert outcome.first_created < outcome.last_created
    assert "(America/Chicago)" in html
    assert 'Tickets created</dt><dd data-fact="dates">1 Jul 2025 to 30 Jun 2026 ' in html
    # Open tickets mark every month up to today for recomputation: counted from July 2025.
    assert re.search(r"Acme Dental Group: \d+ months, Jul 2025 to \w{3} 20\d\d<", html)
    # The newest complete month that holds the file's tickets: June 2026.
    assert f'href="/clients/{world.acme.slug}/dashboard/?period=2026-06"' in html
    assert "Acme Dental Group's dashboard for June 2026" in html
    # Where the time went is folded away, not the first thing read.
    assert "<details><summary>Where the time went</summary>" in html
