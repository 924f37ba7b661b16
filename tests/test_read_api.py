"""The read API: KPI snapshots with exactly the figures `kpi_report` prints, tickets with their
clocks and verdicts, reviews and their PDFs, outages; each scoped to what the caller may see,
filtered, paginated, and read in a bounded number of queries."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse

from kpis.metrics.period import Period
from kpis.metrics.registry import KEYS_IN_ORDER
from kpis.models import (
    KpiSnapshot,
    Outage,
    RecomputeRequest,
    Ticket,
    TicketClock,
    TicketEvent,
)
from reviews.models import Review

from .test_import_api import token_client


def kpi_report_json(slug: str, period: str) -> dict:
    out = io.StringIO()
    call_command(
        "kpi_report",
        "--client",
        slug,
        "--period",
        period,
        "--format",
        "json",
        stdout=out,
        stderr=io.StringIO(),
    )
    return json.loads(out.getvalue())


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- KPI snapshots ----------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["2025-Q3", "2025-08", "2025"])
def test_a_snapshot_answers_exactly_what_kpi_report_prints(acme, period):
    printed = kpi_report_json("acme-dental", period)
    api = token_client(acme.owner)
    [snapshot] = results(
        api.get(reverse("kpi-snapshot-list"), {"client": "acme-dental", "period": period})
    )
    assert snapshot["figures"] == printed
    assert list(snapshot["figures"]) == list(printed) == KEYS_IN_ORDER
    assert (snapshot["client"], snapshot["period"], snapshot["stale"]) == (
        "acme-dental",
        period,
        False,
    )
    stored = KpiSnapshot.objects.get(client=acme.acme, period_label=period)
    assert snapshot["period_kind"] == stored.period_kind
    assert snapshot["computed_at"].replace("Z", "+00:00") == stored.computed_at.isoformat()
    one = api.get(reverse("kpi-snapshot-detail", args=[stored.pk])).json()
    assert one == snapshot


def test_a_snapshot_an_import_changed_since_says_it_is_stale_and_is_not_computed(acme):
    """kpi_report recomputes stale months before printing; a GET does not compute: it says so."""
    RecomputeRequest.objects.create(client=acme.acme, month=date(2025, 8, 1))
    api = token_client(acme.owner)
    answer = results(api.get(reverse("kpi-snapshot-list"), {"client": "acme-dental"}))
    stale = {s["period"] for s in answer if s["stale"]}
    assert stale == {"2025-08", "2025-Q3", "2025"}
    assert RecomputeRequest.objects.filter(client=acme.acme).count() == 1  # nothing computed


def test_snapshots_filter_by_kind_and_leave_out_other_clients(acme):
    api = token_client(acme.msp_staff)  # Northwind: Acme's and Birch & Cole's MSP
    quarters = results(api.get(reverse("kpi-snapshot-list"), {"period_kind": "quarter"}))
    assert quarters and {s["period_kind"] for s in quarters} == {"quarter"}
    assert set(KpiSnapshot.objects.values_list("period_kind", flat=True)) > {"quarter"}
    rival = token_client(acme.rival_staff)
    assert results(rival.get(reverse("kpi-snapshot-list"), {"client": "acme-dental"})) == []
    refused = api.get(reverse("kpi-snapshot-list"), {"period": "2025-13"})
    assert refused.status_code == 400
    assert "period" in refused.json()


# --- Tickets ----------------------------------------------------------------------------------


def test_tickets_filter_by_client_period_priority_and_verdict_with_their_clocks(acme):
    api = token_client(acme.owner)
    query = {"client": "acme-dental", "period": "2025-Q3", "priority": "P2", "verdict": "breached"}
    listed = results(api.get(reverse("ticket-list"), {**query, "limit": 1000}))
    period = Period.parse("2025-Q3", acme.acme_contract.timezone)
    expected = Ticket.objects.filter(
        client=acme.acme,
        priority="P2",
        clock__resolution_verdict="breached",
        created_at__gte=period.start.replace(tzinfo=UTC),
        created_at__lt=period.end.replace(tzinfo=UTC),
    )
    assert listed, "the sample has breached P2 tickets in 2025-Q3: the check would prove nothing"
    assert sorted(t["id"] for t in listed) == sorted(expected.values_list("pk", flat=True))
    ticket = listed[0]
    clock = Ticket.objects.get(pk=ticket["id"]).clock
    assert ticket["clock"] == {
        "response_seconds": clock.response_seconds,
        "resolution_seconds": clock.resolution_seconds,
        "response_target_seconds": clock.response_target_seconds,
        "resolution_target_seconds": clock.resolution_target_seconds,
        "response_verdict": clock.response_verdict,
        "resolution_verdict": "breached",
        "no_verdict_reason": clock.no_verdict_reason,
        "policy_version": clock.policy_version_id,
        "matrix_version": clock.matrix_version_id,
        "resolution_breached_at": clock.resolution_breached_at.isoformat().replace("+00:00", "Z"),
        "computed_at": clock.computed_at.isoformat().replace("+00:00", "Z"),
    }
    assert clock.policy_version_id is not None


def test_tickets_without_a_verdict_say_why(acme):
    ticket = Ticket.objects.filter(client=acme.acme).first()
    TicketClock.objects.filter(ticket=ticket).update(
        response_verdict="", resolution_verdict="", no_verdict_reason="cancelled or merged"
    )
    api = token_client(acme.owner)
    [listed] = results(api.get(reverse("ticket-list"), {"verdict": "none"}))
    assert (listed["id"], listed["clock"]["no_verdict_reason"]) == (
        ticket.pk,
        "cancelled or merged",
    )
    response = results(api.get(reverse("ticket-list"), {"response_verdict": "none"}))
    assert [t["id"] for t in response] == [ticket.pk]


def test_a_ticket_comes_with_its_status_history(acme):
    ticket = Ticket.objects.filter(client=acme.acme).first()
    for position, status in enumerate(["New", "Waiting on client", "Resolved"]):
        TicketEvent.objects.create(
            client=acme.acme,
            ticket=ticket,
            position=position,
            at=datetime(2025, 7, 1, 9 + position, tzinfo=UTC),
            status_raw=status,
        )
    answer = token_client(acme.viewer).get(reverse("ticket-detail", args=[ticket.pk])).json()
    assert [e["status_raw"] for e in answer["history"]] == ["New", "Waiting on client", "Resolved"]
    assert answer["external_id"] == ticket.external_id and "clock" in answer


def test_lists_read_a_bounded_number_of_queries(acme, django_assert_max_num_queries):
    """No query per row: a page of 5 and a page of 500 cost the same few queries."""
    api = token_client(acme.msp_staff)
    RecomputeRequest.objects.create(client=acme.acme, month=date(2025, 8, 1))
    for day in range(1, 8):  # rows on every list, each with what its serializer reads
        _outage(acme.acme, f"Service {day}", day, day)
    for number in range(1, 5):
        review = _review(acme.acme_contract, f"2024-Q{number}", "published", b"%PDF-1.4")
        Review.objects.filter(pk=review.pk).update(published_by=acme.msp_staff)
    for name, query in (
        ("ticket-list", {"client": "acme-dental", "period": "2025-Q3"}),
        ("kpi-snapshot-list", {}),
        ("outage-list", {}),
        ("review-list", {}),
    ):
        for limit in (5, 500):
            with django_assert_max_num_queries(8):
                assert api.get(reverse(name), {**query, "limit": limit}).status_code == 200


# --- Outages ----------------------------------------------------------------------------------


def _outage(client, service, start_day, end_day, **extra):
    return Outage.objects.create(
        client=client,
        service=service,
        started_at=datetime(2025, 7, start_day, 10, tzinfo=UTC),
        ended_at=datetime(2025, 7, end_day, 12, tzinfo=UTC) if end_day else None,
        **extra,
    )


def test_outages_filter_by_client_service_and_dates(world):
    email = _outage(world.acme, "Email", 1, 1)
    files = _outage(world.acme, "File server", 10, 11, planned=True)
    still_down = _outage(world.acme, "Email", 20, None)
    _outage(world.birch, "Email", 10, 10)
    other = _outage(world.other, "Email", 10, 10)
    api = token_client(world.owner)  # Acme's admin
    ids = {o["id"] for o in results(api.get(reverse("outage-list")))}
    assert ids == {email.pk, files.pk, still_down.pk}
    mail = results(api.get(reverse("outage-list"), {"service": "Email"}))
    assert {o["id"] for o in mail} == {email.pk, still_down.pk}
    window = {"since": "2025-07-05T00:00:00Z", "until": "2025-07-25"}
    assert {o["id"] for o in results(api.get(reverse("outage-list"), window))} == {
        files.pk,
        still_down.pk,
    }
    assert results(api.get(reverse("outage-list"), {"planned": "true"}))[0]["id"] == files.pk
    staff = token_client(world.msp_staff)
    assert {o["client"] for o in results(staff.get(reverse("outage-list")))} == {
        "acme-dental",
        "birch-cole-law",
    }
    assert staff.get(reverse("outage-detail", args=[other.pk])).status_code == 404


# --- Reviews ----------------------------------------------------------------------------------


def _review(contract, quarter, status, pdf: bytes | None = None) -> Review:
    review = Review.objects.create(
        client=contract.client, contract=contract, quarter=quarter, status=status, frozen={}
    )
    if pdf is not None:
        review.pdf.save("board.pdf", ContentFile(pdf))
        Review.objects.filter(pk=review.pk).update(pdf_status=Review.PdfStatus.DONE)
    return review


def test_reviews_list_drafts_and_published_to_every_party_and_download_the_pdf(world):
    published = _review(world.acme_contract, "2025-Q2", "published", b"%PDF-1.4 board pack")
    draft = _review(world.acme_contract, "2025-Q3", "draft")
    rival = _review(world.other_contract, "2025-Q3", "published", b"%PDF-1.4 rival pack")
    apis = {p: token_client(getattr(world, p)) for p in ("owner", "viewer", "msp_staff", "advisor")}
    for persona, api in apis.items():
        listed = results(api.get(reverse("review-list"), {"client": "acme-dental"}))
        assert {r["id"] for r in listed} == {published.pk, draft.pk}, persona
        assert api.get(reverse("review-detail", args=[rival.pk])).status_code == 404, persona
        assert api.get(reverse("review-pdf", args=[rival.pk])).status_code == 404, persona
    api = apis["viewer"]
    only = results(api.get(reverse("review-list"), {"status": "published"}))
    assert [r["id"] for r in only] == [published.pk]
    assert only[0]["pdf_url"].endswith(reverse("review-pdf", args=[published.pk]))
    download = api.get(only[0]["pdf_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == b"%PDF-1.4 board pack"
    no_pdf = api.get(reverse("review-pdf", args=[draft.pk]))
    assert no_pdf.status_code == 404 and no_pdf.json()["detail"]
    assert results(api.get(reverse("review-list"), {"status": "draft"}))[0]["pdf_url"] is None


# --- The schema -------------------------------------------------------------------------------


def test_the_read_endpoints_are_in_the_schema_with_their_answers_described(world, client_for):
    schema = (
        client_for(world.owner).get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    )
    for path in (
        "/api/v1/kpi-snapshots/",
        "/api/v1/kpi-snapshots/{id}/",
        "/api/v1/tickets/",
        "/api/v1/tickets/{id}/",
        "/api/v1/outages/",
        "/api/v1/outages/{id}/",
        "/api/v1/reviews/",
        "/api/v1/reviews/{id}/",
        "/api/v1/reviews/{id}/pdf/",
    ):
        assert list(schema["paths"][path]) == ["get"], path
    components = schema["components"]["schemas"]
    figures = components["KpiSnapshot"]["properties"]["figures"]
    assert list(figures["properties"]) == KEYS_IN_ORDER
    assert "resolution_breached_at" in components["TicketClock"]["properties"]
    assert "history" in components["TicketDetail"]["properties"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/tickets/"]["get"]["parameters"]}
    assert {"client", "period", "priority", "verdict", "limit", "offset"} <= parameters
    pdf = schema["paths"]["/api/v1/reviews/{id}/pdf/"]["get"]["responses"]["200"]
    assert list(pdf["content"]) == ["application/pdf"]
