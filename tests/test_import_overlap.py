"""The same tickets from a second source are not counted twice: an import whose tickets match
another source's stops before storing and asks (kpis/imports/overlap.py)."""

from __future__ import annotations

import re

import pytest
from django.core.management import CommandError

from kpis.models import ImportJob, ImportUndoRow, Ticket

from .test_import import SAMPLES, run_import

CW = SAMPLES / "connectwise_service_tickets.csv"
HALO = SAMPLES / "halopsa_tickets.csv"


def _sources(client) -> dict[str, int]:
    counts: dict[str, int] = {}
    for source in Ticket.objects.filter(client=client).values_list("source_system", flat=True):
        counts[source] = counts.get(source, 0) + 1
    return counts


def test_halopsa_after_connectwise_is_refused_naming_the_import_its_source_and_dates(world):
    run_import(CW, world.acme.slug, "--no-recompute")
    first = ImportJob.objects.get()
    with pytest.raises(CommandError) as refused:
        run_import(HALO, world.acme.slug, "--no-recompute")
    message = str(refused.value)
    assert f"import {first.pk} (connectwise_service_tickets.csv)" in message
    assert "ConnectWise" in message
    assert re.search(r"created 2025-07-\d\d to 2026-06-\d\d", message), message
    assert "--on-overlap=import" in message and "--on-overlap=replace" in message
    # Not 4,156 tickets: nothing of the second file was stored.
    assert _sources(world.acme) == {"connectwise": 2077}
    second = ImportJob.objects.exclude(pk=first.pk).get()
    assert second.status == ImportJob.Status.CANCELLED
    assert second.overlap["matched"] >= 2000 and second.overlap["total"] == 2078
    assert second.overlap["sources"][0]["imports"][0]["id"] == first.pk


def test_the_same_source_again_is_no_overlap(world):
    run_import(CW, world.acme.slug, "--no-recompute")
    counts, _ = run_import(CW, world.acme.slug, "--no-recompute")
    assert counts["unchanged"] == 2077
    assert ImportJob.objects.filter(status=ImportJob.Status.DONE).count() == 2


def test_other_clients_tickets_are_no_overlap(world):
    run_import(CW, world.birch.slug, "--no-recompute")
    counts, _ = run_import(HALO, world.acme.slug, "--no-recompute")
    assert counts["created"] == 2078


def test_import_anyway_stores_both_sources(world):
    run_import(CW, world.acme.slug, "--no-recompute")
    counts, _ = run_import(HALO, world.acme.slug, "--no-recompute", "--on-overlap=import")
    assert counts["created"] == 2078
    assert _sources(world.acme) == {"connectwise": 2077, "halopsa": 2078}


def test_replace_deletes_the_other_sources_tickets_in_the_overlapping_dates(world, tmp_path):
    run_import(CW, world.acme.slug, "--no-recompute")
    # The HaloPSA export of the tickets opened in 2025: ConnectWise keeps the later ones.
    lines = HALO.read_text().splitlines(keepends=True)
    kept = [line for line in lines[1:] if line.split(",")[14].startswith("2025-")]
    part = tmp_path / "halopsa_2025.csv"
    part.write_text("".join([lines[0], *kept]))
    counts, _ = run_import(part, world.acme.slug, "--no-recompute", "--on-overlap=replace")
    assert counts["created"] == len(kept) > 500
    replacing = ImportJob.objects.order_by("-pk").first()
    facts = replacing.overlap["sources"][0]
    deleted = ImportUndoRow.objects.filter(job=replacing, action="deleted").count()
    assert deleted == facts["in_range"]
    assert abs(deleted - len(kept)) <= 2  # the impossible date and the duplicate of ConnectWise
    assert _sources(world.acme) == {"connectwise": 2077 - deleted, "halopsa": len(kept)}
    # Every ConnectWise ticket created within the dates the matches span is gone, no other.
    left = Ticket.objects.filter(client=world.acme, source_system="connectwise")
    assert not left.filter(created_at__gte=facts["first"], created_at__lte=facts["last"]).exists()
    assert not left.filter(created_at__lt=facts["first"]).exists()


def test_the_api_answers_409_with_the_facts_and_takes_the_choice_when_resent(world):
    from django.urls import reverse

    from kpis.imports.services import import_run

    from .test_import_api import token_client

    run_import(CW, world.acme.slug, "--no-recompute")
    first = ImportJob.objects.get()
    api = token_client(world.msp_staff)

    def upload(**extra):
        with HALO.open("rb") as handle:
            return api.post(
                reverse("import-upload"),
                {"file": handle, "client": world.acme.slug, **extra},
                format="multipart",
            )

    refused = upload()
    assert refused.status_code == 409, refused.content
    body = refused.json()
    source = body["overlap"]["sources"][0]
    assert (source["source"], source["imports"][0]["id"]) == ("connectwise", first.pk)
    assert source["first_day"].startswith("2025-07") and source["last_day"].startswith("2026-06")
    assert f"import {first.pk} (connectwise_service_tickets.csv)" in body["detail"]
    assert "on_overlap" in body["resend"] and set(body["choices"]) == {"import", "replace"}
    assert ImportJob.objects.get(pk=body["import"]).status == ImportJob.Status.CANCELLED
    assert _sources(world.acme) == {"connectwise": 2077}

    resent = upload(on_overlap="replace")
    assert resent.status_code == 202, resent.content
    job = import_run(resent.json()["id"])  # what the worker runs
    assert (job.status, job.created) == (ImportJob.Status.DONE, 2078)
    assert _sources(world.acme) == {"halopsa": 2078}
