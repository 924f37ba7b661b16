"""The provider scorecard through the API, on the scored world of tests/scorecard_support.py
(its figures are worked out by hand in tests/test_scorecard.py): Northwind, the incumbent, is
2.48 of 5 and Harbor Managed IT 2.68 with the weights 20/30/20/10/10/10. The client's admin and
the advisor read and change it; Northwind reads its own column only; other tenants see nothing.
"""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from scorecard.models import Answer, Candidate
from scorecard.services import assessment_ensure

from .scorecard_support import WEIGHTS, pdf_file, scored_world

LIST = "/api/v1/scorecards/"


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _scores(candidate: dict) -> dict:
    return {s["criterion"]: s for s in candidate["scores"]}


def test_the_scorecard_reads_as_the_comparison_page(world, client_for):
    assessment, _incumbent, _harbor = scored_world(world)
    body = token_client(world.owner).get(LIST, {"client": "acme-dental"}).json()
    assert [s["id"] for s in body["results"]] == [assessment.pk]
    card = body["results"][0]
    assert {w["criterion"]: w["weight"] for w in card["weights"]} == WEIGHTS
    assert [w["title"] for w in card["weights"]][:2] == ["Operating model", "Responsiveness"]
    northwind, harbor = card["candidates"]
    assert (northwind["name"], northwind["incumbent"], northwind["total"]) == (
        "Northwind IT Services",
        True,
        2.48,
    )
    assert (harbor["name"], harbor["incumbent"], harbor["total"]) == (
        "Harbor Managed IT",
        False,
        2.68,
    )
    responsiveness = _scores(northwind)["responsiveness"]
    # Response 17/18 = 94.4% → 4, resolution 12/18 = 66.7% → 0, escalation 60 min → 4: 2.7.
    assert (responsiveness["score"], responsiveness["measured"]) == (2.7, True)
    assert [
        (line["words"], line["score"], line["measured"]) for line in responsiveness["lines"]
    ] == [
        ("measured: Response SLA compliance 94.4% over 2026-Q1–Q2", 4, True),
        ("measured: Resolution SLA compliance 66.7% over 2026-Q1–Q2", 0, True),
        ("measured: Mean time to escalate 1 h over 2026-Q1–Q2", 4, True),
    ]
    mfa = _scores(northwind)["security"]["lines"][0]
    assert (mfa["question"], mfa["words"], mfa["score"], mfa["measured"]) == (
        "mfa",
        "answered yes, evidence attached",
        5,
        False,
    )
    stored = Answer.objects.get(candidate__is_incumbent=True, question="mfa")
    # The evidence page (a session's, as the comparison page links it) serves the file.
    assert mfa["evidence_url"] == reverse(
        "scorecard_answer_evidence", args=["acme-dental", stored.pk]
    )
    assert client_for(world.owner).get(mfa["evidence_url"]).status_code == 200
    assert not any(s["measured"] for s in harbor["scores"])
    assert token_client(world.advisor).get(f"{LIST}{assessment.pk}/").json() == card


