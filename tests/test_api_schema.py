"""The API against its own OpenAPI schema: schemathesis generates requests for every operation of
/api/schema/ and sends them through the WSGI app with a token, each as a persona drawn with it
(MSP staff half the time; the client's admin and read-only member, another client's admin, the
advisor, another MSP's staff). No response may be a server error, and every response must match
what the schema says (status, content type, body).

Path ids are drawn half the time from the rows the world holds (visible to the caller or not),
so detail pages and actions are exercised on real objects, not only on 404s. The example count is
bounded for CI; `make schemathesis` runs the same tests with more (SCHEMATHESIS_MAX_EXAMPLES).
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from contracts.models import (
    AuditEvent,
    Commitment,
    CommitmentOccurrence,
    Contract,
    Evidence,
    Organisation,
    ResponsibilityMatrixVersion,
    SlaPolicyVersion,
)
from disputes.models import Dispute
from evidence.models import ToolReport, ToolReportJob
from kpis.models import ImportJob, KpiSnapshot, Outage, Ticket
from reconciliation.models import MspReport
from reviews.models import Review
from scorecard.models import Assessment

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))

# The first path segment after /api/v1/ names the model whose ids a `{id}` stands for.
MODELS_BY_SEGMENT = {
    "audit-events": AuditEvent,
    "commitments": Commitment,
    "contracts": Contract,
    "disputes": Dispute,
    "evidence": Evidence,
    "imports": ImportJob,
    "kpi-snapshots": KpiSnapshot,
    "outages": Outage,
    "reviews": Review,
    "tickets": Ticket,
    "matrix-versions": ResponsibilityMatrixVersion,
    "occurrences": CommitmentOccurrence,
    "organisations": Organisation,
    "sla-policies": SlaPolicyVersion,
    "reported-figures": MspReport,
    "tool-reports": ToolReport,
    "tool-report-imports": ToolReportJob,
    "measured-occurrences": CommitmentOccurrence,
    "scorecards": Assessment,
}


# The ids each operation draws from, read once: an operation that deletes its row (a tool
# report's undo) would otherwise change the choices between examples, which hypothesis refuses
# as flaky data generation. An id deleted since is then simply a 404.
_IDS: dict[str, list[int]] = {}


def flatmap_path_parameters(context, path_parameters):
    """Half the time, replace a generated `{id}` with the id of a row that exists."""
    if not path_parameters or "id" not in path_parameters:
        return st.just(path_parameters)
    model = MODELS_BY_SEGMENT.get(context.operation.path.split("/")[3])
    operation = f"{context.operation.method} {context.operation.path}"
    if operation not in _IDS:
        _IDS[operation] = sorted(model.objects.values_list("pk", flat=True)[:50]) if model else []
    ids = _IDS[operation]
    if not ids:  # a route not mapped above is still tested, with generated ids only
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters["id"]), st.sampled_from(ids)).map(
        lambda id_: {**path_parameters, "id": id_}
    )


def _schema_document() -> dict:
    """The document /api/schema/ serves, made in-process by the same generator: the endpoint
    answers only to a logged-in caller, and no user exists yet when this module is collected."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


schema = schemathesis.openapi.from_dict(_schema_document())
schema.app = get_wsgi_application()
schema.location = "/api/schema/"
schema.hook(flatmap_path_parameters)


@pytest.fixture
def keep_test_connection():
    """Django's WSGI handler closes the database connection at the end of every request (the
    test client switches that off); here it would close the test's transaction, so the same is
    done for the requests schemathesis sends through the real handler."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Who sends each request is drawn with the request: what a persona may see and do differs
# (read-only members get 403 on writes, an advisor reads but imports nothing, another client's
# admin and another MSP's staff find nothing of Acme's), and every answer must keep to the
# schema. MSP staff, who can do the most, are drawn half the time, and shrinking goes to them.
PERSONAS = ["msp_staff"] * 5 + ["owner", "viewer", "outsider", "advisor", "rival_staff"]
# The second advisory firm's member and the other client's admin: two tenants of every kind.
PERSONAS += ["rival_advisor", "other_owner"]


@pytest.fixture
def tokens(world, keep_test_connection) -> dict[str, str]:
    """An API token for each persona, by the World attribute that names it."""
    cache.clear()  # the API throttle counts in Redis
    return {p: Token.objects.create(user=getattr(world, p)).key for p in set(PERSONAS)}


@pytest.fixture
def rows_of_every_kind(world):
    """Each contract's import with its tickets, outage, KPI snapshot and review with its PDF,
    so the read endpoints' detail routes and the PDF download are tried on real rows."""
    from .test_tenancy_walk import _target_objects

    for contract in (world.acme_contract, world.birch_contract, world.other_contract):
        _target_objects(contract)


