"""Writes that name another tenant in their body (contract files, uploads, ticket batches, the
organisation switch), by session and by token: none of that tenant's rows may change. A route
taking a POST without coverage here or in the object walk fails the suite."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from contracts.models import Organisation
from msp_portal.tenancy import WRITE_ROLES, writing_organisations

from .conftest import demo_document
from .tenant_rows import changed_tables, tenant_digest
from .test_contract_setup import new_client_post
from .test_tenancy_walk import (
    PERSONA_TARGETS,
    _target_objects,
    all_routes,
    is_allauth,
    route_params,
)

# Routes that take a POST yet write nothing of a tenant's: why each needs no write walk.
SELF_ONLY_WRITES = {
    "api_token": "issues the caller's own token",
    "home": "a page that reads only: a POST is answered as a GET",
    "import_list": "a page that reads only: a POST is answered as a GET",
}


def _own_writing_org(user, kind) -> Organisation | None:
    return Organisation.objects.filter(
        kind=kind, memberships__user=user, memberships__role__in=WRITE_ROLES
    ).first()


def _served_client(user, target_client) -> Organisation | None:
    """A client the caller writes for (their own or one they serve), not the target's."""
    ids = writing_organisations(user) - {target_client.pk}
    return Organisation.objects.filter(pk__in=ids, kind=Organisation.Kind.CLIENT).first()


def _ref(org) -> dict:
    return {"slug": org.slug, "name": org.name}


def _contract_documents(user, contract) -> list[dict]:
    """Contract files a persona could send to reach into the target contract's tenant: the
    target's own file changed; their MSP or advisory firm attached to the target's client; the
    target's MSP or advisor attached to a client of theirs; the target's organisations renamed."""
    base = demo_document("birch-cole-law.yaml")
    base["sla"]["effective_from"] = "2026-09-01"
    base["sla"]["targets"]["P1"]["response_minutes"] = 1
    base["contract"]["name"] = contract.name
    client, msp, advisor = contract.client, contract.msp, contract.advisor
    own_msp = _own_writing_org(user, Organisation.Kind.MSP)
    own_advisor = _own_writing_org(user, Organisation.Kind.ADVISOR)
    served = _served_client(user, client)
    variants = [
        {"client": _ref(client), "msp": _ref(msp)} | ({"advisor": _ref(advisor)} if advisor else {})
    ]
    for own in (own_msp, own_advisor):
        if own is None:
            continue
        side = "msp" if own.kind == Organisation.Kind.MSP else "advisor"
        variants.append({"client": _ref(client), "msp": _ref(msp), side: _ref(own)})
        variants.append(
            {
                "client": {**_ref(client), "name": "Renamed by the walk"},
                "msp": _ref(msp),
                side: _ref(own),
            }
        )
        if served is not None:
            # The target's MSP (or advisory firm) attached to a client the caller serves.
            other_side = "advisor" if side == "msp" else "msp"
            for foreign in (msp, advisor):
                if foreign is not None:
                    renamed = {**_ref(foreign), "name": "Renamed by the walk"}
                    variants.append({"client": _ref(served), side: _ref(own), other_side: renamed})
    documents = []
    for parties in variants:
        doc = {**base, **parties}
        if "advisor" not in parties:
            doc.pop("advisor", None)
        documents.append({"document": json.loads(json.dumps(doc, default=str))})
    return documents


def _ticket_csv():
    upload = io.BytesIO(b"Ticket,Opened,Priority\n901,2025-07-02 10:00,P1\n")
    upload.name = "walk.csv"
    return upload


def _patch_csv():
    upload = io.BytesIO(
        b"device,patch,severity,released,installed\nWALK-PC,KB1,Critical,2025-07-01,\n"
    )
    upload.name = "walk-patches.csv"
    return upload