def test_the_incumbent_sees_its_own_column_and_other_tenants_nothing(world):
    assessment, _incumbent, _harbor = scored_world(world)
    other = assessment_ensure(client=world.other, contract=world.other_contract)
    Candidate.objects.create(assessment=other, name="Zeta Systems")
    staff = token_client(world.msp_staff).get(f"{LIST}{assessment.pk}/").json()
    assert [c["name"] for c in staff["candidates"]] == ["Northwind IT Services"]
    pdf = token_client(world.msp_staff).get(f"{LIST}{assessment.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["Content-Type"] == "application/pdf"
    for stranger in (world.outsider, world.rival_staff, world.other_owner, world.rival_advisor):
        api = token_client(stranger)
        listed = {s["id"] for s in api.get(LIST, {"limit": 1000}).json()["results"]}
        assert assessment.pk not in listed
        for url in (f"{LIST}{assessment.pk}/", f"{LIST}{assessment.pk}/pdf/"):
            assert api.get(url).status_code == 404, (stranger, url)
        assert (
            api.patch(f"{LIST}{assessment.pk}/", {"weights": {}}, format="json").status_code == 404
        )
    # Rival MSP's client sees its own scorecard, with its newcomer.
    own = token_client(world.other_owner).get(LIST).json()["results"]
    assert [(s["id"], [c["name"] for c in s["candidates"]]) for s in own] == [
        (other.pk, ["Rival MSP", "Zeta Systems"])
    ]


def test_the_weights_are_changed_by_the_client_side_and_checked(world):
    assessment, _incumbent, _harbor = scored_world(world)
    url = f"{LIST}{assessment.pk}/"
    advisor = token_client(world.advisor)
    # Ten points from responsiveness to the operating model (30, 20, 20, 10, 10, 10):
    # Northwind 30 × 4.3 + 20 × 2.7 + 20 × 1.4 + 10 × 2.3 + 10 × 3.0 + 10 × 0 = 264 → 2.64;
    # Harbor 30 × 2.0 + 20 × 1.7 + 20 × 4.0 + 10 × 3.7 + 10 × 4.0 + 10 × 2.0 = 271 → 2.71.
    moved = {"operating_model": 30, "responsiveness": 20}
    response = advisor.patch(url, {"weights": moved}, format="json")
    assert response.status_code == 200, response.content
    assert [c["total"] for c in response.json()["candidates"]] == [2.64, 2.71]
    assessment.refresh_from_db()
    assert assessment.weights == {**WEIGHTS, **moved}
    refused = token_client(world.owner).patch(url, {"weights": {"fit": 20}}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"weights": ["The weights add to 110%; they must add to 100%."]}
    out_of_range = advisor.patch(url, {"weights": {"fit": 101}}, format="json")
    assert out_of_range.status_code == 400 and "fit" in out_of_range.json()["weights"]
    for reader in (world.viewer, world.msp_staff):
        assert token_client(reader).patch(url, {"weights": moved}, format="json").status_code == 403
    assessment.refresh_from_db()
    assert assessment.weights == {**WEIGHTS, **moved}


def test_an_answer_is_stored_with_its_evidence_and_scored(world):
    assessment, _incumbent, harbor = scored_world(world)
    url = f"{LIST}{assessment.pk}/answers/"
    owner = token_client(world.owner)
    body = {"candidate": harbor.pk, "question": "break_glass", "answer": "yes", "note": "sealed"}
    response = owner.post(url, {**body, "evidence": pdf_file("glass.pdf")}, format="multipart")
    assert response.status_code == 200, response.content
    # Security: four yes without a file (4 each) and this one with a file (5): 21 / 5 = 4.2.
    assert _scores(response.json()["candidates"][1])["security"]["score"] == 4.2
    stored = Answer.objects.get(candidate=harbor, question="break_glass")
    assert (stored.answer, stored.note, stored.evidence_name) == ("yes", "sealed", "glass.pdf")
    # JSON without a file; an empty answer clears it.
    cleared = owner.post(url, {**body, "answer": ""}, format="json")
    assert cleared.status_code == 200
    assert not Answer.objects.filter(candidate=harbor, question="break_glass").exists()


def test_a_bad_answer_is_refused_naming_the_field_and_nothing_changes(world):
    assessment, _incumbent, harbor = scored_world(world)
    other = assessment_ensure(client=world.other, contract=world.other_contract)
    url = f"{LIST}{assessment.pk}/answers/"
    advisor = token_client(world.advisor)
    good = {"candidate": harbor.pk, "question": "break_glass", "answer": "yes"}
    cases = [
        ({**good, "question": "horoscope"}, "question", '"horoscope" is not a valid choice.'),
        ({**good, "answer": "maybe"}, "answer", '"maybe" is not a valid choice.'),
        (
            {**good, "candidate": other.candidates.get().pk},
            "candidate",
            "No candidate of this scorecard has this id.",
        ),
    ]
    before = list(Answer.objects.order_by("pk").values_list("pk", "answer", "note"))
    for body, field, words in cases:
        response = advisor.post(url, body, format="json")
        assert response.status_code == 400
        assert response.json()[field] == [words]
    bad = SimpleUploadedFile("glass.exe", b"MZ\x90\x00 not a document", "application/octet-stream")
    refused = advisor.post(url, {**good, "evidence": bad}, format="multipart")
    assert refused.status_code == 400
    assert refused.json()["evidence"][0].startswith("Break-glass accounts exist, sealed")
    for reader in (world.viewer, world.msp_staff):
        assert token_client(reader).post(url, good, format="json").status_code == 403
    assert list(Answer.objects.order_by("pk").values_list("pk", "answer", "note")) == before
