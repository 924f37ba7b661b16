"""Imports through the API with a token, run by a real Celery worker; tenancy on the way in."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kpis.models import ImportJob, KpiSnapshot, Ticket
from msp_portal.celery import app

SAMPLES = Path(__file__).parent / "data" / "samples"


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def wait_finished(api: APIClient, job_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(reverse("import-detail", args=[job_id])).json()
        if body["progress"]["finished"]:
            return body
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} did not finish: {body}")


@pytest.mark.django_db(transaction=True)
def test_msp_staff_upload_an_export_with_a_token_and_a_worker_imports_it(world):
    api = token_client(world.msp_staff)
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        with (SAMPLES / "zendesk_tickets.csv").open("rb") as handle:
            response = api.post(
                reverse("import-upload"),
                {"file": handle, "client": world.acme.slug, "preset": "zendesk"},
                format="multipart",
            )
        assert response.status_code == 202, response.content
        body = wait_finished(api, response.json()["id"])
        # The worker recomputes the client's KPIs once the import has committed.
        deadline = time.monotonic() + 60
        while not KpiSnapshot.objects.filter(client=world.acme).exists():
            assert time.monotonic() < deadline, "no KPI recompute after the import"
            time.sleep(0.3)
    assert body["status"] == "done"
    assert (body["created"], body["rejected"]) == (2078, 0)
    assert Ticket.objects.filter(client=world.acme, source_system="zendesk").count() == 2078
    assert body["msp"] == "northwind-it" and body["client"] == "acme-dental"


@pytest.mark.django_db(transaction=True)
def test_a_json_batch_goes_through_the_same_checks(world):
    api = token_client(world.msp_staff)
    tickets = [
        {
            "external_id": "RMM-1",
            "title": "Disk full on SRV01",
            "priority": "P2",
            "origin": "RMM alert",
            "created_at": "2025-09-01T14:00:00Z",
            "resolved_at": "2025-09-01T16:30:00Z",
        },
        {
            "external_id": "RMM-2",
            "title": "Backup failed",
            "priority": "P1",
            "created_at": "2025-09-02T08:00:00Z",
            "resolved_at": "2025-09-01T08:00:00Z",
        },
    ]
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        response = api.post(
            reverse("ticket-batch"),
            {"client": world.acme.slug, "source_name": "rmm-push", "tickets": tickets},
            format="json",
        )
        assert response.status_code == 202, response.content
        body = wait_finished(api, response.json()["id"])
    assert (body["created"], body["rejected"]) == (1, 1)
    ticket = Ticket.objects.get(external_id="RMM-1")
    assert (ticket.priority, ticket.origin) == ("P2", "proactive")
    problems = api.get(reverse("import-problems", args=[body["id"]])).json()["results"]
    assert problems[0]["reason"] == "resolved before it was created"


def test_an_msp_cannot_import_into_a_client_it_has_no_contract_with(world):
    api = token_client(world.rival_staff)
    with (SAMPLES / "halopsa_tickets.csv").open("rb") as handle:
        response = api.post(
            reverse("import-upload"),
            {"file": handle, "client": world.acme.slug},
            format="multipart",
        )
    assert response.status_code == 400
    assert response.json() == {"client": ["no client you may import tickets for has this slug"]}
    batch = api.post(
        reverse("ticket-batch"),
        {"client": world.acme.slug, "tickets": [{"external_id": "1"}]},
        format="json",
    )
    assert batch.status_code == 400
    assert ImportJob.objects.count() == 0 and Ticket.objects.count() == 0


@pytest.mark.parametrize("persona", ["owner", "viewer"])
def test_client_members_read_imports_but_do_not_upload(world, persona):
    api = token_client(getattr(world, persona))
    with (SAMPLES / "halopsa_tickets.csv").open("rb") as handle:
        response = api.post(
            reverse("import-upload"),
            {"file": handle, "client": world.acme.slug},
            format="multipart",
        )
    assert response.status_code == 400
    assert api.get(reverse("import-list")).status_code == 200


def test_a_bad_mapping_is_rejected_naming_the_key(world):
    api = token_client(world.msp_staff)
    with (SAMPLES / "halopsa_tickets.csv").open("rb") as handle:
        response = api.post(
            reverse("import-upload"),
            {
                "file": handle,
                "client": world.acme.slug,
                "mapping": json.dumps({"preset": "halopsa", "columns": {"external_id": "nope"}}),
            },
            format="multipart",
        )
    assert response.status_code == 400
    assert "mapping.columns.external_id: the file has no column 'nope'" in str(response.json())
