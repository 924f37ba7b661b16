"""The REST API: token auth, reads scoped to the caller, contract files applied by role."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts.models import Contract, SlaPolicyVersion

from .conftest import demo_document


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def document(doc: dict) -> dict:
    return {"document": json.loads(json.dumps(doc, default=str))}


def test_a_token_issued_on_the_settings_page_works_on_the_api(world, client_for):
    page = client_for(world.owner).post(reverse("api_token"))
    key = page.context["new_key"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get(reverse("contract-list"))
    assert response.status_code == 200
    assert [c["client"]["slug"] for c in response.json()["results"]] == ["acme-dental"]
    # Issuing again revokes the old token.
    client_for(world.owner).post(reverse("api_token"))
    assert api.get(reverse("contract-list")).status_code == 401


def test_there_is_no_password_only_token_endpoint(client):
    """A token by password alone would skip the MFA staff must pass."""
    assert client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code == 404


def test_sla_policies_come_with_targets_and_calendars(world):
    response = token_client(world.owner).get(reverse("sla-policy-list"))
    [policy] = response.json()["results"]
    targets = {t["priority"]: t for t in policy["targets"]}
    assert targets["P2"] == {
        "priority": "P2",
        "response_minutes": 60,
        "resolution_minutes": 480,
        "calendar": "business",
    }
    calendars = {c["key"]: c for c in policy["calendars"]}
    assert calendars["business"]["weekly_hours"]["mon"] == [["08:00", "17:00"]]
    assert calendars["always"]["is_24x7"] is True


def test_matrix_versions_report_their_gaps(world):
    response = token_client(world.viewer).get(reverse("matrix-version-list"))
    [version] = response.json()["results"]
    assert {
        "kind": "no_split",
        "area": "Change management",
        "message": "Change management: shared, but the split is not written down",
    } in version["gaps"]


def test_msp_staff_apply_a_contract_file_and_a_repeat_changes_nothing(world):
    api = token_client(world.msp_staff)
    doc = demo_document("acme-dental.yaml")
    doc["sla"]["effective_from"] = "2026-07-01"
    doc["sla"]["targets"]["P1"]["response_minutes"] = 20
    first = api.post(reverse("contract-file-apply"), document(doc), format="json")
    assert first.status_code == 200, first.content
    assert first.json()["changes"] == [
        "proposed SLA policy version effective 2026-07-01: it applies once the client and "
        "the MSP both approve it"
    ]
    again = api.post(reverse("contract-file-apply"), document(doc), format="json")
    assert again.json()["changes"] == []
    versions = SlaPolicyVersion.objects.filter(contract=world.acme_contract)
    assert versions.count() == 2
    # One side alone changed nothing: the version in force on its date is still the first.
    proposed = versions.get(effective_from="2026-07-01")
    assert proposed.state == "proposed"
    assert world.acme_contract.current_policy(on=proposed.effective_from) != proposed


def test_a_bad_contract_file_is_answered_with_key_paths(world):
    doc = demo_document("acme-dental.yaml")
    doc["sla"]["targets"]["P2"]["resolution_minutes"] = -5
    response = token_client(world.msp_staff).post(
        reverse("contract-file-apply"), document(doc), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "document": ["sla.targets.P2.resolution_minutes: must be a positive integer"]
    }


@pytest.mark.parametrize("persona", ["viewer", "owner", "outsider"])
def test_client_side_people_cannot_apply_contract_files(world, persona):
    doc = demo_document("acme-dental.yaml")
    response = token_client(getattr(world, persona)).post(
        reverse("contract-file-apply"), document(doc), format="json"
    )
    assert response.status_code == 403


def test_a_rival_msp_cannot_attach_itself_to_someone_elses_client(world):
    doc = demo_document("acme-dental.yaml")
    doc["msp"] = {"slug": "rival-msp", "name": "Rival MSP"}
    doc.pop("advisor")
    response = token_client(world.rival_staff).post(
        reverse("contract-file-apply"), document(doc), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"document": ["client.slug: unknown client"]}
    assert not Contract.objects.filter(client=world.acme, msp=world.rival_msp).exists()


def test_the_schema_and_docs_are_served(world, client_for):
    client = client_for(world.owner)
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/api/v1/contracts/{id}/" in paths
    assert "/api/v1/occurrences/{id}/evidence/" in paths
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200
    # Swagger UI comes from the app's own static files: no CDN at run time.
    html = docs.content.decode()
    assert "swagger-ui-dist" in html or "swagger-ui-bundle" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "cdn.jsdelivr" not in html
