"""Security, round two (issue #17): contract files touch only the caller's own organisations;
the second factor holds for API tokens; the admin is behind the portal's log-in; production
refuses placeholder secret keys; the API schema is for logged-in people.

Each test failed on the code before its fix (RELIABILITY.md, "Security, round two").
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts.models import Contract, Organisation

from .conftest import apply_yaml_text, demo_document

ROOT = Path(__file__).resolve().parents[1]


def token_client(user) -> tuple[APIClient, str]:
    key = Token.objects.get_or_create(user=user)[0].key
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api, key


def apply(user, doc: dict):
    api, _ = token_client(user)
    body = {"document": json.loads(json.dumps(doc, default=str))}
    return api.post(reverse("contract-file-apply"), body, format="json")


# --- 1. The contract-file API touches only the caller's organisations ------------------------


def test_an_advisor_cannot_attach_an_unrelated_msp_to_a_client(world, client_for):
    """The issue's case: Clearview's advisor named Rival MSP on a contract with Acme; Rival's
    staff then read Acme's dashboard and tickets."""
    doc = demo_document("acme-dental.yaml")
    doc["msp"] = {"slug": "rival-msp", "name": "Rival MSP"}
    doc["contract"]["name"] = "Attached by the advisor"
    response = apply(world.advisor, doc)
    assert response.status_code == 400
    assert response.json() == {"document": ["msp.slug: unknown MSP"]}
    assert not Contract.objects.filter(client=world.acme, msp=world.rival_msp).exists()
    rival = client_for(world.rival_staff)
    assert rival.get(reverse("client_dashboard", args=[world.acme.slug])).status_code == 404
    assert rival.get(reverse("client_tickets", args=[world.acme.slug])).status_code == 404


def test_another_tenants_organisation_is_answered_as_unknown_whatever_its_kind(world):
    """Before, naming Other Co (a client) as the MSP said "'other-co' is already a Client":
    that it exists, and what it is. Now every organisation of another tenant gets the answer
    its place in the file gets, the same for a client, an MSP or an advisory firm."""
    answers = {}
    for slug in ("other-co", "rival-msp", "rival-advisory"):
        doc = demo_document("acme-dental.yaml")
        doc["msp"] = {"slug": slug, "name": "Whoever"}
        doc["contract"]["name"] = f"Probe {slug}"
        response = apply(world.advisor, doc)
        answers[slug] = (response.status_code, response.json())
    assert answers == {
        slug: (400, {"document": ["msp.slug: unknown MSP"]})
        for slug in ("other-co", "rival-msp", "rival-advisory")
    }
    # In the client's place, likewise: a rival's client and a rival MSP answer alike.
    for slug in ("other-co", "rival-msp"):
        doc = demo_document("acme-dental.yaml")
        doc["client"] = {"slug": slug, "name": "Whoever", "seats": {"users": 1, "devices": 1}}
        doc.pop("advisor")  # Clearview advises Acme, not a new contract of Northwind's
        response = apply(world.msp_staff, doc)
        assert response.json() == {"document": ["client.slug: unknown client"]}, slug


def test_a_contract_file_renames_no_organisation_of_another_tenant(world):
    before = dict(Organisation.objects.values_list("slug", "name"))
    # Another tenant's advisory firm put on Acme's contract, under a new name.
    doc = demo_document("acme-dental.yaml")
    doc["advisor"] = {"slug": "rival-advisory", "name": "Renamed by Northwind"}
    response = apply(world.msp_staff, doc)
    assert response.json() == {"document": ["advisor.slug: unknown advisory firm"]}
    # The advisory firm already on the contract may be named, but only its members rename it.
    doc = demo_document("acme-dental.yaml")
    doc["advisor"]["name"] = "Renamed by Northwind"
    response = apply(world.msp_staff, doc)
    assert response.status_code == 400
    [problem] = response.json()["document"]
    assert problem.startswith("advisor.name: 'Renamed by Northwind' is not the organisation's name")
    assert dict(Organisation.objects.values_list("slug", "name")) == before


def test_a_contract_file_still_creates_new_organisations_and_updates_its_own(world):
    doc = demo_document("acme-dental.yaml")
    doc["advisor"] = {"slug": "new-advisory", "name": "New Advisory"}
    doc["contract"]["name"] = "With a new advisor"
    response = apply(world.msp_staff, doc)
    assert response.status_code == 200, response.content
    assert Organisation.objects.get(slug="new-advisory").kind == Organisation.Kind.ADVISOR
    # The firm's own member renames it.
    doc = demo_document("acme-dental.yaml")
    doc["msp"]["name"] = "Northwind IT (renamed)"
    assert apply(world.msp_staff, doc).status_code == 200
    assert Organisation.objects.get(slug="northwind-it").name == "Northwind IT (renamed)"


def test_apply_contract_run_by_an_operator_keeps_its_power(world):
    """The management command is the operator's: it may attach any MSP (as before)."""
    doc = demo_document("acme-dental.yaml")
    doc["msp"] = {"slug": "rival-msp", "name": "Rival MSP"}
    doc["contract"]["name"] = "Set up by the operator"
    apply_yaml_text(yaml.safe_dump(doc))
    assert Contract.objects.filter(client=world.acme, msp=world.rival_msp).exists()