def body_writes(user, contract) -> dict[str, list[tuple[str, dict, str | None]]]:
    """Per write route that names its target in the body: (url, body, format) attempts."""
    client, msp = contract.client, contract.msp
    ticket = {"external_id": "901", "created_at": "2025-07-02T10:00:00Z"}
    return {
        "contract-file-apply": [
            (reverse("contract-file-apply"), doc, "json")
            for doc in _contract_documents(user, contract)
        ],
        "import-upload": [
            (reverse("import-upload"), {"file": _ticket_csv(), "client": client.slug}, None)
        ],
        "ticket-batch": [
            (reverse("ticket-batch"), {"client": client.slug, "tickets": [ticket]}, "json")
        ],
        "reported-figure-list": [
            (
                reverse("reported-figure-list"),
                {
                    "client": client.slug,
                    "period": period,
                    "figures": {"resolution.compliance": 0.5},
                },
                "json",
            )
            for period in ("2025-Q3", "2025-Q4")  # the period the target has, and a new one
        ],
        "import_upload": [
            (reverse("import_upload"), {"file": _ticket_csv(), "target": target}, None)
            for target in (f"client:{client.pk}:{msp.pk}", f"msp:{msp.pk}")
        ],
        # A new client set up with the target's MSP or advisory firm, or under the target
        # client's name: refused, or a new client of the caller's own that touches no row of
        # the target's tenant.
        "setup_client_new": [
            (reverse("setup_client_new"), new_client_post(msp.pk, advisor_id, name), None)
            for advisor_id, name in (
                (contract.advisor_id, "Walk client"),
                (None, client.name),
            )
        ],
        # A dispute about the target's ticket or commitment occurrence: "no such ticket".
        "dispute-list": [
            (reverse("dispute-list"), body, "json")
            for body in (
                {
                    "subject": "priority",
                    "ticket": getattr(client.tickets.first(), "pk", 1),
                    "requested": {"priority": "P4"},
                    "reason": "written by the walk",
                },
                {
                    "subject": "occurrence",
                    "occurrence": getattr(
                        contract.commitments.first().occurrences.first(), "pk", 1
                    ),
                    "requested": {"status": "kept"},
                    "reason": "written by the walk",
                },
            )
        ],
        # A tool report for the target's client: "no client you work with has this slug".
        "tool-report-list": [
            (
                reverse("tool-report-list"),
                {
                    "client": client.slug,
                    "kind": "patches",
                    "preset": "generic",
                    "report_date": "2025-10-03",
                    "file": _patch_csv(),
                },
                None,
            )
        ],
        "organisation_switch": [
            (reverse("organisation_switch"), {"organisation": org.pk}, None)
            for org in (client, msp)
        ],
    }


def _send(api, url: str, body: dict, fmt: str | None):
    if fmt == "json":
        return api.post(url, json.dumps(body), content_type="application/json")
    return api.post(url, body)


@pytest.mark.parametrize(("persona", "target", "own"), PERSONA_TARGETS)
def test_writes_naming_another_tenant_change_none_of_its_rows(
    world, client_for, persona, target, own
):
    """Each write that names its target in the body, sent by the persona's session and by their
    API token, about the other tenant: refused (4xx, or the page again with its error), and not
    one row of that tenant differs afterwards."""
    user, contract = getattr(world, persona), getattr(world, target)
    _target_objects(contract)  # the tenant's imports, tickets, outages and reviews exist
    token = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    before = tenant_digest(contract)
    failures = []
    for name, attempts in body_writes(user, contract).items():
        for url, body, fmt in attempts:
            callers = [client_for(user)] + ([token] if url.startswith("/api/") else [])
            for caller in callers:
                response = _send(caller, url, body, fmt)
                if name == "import_upload":
                    ok = response.status_code in (200, 403)  # the form again, with its error
                elif name == "setup_client_new":
                    # The form again, a refusal, or a new client of the caller's own: the
                    # digest below is what must not move.
                    ok = response.status_code in (200, 302, 403)
                else:
                    ok = 400 <= response.status_code < 500
                after = tenant_digest(contract)
                if not ok or after != before:
                    failures.append(
                        f"{name} {body.get('document', body)!s:.160}: {response.status_code}, "
                        f"changed {changed_tables(before, after)}"
                    )
                    before = after
    assert failures == []


def test_every_write_route_is_covered_by_the_write_walk(world, client_for):
    """A route without an object id that takes a POST (anything but 405) must be walked with a
    body naming another tenant (body_writes) or change only the caller's own things."""
    covered = set(body_writes(world.msp_staff, world.other_contract)) | set(SELF_ONLY_WRITES)
    staff = client_for(world.msp_staff)
    uncovered = []
    for name, pattern in all_routes():
        if is_allauth(pattern) or route_params(pattern) or name in covered:
            continue
        if staff.post(reverse(name)).status_code != 405:
            uncovered.append(name)
    assert uncovered == [], f"write routes with no write-walk coverage: {uncovered}"
