"""Saved columns for tool reports (issue 23, as the ticket importer's saved mappings): an upload
saves its layout and columns under a name, MSP-wide for the MSP's own staff and for one client
only for an advisor; the kind's page offers them and fills the form in from the one chosen;
another MSP's, or another client's, are neither offered nor used."""

from __future__ import annotations

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.models import ToolReportJob, ToolReportMapping

from .test_tool_reports_scope import _web
from .tool_report_support import queued_imports_run

DATTO = Path(__file__).parent / "data" / "patch_reports" / "datto_rmm_2025-08-10.csv"
# The Datto sample read with the generic layout: every column named.
COLUMNS = {
    "device": "Device Hostname",
    "patch": "Patch ID",
    "severity": "Priority",
    "released": "Release Date",
    "installed": "Install Date",
    "status": "Patch Status",
}


def _page(contract) -> str:
    return reverse("patch_reports", args=[contract.client.slug, contract.pk])


def _upload_saving(web, contract, name: str):
    body = {"preset": "generic", "report_date": "2025-08-10", "save_as": name}
    body |= {f"column_{field}": column for field, column in COLUMNS.items()}
    return web.post(
        _page(contract), {**body, "file": SimpleUploadedFile(DATTO.name, DATTO.read_bytes())}
    )


def test_staff_save_columns_for_every_client_and_the_page_fills_them_in(world):
    staff = _web(world, world.msp_staff)
    response = _upload_saving(staff, world.acme_contract, "Datto, our export")
    assert response.status_code == 302
    saved = ToolReportMapping.objects.get()
    assert (saved.msp, saved.client, saved.kind, saved.preset, saved.mapping) == (
        world.northwind,
        None,
        "patches",
        "generic",
        COLUMNS,
    )
    said = staff.get(response["Location"], follow=True).content.decode()
    assert "Columns saved as “Datto, our export”, for every client of Northwind" in said
    # Offered on another client's page of the same MSP, and filled in once chosen.
    birch = world.birch_contract
    offered = staff.get(_page(birch)).content.decode()
    assert f'<option value="{saved.pk}">Datto, our export</option>' in offered
    assert 'value="Device Hostname"' not in offered  # nothing chosen yet
    chosen = staff.get(_page(birch), {"columns": saved.pk}).content.decode()
    for column in COLUMNS.values():
        assert f'value="{column}"' in chosen
    assert '<option value="generic" selected>' in chosen
    # The same name again replaces the columns, it adds no second one.
    _upload_saving(staff, world.acme_contract, "Datto, our export")
    assert ToolReportMapping.objects.count() == 1


def test_an_upload_with_saved_columns_imports_as_they_say(world):
    staff = _web(world, world.msp_staff)
    _upload_saving(staff, world.acme_contract, "Datto")
    [job] = queued_imports_run()
    assert job.status == ToolReportJob.Status.DONE, job.message
    assert (job.report.rows_imported, job.report.problems, job.mapping) == (3, [], COLUMNS)


def test_an_advisors_columns_are_for_its_client_only(world):
    advisor = _web(world, world.advisor)
    _upload_saving(advisor, world.acme_contract, "Clearview's Datto")
    saved = ToolReportMapping.objects.get()
    assert (saved.msp, saved.client) == (world.northwind, world.acme)
    assert "(Acme Dental" in advisor.get(_page(world.acme_contract)).content.decode()
    # Northwind's staff see it on Acme's page, not on their other client's.
    staff = _web(world, world.msp_staff)
    assert "Clearview&#x27;s Datto" in staff.get(_page(world.acme_contract)).content.decode()
    birch = staff.get(_page(world.birch_contract), {"columns": saved.pk}).content.decode()
    assert "Clearview" not in birch and 'value="Device Hostname"' not in birch


def test_another_msps_columns_are_neither_offered_nor_used(world):
    theirs = ToolReportMapping.objects.create(
        msp=world.rival_msp,
        kind="patches",
        name="Rival secret layout",
        preset="generic",
        mapping={"device": "Rival Device Column"},
    )
    staff = _web(world, world.msp_staff)
    page = staff.get(_page(world.acme_contract), {"columns": theirs.pk}).content.decode()
    assert "Rival secret layout" not in page and "Rival Device Column" not in page
    # Another kind's columns are not this kind's either.
    other_kind = ToolReportMapping.objects.create(
        msp=world.northwind, kind="backups", name="Veeam columns", preset="generic", mapping={}
    )
    page = staff.get(_page(world.acme_contract), {"columns": other_kind.pk}).content.decode()
    assert "Veeam columns" not in page
    # The client's side uploads nothing, so it is offered nothing and saves nothing.
    owner = _web(world, world.owner)
    assert "Saved columns" not in owner.get(_page(world.acme_contract)).content.decode()
    assert _upload_saving(owner, world.acme_contract, "Owner's").status_code == 403
    assert not ToolReportMapping.objects.filter(name="Owner's").exists()


