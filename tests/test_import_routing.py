"""Issue #20, the right client: a file's company column decides whose tickets a row holds. Each
company goes to the client it is routed to (the mapping, a route the MSP remembered, or a
client's own name), or its rows are problems; never silently to the client chosen at upload.
The command, the API and the browser's mapping step follow the same rule, and a remembered
route belongs to one MSP."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kpis.imports.company_routing import company_routes, routes_remember
from kpis.imports.ingest.mapping import Mapping
from kpis.imports.services import import_run
from kpis.models import CompanyRoute, ImportJob, ImportProblem, Ticket
from msp_portal.tenancy import importable_clients

pytestmark = pytest.mark.django_db

# Three companies: Acme by its own name, one the MSP has never named, and a row without one.
TWO_COMPANIES = (
    "Ticket,Company,Opened,Priority\n"
    "A-1,Acme Dental Group,2025-07-01 09:00,P1\n"
    "A-2,Acme Dental Group,2025-07-02 09:00,P2\n"
    "Z-1,Zenith Dental,2025-07-03 09:00,P3\n"
    "Z-2,Zenith Dental,2025-07-04 09:00,P3\n"
    "E-1,,2025-07-05 09:00,P4\n"
    "A-3,acme  dental group,2025-07-06 09:00,P2\n"
)


def command(tmp_path, client_slug: str, *extra: str) -> tuple[ImportJob, str]:
    path = tmp_path / "two-companies.csv"
    path.write_text(TWO_COMPANIES)
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_tickets", str(path), "--client", client_slug, "--preset", "generic", *extra,
        stdout=out, stderr=err,
    )  # fmt: skip
    return ImportJob.objects.latest("pk"), out.getvalue() + err.getvalue()


def ids(client) -> list[str]:
    return sorted(Ticket.objects.filter(client=client).values_list("external_id", flat=True))


def test_the_command_writes_each_company_to_its_client_and_an_unknown_one_nowhere(world, tmp_path):
    job, printed = command(tmp_path, world.birch.slug)
    # Acme Dental Group's rows go to Acme, whatever --client said; the row without a company
    # goes to the client named; Zenith Dental's rows go nowhere and say why.
    assert ids(world.acme) == ["A-1", "A-2", "A-3"]
    assert ids(world.birch) == ["E-1"]
    assert not Ticket.objects.filter(external_id__startswith="Z").exists()
    problems = ImportProblem.objects.filter(job=job, severity="error").order_by("row")
    assert [(p.row, p.column, p.value) for p in problems] == [
        (4, "Company", "Zenith Dental"),
        (5, "Company", "Zenith Dental"),
    ]
    assert "company “Zenith Dental” is not matched to a client" in problems[0].reason
    assert job.rejected == 2 and "created=4" in printed


def test_the_command_routes_or_skips_a_company_it_is_told_about(world, tmp_path):
    job, _ = command(tmp_path, world.acme.slug, "--company", "Zenith Dental=skip")
    assert ids(world.acme) == ["A-1", "A-2", "A-3", "E-1"]
    reasons = set(ImportProblem.objects.filter(job=job).values_list("reason", flat=True))
    assert reasons == {
        "company “Zenith Dental” is skipped in the mapping: its tickets were not imported"
    }

    command(tmp_path, world.acme.slug, "--company", f"Zenith Dental={world.birch.slug}")
    assert ids(world.birch) == ["Z-1", "Z-2"]


def test_a_route_remembered_for_the_msp_is_followed_by_the_command(world, tmp_path):
    routes_remember(
        world.northwind, {"ZENITH dental": world.birch.slug}, [world.birch], world.msp_staff
    )
    command(tmp_path, world.acme.slug)
    assert ids(world.birch) == ["Z-1", "Z-2"]


def test_a_remembered_route_belongs_to_its_msp_only(world, tmp_path):
    """Rival MSP routed Zenith Dental to its own client: Northwind never reads that route."""
    routes_remember(
        world.rival_msp, {"Zenith Dental": world.other.slug}, [world.other], world.rival_staff
    )
    assert CompanyRoute.objects.get().msp == world.rival_msp
    mapping = Mapping(preset="generic", columns={}, timezone="UTC")
    assert company_routes(world.northwind, None, ["Zenith Dental"], mapping) == {}
    assert company_routes(world.northwind, world.msp_staff, ["Zenith Dental"], mapping) == {}
    job, _ = command(tmp_path, world.acme.slug)
    assert not Ticket.objects.filter(client=world.other).exists()
    assert job.rejected == 2
    # Nor can a route, or a mapping, send Northwind's rows to another MSP's client.
    told = Mapping(
        preset="generic", columns={}, timezone="UTC", clients={"Zenith Dental": "other-co"}
    )
    assert company_routes(world.northwind, None, ["Zenith Dental"], told) == {}


def test_a_route_to_a_client_the_person_may_not_import_for_is_not_followed(world):
    """The advisor imports for Acme only: a route of the MSP to Birch & Cole is not theirs to use,
    and the rows stay problems instead of landing in a client they cannot see."""
    assert world.birch not in [c for c, _ in importable_clients(world.advisor)]
    routes_remember(
        world.northwind, {"Zenith Dental": world.birch.slug}, [world.birch], world.msp_staff
    )
    mapping = Mapping(preset="generic", columns={}, timezone="UTC")
    assert company_routes(world.northwind, world.advisor, ["Zenith Dental"], mapping) == {}
    assert company_routes(world.northwind, world.msp_staff, ["Zenith Dental"], mapping) == {
        "Zenith Dental": world.birch
    }


def api_upload(user, client_slug: str, **extra) -> ImportJob:
    api = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    upload = SimpleUploadedFile("two.csv", TWO_COMPANIES.encode(), "text/csv")
    response = api.post(
        reverse("import-upload"),
        {"file": upload, "client": client_slug, "preset": "generic", **extra},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    # The test's transaction never commits, so no worker is handed the job: run it here.
    import_run(response.json()["id"])
    return ImportJob.objects.get(pk=response.json()["id"])


def test_the_api_follows_the_same_rule(world):
    job = api_upload(world.msp_staff, world.acme.slug)
    assert ids(world.acme) == ["A-1", "A-2", "A-3", "E-1"]
    assert job.rejected == 2
    assert set(job.problems.values_list("value", flat=True)) == {"Zenith Dental"}

    # A mapping sent with the upload routes a company, as a mapping file does.
    mapping = '{"preset": "generic", "clients": {"Zenith Dental": "birch-cole-law"}}'
    mapping = mapping.replace('"generic",', '"generic", "columns": {"external_id": "Ticket", '
                              '"company": "Company", "created_at": "Opened"},')  # fmt: skip
    api_upload(world.msp_staff, world.acme.slug, mapping=mapping)
    assert ids(world.birch) == ["Z-1", "Z-2"]


def test_the_api_does_not_follow_a_route_the_advisor_may_not_use(world):
    routes_remember(
        world.northwind, {"Zenith Dental": world.birch.slug}, [world.birch], world.msp_staff
    )
    job = api_upload(world.advisor, world.acme.slug)
    assert not Ticket.objects.filter(client=world.birch).exists()
    assert job.rejected == 2


def test_the_mapping_page_remembers_the_companies_routed_for_the_msp(world, client_for):
    web = client_for(world.msp_staff)
    upload = SimpleUploadedFile("two.csv", TWO_COMPANIES.encode(), "text/csv")
    web.post(
        reverse("import_upload"),
        {"file": upload, "target": f"client:{world.acme.pk}:{world.northwind.pk}"},
    )
    job = ImportJob.objects.latest("pk")
    page = web.get(reverse("import_mapping", args=[job.pk]))
    lines = {line.company: line.choice for line in page.context["check"].companies}
    # Acme is recognised by its name (spelled two ways); Zenith is nobody's yet.
    assert lines == {"Acme Dental Group": "acme-dental", "acme  dental group": "acme-dental",
                     "Zenith Dental": ""}  # fmt: skip
    form = _form(page) | {"action": "confirm"}
    refused = web.post(reverse("import_mapping", args=[job.pk]), form)
    assert refused.status_code == 200
    assert (
        "Choose a client, or “Skip these tickets”, for “Zenith Dental”" in refused.content.decode()
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.MAPPING

    zenith = next(i for i, line in enumerate(page.context["check"].companies)
                  if line.company == "Zenith Dental")  # fmt: skip
    form[f"company__{zenith}"] = world.birch.slug
    assert web.post(reverse("import_mapping", args=[job.pk]), form).status_code == 302
    route = CompanyRoute.objects.get(msp=world.northwind, company_key="zenith dental")
    assert route.client == world.birch

    # The next export of the MSP's starts from it.
    upload = SimpleUploadedFile("two-again.csv", TWO_COMPANIES.encode(), "text/csv")
    web.post(
        reverse("import_upload"),
        {"file": upload, "target": f"client:{world.acme.pk}:{world.northwind.pk}"},
    )
    again = web.get(reverse("import_mapping", args=[ImportJob.objects.latest("pk").pk]))
    assert {line.company: line.choice for line in again.context["check"].companies}[
        "Zenith Dental"
    ] == world.birch.slug


def test_an_advisor_is_offered_only_the_clients_they_import_for(world, client_for):
    web = client_for(world.advisor)
    upload = SimpleUploadedFile("two.csv", TWO_COMPANIES.encode(), "text/csv")
    web.post(
        reverse("import_upload"),
        {"file": upload, "target": f"client:{world.acme.pk}:{world.northwind.pk}"},
    )
    job = ImportJob.objects.latest("pk")
    page = web.get(reverse("import_mapping", args=[job.pk]))
    assert [c.slug for c in page.context["clients"]] == [world.acme.slug]
    assert world.birch.name not in page.content.decode()


def _form(page) -> dict:
    """The mapping page's form as the browser posts it, with what it shows chosen."""
    preview, check = page.context["preview"], page.context["check"]
    form = {"preset": preview.mapping.preset, "timezone": preview.mapping.timezone}
    form |= {"date_order": "auto", "shown_preset": preview.mapping.preset}
    form |= {f"col__{f}": column for f, column in preview.mapping.columns.items()}
    for section in check.sections:
        form[f"count__{section.field}"] = len(section.values)
        for index, (raw, _count, guess) in enumerate(section.values):
            form[f"raw__{section.field}__{index}"] = raw
            form[f"val__{section.field}__{index}"] = guess or ""
    form["count__company"] = len(check.companies)
    for index, line in enumerate(check.companies):
        form[f"rawco__{index}"] = line.company
        form[f"company__{index}"] = line.choice
    return form
