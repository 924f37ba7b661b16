"""The browser mapping step for a layout no preset knows (issue #19): a new preset keeps the
columns chosen on the page where it has the field, and the value maps list every value of the
whole file with the rows it is on, counted once per column from the stored file."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kpis.imports import file_values
from kpis.models import ImportJob


def _export() -> bytes:
    """300 rows no preset reads; `Whenever` and `Sev Z` only after the preview's 200 rows."""
    lines = ["Ref,Raised,When,Sev,State now"]
    for n in range(1, 301):
        sev = "Sev A" if n <= 250 else ("Whenever" if n <= 297 else "Sev Z")
        lines.append(
            f"R-{n},2025-07-01 10:00,2025-07-01 11:00,{sev},{'Open' if n % 2 else 'Parked'}"
        )
    return ("\n".join(lines) + "\n").encode()


def _mapping_page(web, world):
    upload = SimpleUploadedFile("odd.csv", _export(), "text/csv")
    target = f"client:{world.acme.pk}:{world.northwind.pk}"
    assert web.post(reverse("import_upload"), {"file": upload, "target": target}).status_code == 302
    job = ImportJob.objects.filter(via="web").order_by("-pk").first()
    return job, reverse("import_mapping", args=[job.pk])


def _form(page, **changes) -> dict:
    """The page's form as the browser posts it, with `changes` made by the user."""
    preview = page.context["preview"]
    mapping = preview.mapping
    form = {
        "preset": mapping.preset,
        "shown_preset": mapping.preset,
        "timezone": mapping.timezone,
        "date_order": "auto",
        "action": "preview",
    }
    form |= {f"col__{f}": column for f, column in mapping.columns.items()}
    for field_name, values in preview.value_counts.items():
        form[f"count__{field_name}"] = len(values)
        for index, (raw, _count, guess) in enumerate(values):
            form[f"raw__{field_name}__{index}"] = raw
            form[f"val__{field_name}__{index}"] = guess or ""
    return form | changes


def test_a_new_preset_keeps_the_columns_chosen_where_it_has_the_field(world, client_for):
    web = client_for(world.msp_staff)
    job, url = _mapping_page(web, world)
    page = web.get(url)
    assert page.context["preview"].mapping.columns == {}  # no preset knows these headers
    chosen = {
        "col__external_id": "Ref",
        "col__created_at": "Raised",
        "col__priority": "Sev",
        "col__status": "State now",
    }
    page = web.post(url, _form(page, preset="generic", **chosen))
    assert page.context["errors"] == {}
    assert page.context["preview"].mapping.preset == "generic"
    sev_a = page.context["preview"].value_counts["priority"][0][0]
    assert sev_a == "Sev A"
    # The user says what Sev A means, adds the update time and switches to the event-log preset.
    page = web.post(
        url,
        _form(page, preset="event_log", col__updated_at="When", val__priority__0="P1"),
    )
    assert page.context["errors"] == {}
    mapping = page.context["preview"].mapping
    assert mapping.preset == "event_log"
    assert mapping.columns == {
        "external_id": "Ref",
        "created_at": "Raised",
        "priority": "Sev",
        "status": "State now",
        "updated_at": "When",
    }
    assert mapping.values["priority"] == {"sev a": "P1"}  # the user's meaning, not a guess
    # Back to the one-row preset: the update time is not one of its fields, the rest stays.
    page = web.post(url, _form(page, preset="generic", action="confirm"))
    assert page.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    assert job.mapping["preset"] == "generic"
    assert job.mapping["columns"] == {
        "external_id": "Ref",
        "created_at": "Raised",
        "priority": "Sev",
        "status": "State now",
    }
    assert job.mapping["values"]["priority"]["sev a"] == "P1"


def test_the_value_maps_list_every_value_of_the_whole_file_once_counted(
    world, client_for, monkeypatch
):
    web = client_for(world.msp_staff)
    _job, url = _mapping_page(web, world)
    # Counts are cached from 8 MB on (smaller files are read again); this file is small.
    monkeypatch.setattr(file_values, "CACHED_FROM_BYTES", 0)
    reads = []
    real_read = file_values.table_read
    monkeypatch.setattr(
        file_values, "table_read", lambda *args: reads.append(args[1]) or real_read(*args)
    )
    page = web.get(url)
    chosen = {
        "col__external_id": "Ref",
        "col__created_at": "Raised",
        "col__priority": "Sev",
        "col__status": "State now",
    }
    page = web.post(url, _form(page, preset="generic", **chosen))
    assert page.context["preview"].value_counts["priority"] == [
        ("Sev A", 250, None),
        ("Whenever", 47, None),
        ("Sev Z", 3, None),
    ]
    assert page.context["preview"].value_counts["status"] == [
        ("Open", 150, "open"),
        ("Parked", 150, None),
    ]
    text = page.content.decode()
    assert "Every value in the whole file" in text
    assert "3 values unmapped, on 300 rows." in text
    assert "1 value unmapped, on 150 rows." in text
    assert "unmapped: 47 rows" in text and "unmapped: 3 rows" in text
    assert reads == ["odd.csv"]  # the file was read once for both columns
    page = web.post(url, _form(page, val__priority__2="P4"))
    assert "2 values unmapped, on 297 rows." in page.content.decode()
    assert reads == ["odd.csv"]  # and not again: each column's counts are kept