@schema.parametrize()
@schema.given(persona=st.sampled_from(PERSONAS))
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_to_its_schema(case, persona, tokens, rows_of_every_kind):
    # Every check but these. DRF's pagination reads a malformed `limit` or `offset` as absent
    # (the first page) rather than a 400, by design. And whether a write is acceptable depends on
    # the state, which no schema can say: a client the caller may import for, a file that parses,
    # a completion date not in the future, a matrix side not yet approved, a persona allowed to
    # write at all.
    excluded = [negative_data_rejection]
    # Likewise new scorecard weights: they must add to 100%, which no schema can say.
    if case.method == "POST" or (case.method == "PATCH" and "/scorecards/" in case.path):
        excluded.append(positive_data_acceptance)
    case.call_and_validate(
        headers={"Authorization": f"Token {tokens[persona]}"}, excluded_checks=excluded
    )


# What schemathesis found, pinned as plain tests.


def test_filtering_by_another_tenants_id_looks_like_filtering_by_no_id(world):
    """A filter on a foreign key used to answer 400 for an id that does not exist and 200 for
    another tenant's: an outsider could tell which ids exist. Both now match nothing."""
    from .test_import_api import token_client

    api = token_client(world.msp_staff)
    missing = Contract.objects.order_by("-pk").first().pk + 1000
    for url in ("audit-event-list", "commitment-list", "sla-policy-list", "matrix-version-list"):
        answers = [
            api.get(reverse(url), {"contract": contract_id})
            for contract_id in (world.other_contract.pk, missing)
        ]
        assert [a.status_code for a in answers] == [200, 200], url
        assert [a.json()["count"] for a in answers] == [0, 0], url
    assert api.get(reverse("occurrence-list"), {"commitment__contract": missing}).status_code == 200
    assert api.get(reverse("evidence-list"), {"occurrence": missing}).status_code == 200
    # Still a filter: the caller's own contract narrows the list, and a non-number is a 400.
    own = api.get(reverse("commitment-list"), {"contract": world.acme_contract.pk}).json()
    assert own["count"] > 0
    assert {c["contract"] for c in own["results"]} == {world.acme_contract.pk}
    assert api.get(reverse("commitment-list"), {"contract": "x"}).status_code == 400


def test_a_contract_without_an_advisor_says_null_and_the_schema_allows_it(world, client_for):
    from .test_import_api import token_client

    body = token_client(world.outsider).get(reverse("contract-list")).json()  # Birch & Cole
    assert [c["advisor"] for c in body["results"]] == [None]
    schema = (
        client_for(world.outsider).get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    )
    contract = schema["components"]["schemas"]["Contract"]["properties"]
    assert contract["advisor"].get("nullable") is True


def test_an_id_that_is_not_a_number_is_a_json_404_not_a_server_error(world):
    from .test_import_api import token_client

    api = token_client(world.msp_staff)
    # The problems of an import used to look the id up themselves and fail on `null,null`.
    for path in ("/api/v1/imports/null,null/problems/", "/api/v1/imports/null,null/"):
        response = api.get(path)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), path
    # An id with a dot matches no API route at all: Django's 404, answered in JSON under /api/.
    response = api.get("/api/v1/contracts/0.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
    # Pages keep the HTML 404.
    assert "text/html" in api.get("/no-such-page/")["Content-Type"]


def test_a_limit_past_a_bigint_is_read_as_the_largest_page(world):
    from .test_import_api import token_client

    api = token_client(world.msp_staff)
    response = api.get(reverse("contract-list"), {"limit": 2**63, "offset": 2**63})
    assert response.status_code == 200
    assert api.get(reverse("contract-list"), {"limit": 2**63}).json()["count"] == 2


def test_a_body_in_a_media_type_not_taken_is_a_documented_415(world, client_for):
    from .test_import_api import token_client

    api = token_client(world.msp_staff)
    response = api.post(reverse("ticket-batch"), "client=x", content_type="text/plain")
    assert response.status_code == 415 and "detail" in response.json()
    schema = (
        client_for(world.outsider).get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    )
    assert "415" in schema["paths"]["/api/v1/tickets/batch/"]["post"]["responses"]


def test_a_nul_character_in_a_text_filter_is_documented_invalid_input(world):
    """Schemathesis sent client__slug=%00 as schema-valid; Django refuses NUL in lookups."""
    token = Token.objects.create(user=world.msp_staff).key
    answer = Client().get(
        "/api/v1/contracts/?client__slug=a%00b", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert answer.status_code == 400
    document = Client().get("/api/schema/?format=json", HTTP_AUTHORIZATION=f"Token {token}").json()
    parameters = document["paths"]["/api/v1/contracts/"]["get"]["parameters"]
    slug = next(p for p in parameters if p["name"] == "client__slug")
    assert slug["schema"]["pattern"] == "^[^\\x00]*$"
    assert "400" in document["paths"]["/api/v1/contracts/"]["get"]["responses"]
