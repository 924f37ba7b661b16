"""Security, round two (issue #17): saved import mappings (mapping, item 6) and upload limits
(upload, item 8). Each test failed on the code before its fix."""

from __future__ import annotations

import pytest
from django.urls import reverse


def _web_import_confirmed(user, client, msp, *, timezone: str = "", save_as: str = ""):
    """Upload the ConnectWise sample in the browser for (client, msp) as `user`, and confirm
    its mapping (with this zone and name, when given): (job, the preview shown)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from kpis.models import ImportJob

    from .test_recompute import SAMPLES

    web = Client()
    web.force_login(user)
    data = (SAMPLES / "connectwise_service_tickets.csv").read_bytes()
    upload = SimpleUploadedFile("export.csv", data, "text/csv")
    target = f"client:{client.pk}:{msp.pk}"
    assert web.post(reverse("import_upload"), {"file": upload, "target": target}).status_code == 302
    job = ImportJob.objects.filter(via="web").latest("pk")
    preview = web.get(reverse("import_mapping", args=[job.pk])).context["preview"]
    mapping = preview.mapping
    form = {
        "preset": mapping.preset,
        "timezone": timezone or mapping.timezone,
        "date_order": mapping.date_order,
        "action": "confirm",
        "save_as": save_as,
    }
    form |= {f"col__{f}": column for f, column in mapping.columns.items()}
    assert web.post(reverse("import_mapping", args=[job.pk]), form).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    return job, preview


def test_mapping_an_advisor_cannot_overwrite_the_msps_saved_mapping(world):
    from kpis.models import SavedMapping

    # Northwind's staff save the MSP's mapping on an import for Birch & Cole.
    _web_import_confirmed(world.msp_staff, world.birch, world.northwind, save_as="Northwind CW")
    msp_wide = SavedMapping.objects.get(msp=world.northwind, name="Northwind CW")
    assert msp_wide.client is None and msp_wide.updated_by == world.msp_staff
    # The advisor (Acme's only) saves under the same name, with another time zone.
    _web_import_confirmed(
        world.advisor,
        world.acme,
        world.northwind,
        timezone="Pacific/Auckland",
        save_as="Northwind CW",
    )
    msp_wide.refresh_from_db()
    assert msp_wide.updated_by == world.msp_staff
    assert msp_wide.mapping["timezone"] != "Pacific/Auckland"
    advisors = SavedMapping.objects.get(msp=world.northwind, name="Northwind CW", client=world.acme)
    assert advisors.mapping["timezone"] == "Pacific/Auckland"
    # Birch & Cole's next import (a client the advisor cannot see) is not pre-filled by it.
    _job, preview = _web_import_confirmed(world.msp_staff, world.birch, world.northwind)
    assert preview.mapping.timezone != "Pacific/Auckland"
    # Acme's next import is: it is that client's own saved mapping.
    _job, preview = _web_import_confirmed(world.msp_staff, world.acme, world.northwind)
    assert preview.mapping.timezone == "Pacific/Auckland"


def _export_rows(count: int) -> bytes:
    from .hostile_corpus import HEADER

    rows = "".join(
        f"H-{n},Printer jam {n},Incident,Closed,P3,Phone,Printing,WS-1,ann,"
        f"2025-07-01 10:00,2025-07-01 12:00,0\n"
        for n in range(count)
    )
    return (HEADER + "\n" + rows).encode()


@pytest.mark.parametrize("size", [50_000, 3 * 1024**2], ids=["streamed", "declared"])
def test_upload_over_the_limit_is_413_naming_the_limit_in_the_browser_and_the_api(
    world, client_for, settings, size
):
    """Refused while it streams (a body within the declared slack) and before it is read (a
    body declared larger than the limit allows), by the page and by the API alike."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kpis.models import ImportJob

    from .test_import_api import token_client

    settings.IMPORT_MAX_BYTES = 20_000
    data = _export_rows(size // 90)[:size]
    web = client_for(world.msp_staff)
    target = f"client:{world.acme.pk}:{world.northwind.pk}"
    page = web.post(
        reverse("import_upload"),
        {"file": SimpleUploadedFile("big.csv", data, "text/csv"), "target": target},
    )
    assert page.status_code == 413
    assert "file: the upload is larger than the limit of 20,000 bytes" in page.content.decode()
    api = token_client(world.msp_staff)
    answer = api.post(
        reverse("import-upload"),
        {"file": SimpleUploadedFile("big.csv", data, "text/csv"), "client": world.acme.slug},
        format="multipart",
    )
    assert answer.status_code == 413, answer.content[:300]
    assert "larger than the limit of 20,000 bytes" in answer.json()["detail"]
    assert not ImportJob.objects.exists()
    # Under the limit both still take it.
    small = _export_rows(20)
    assert len(small) < 20_000
    ok = api.post(
        reverse("import-upload"),
        {"file": SimpleUploadedFile("small.csv", small, "text/csv"), "client": world.acme.slug},
        format="multipart",
    )
    assert ok.status_code == 202, ok.content[:300]


def test_upload_preview_reads_only_the_head_of_a_large_gz(world):
    """64 MB of rows in a .gz: the preview unpacks a few MB for its 200 rows, not the file."""
    import gzip
    import tracemalloc

    from kpis.imports.services import PREVIEW_ROWS, import_create, preview_table

    text = _export_rows(720_000)
    assert len(text) > 60 * 1024**2
    packed = gzip.compress(text, compresslevel=1)
    del text
    job = import_create(
        msp=world.northwind,
        client=world.acme,
        user=world.msp_staff,
        via="web",
        name="big.csv.gz",
        content=packed,
    )
    del packed
    tracemalloc.start()
    try:
        table = preview_table(job)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table.frame.height == PREVIEW_ROWS
    assert table.columns[0] == "Ticket"
    assert peak < 32 * 1024**2, f"the preview held {peak / 1024**2:.0f} MB"


def _preview_peak(world, name: str, content: bytes):
    """The preview of an upload as the mapping page reads it, and the most memory it held."""
    import tracemalloc

    from kpis.imports.services import import_create, preview_table

    job = import_create(
        msp=world.northwind,
        client=world.acme,
        user=world.msp_staff,
        via="web",
        name=name,
        content=content,
    )
    tracemalloc.start()
    try:
        table = preview_table(job)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return table, peak, job


def test_upload_preview_reads_only_the_head_of_a_large_zip(world):
    """64 MB of rows zipped: the preview takes its 200 rows out of the zip and stops."""
    import io
    import zipfile

    from kpis.imports.services import PREVIEW_ROWS

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("export/tickets.csv", _export_rows(720_000))
    table, peak, _job = _preview_peak(world, "big.zip", packed.getvalue())
    assert table.frame.height == PREVIEW_ROWS and table.columns[0] == "Ticket"
    assert peak < 32 * 1024**2, f"the preview held {peak / 1024**2:.0f} MB"


def test_upload_preview_streams_the_first_rows_of_a_workbook(world):
    """A workbook's preview streams its first rows from the file on disk, reading the same rows
    as reading the whole file would, without holding the file (openpyxl still holds the
    workbook's shared strings, whatever the preview does)."""
    import io
    import tracemalloc

    import openpyxl

    from kpis.imports.ingest.read import table_read
    from kpis.imports.services import PREVIEW_ROWS

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for line in _export_rows(12_000).decode().splitlines():
        sheet.append(line.split(","))
    data = io.BytesIO()
    book.save(data)
    content = data.getvalue()
    table, peak, job = _preview_peak(world, "big.xlsx", content)
    tracemalloc.start()
    try:  # what the preview did before: the stored file read whole, then parsed
        with job.file.open("rb") as handle:
            whole = table_read(handle.read(), "big.xlsx", max_rows=PREVIEW_ROWS)
        _, whole_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table.frame.equals(whole.frame) and table.frame.height == PREVIEW_ROWS
    assert peak + 0.8 * len(content) < whole_peak, (peak, whole_peak, len(content))