def _forget(web, contract, saved):
    url = reverse("saved_columns_forget", args=[contract.client.slug, contract.pk, saved.pk])
    return web.post(url)


def test_saved_columns_are_forgotten_by_who_may_save_them_there(world):
    """The MSP's own columns: its staff may forget them, the advisor may not (they serve every
    client of the MSP); an advisor's columns for Acme: the advisor, or the MSP's staff. The
    client's side forgets nothing; another MSP's columns are not found."""
    staff, advisor, owner = (
        _web(world, world.msp_staff),
        _web(world, world.advisor),
        _web(world, world.owner),
    )
    _upload_saving(staff, world.acme_contract, "Northwind's")
    _upload_saving(advisor, world.acme_contract, "Clearview's")
    msp_wide = ToolReportMapping.objects.get(name="Northwind's")
    acme_only = ToolReportMapping.objects.get(name="Clearview's")
    # Only where it could be forgotten is the button shown.
    chosen = advisor.get(_page(world.acme_contract), {"columns": msp_wide.pk}).content.decode()
    assert "Forget “Northwind&#x27;s”" not in chosen
    chosen = staff.get(_page(world.acme_contract), {"columns": msp_wide.pk}).content.decode()
    assert "Forget “Northwind&#x27;s”" in chosen
    assert _forget(advisor, world.acme_contract, msp_wide).status_code == 403
    assert _forget(owner, world.acme_contract, acme_only).status_code == 403
    # The client's side is refused before any lookup: an id that does not exist answers alike.
    missing = reverse(
        "saved_columns_forget", args=[world.acme.slug, world.acme_contract.pk, 999999]
    )
    assert owner.post(missing).status_code == 403
    # Through another client's page, a client's own columns are not found.
    assert _forget(staff, world.birch_contract, acme_only).status_code == 404
    assert ToolReportMapping.objects.count() == 2
    forgotten = _forget(advisor, world.acme_contract, acme_only)
    assert forgotten.status_code == 302 and forgotten["Location"] == _page(world.acme_contract)
    said = advisor.get(forgotten["Location"]).content.decode()
    assert "Saved columns “Clearview&#x27;s” forgotten." in said
    assert _forget(staff, world.acme_contract, msp_wide).status_code == 302
    assert not ToolReportMapping.objects.exists()
    rival = ToolReportMapping.objects.create(
        msp=world.rival_msp, kind="patches", name="Rival's", preset="generic", mapping={}
    )
    assert _forget(staff, world.acme_contract, rival).status_code == 404
    assert ToolReportMapping.objects.filter(pk=rival.pk).exists()


def test_the_api_lists_the_saved_columns_and_an_upload_uses_them(world):
    from .test_api_tool_reports import token_client

    _upload_saving(_web(world, world.msp_staff), world.acme_contract, "Datto")
    queued_imports_run()
    saved = ToolReportMapping.objects.get()
    ToolReportMapping.objects.create(
        msp=world.rival_msp, kind="patches", name="Rival's", preset="generic", mapping={}
    )
    staff = token_client(world.msp_staff)
    listed = staff.get("/api/v1/tool-report-columns/", {"limit": 100}).json()["results"]
    assert [(s["id"], s["name"], s["client"], s["preset"], s["mapping"]) for s in listed] == [
        (saved.pk, "Datto", None, "generic", COLUMNS)
    ]
    # The client's side imports nothing and is listed nothing; the rival's staff not ours.
    assert token_client(world.owner).get("/api/v1/tool-report-columns/").json()["results"] == []
    rival = token_client(world.rival_staff).get("/api/v1/tool-report-columns/").json()
    assert [s["name"] for s in rival["results"]] == ["Rival's"]
    assert (
        token_client(world.rival_staff).get(f"/api/v1/tool-report-columns/{saved.pk}/").status_code
        == 404
    )

    def upload(**extra):
        with open(DATTO, "rb") as handle:
            body = {
                "client": world.acme.slug,
                "kind": "patches",
                "report_date": "2025-08-11",
                "file": handle,
                **extra,
            }
            return staff.post("/api/v1/tool-reports/", body, format="multipart")

    # Without a preset or a mapping, the saved columns' layout and columns read the file.
    queued = upload(saved_columns=saved.pk)
    assert queued.status_code == 202, queued.content
    job = ToolReportJob.objects.get(pk=queued.json()["id"])
    assert (job.preset, job.mapping) == ("generic", COLUMNS)
    [done] = queued_imports_run()
    assert done.status == ToolReportJob.Status.DONE and done.report.rows_imported == 3
    # Another kind's, or another MSP's, saved columns are refused by their id.
    backups = ToolReportMapping.objects.create(
        msp=world.northwind, kind="backups", name="Veeam", preset="generic", mapping={}
    )
    for other in (backups.pk, ToolReportMapping.objects.get(name="Rival's").pk):
        refused = upload(saved_columns=other)
        assert refused.status_code == 400
        assert f"have the id {other}" in refused.json()["saved_columns"][0]
