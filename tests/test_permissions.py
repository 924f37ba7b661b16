"""Within what a person can see, their role decides what they may change: 403 otherwise."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contracts.models import Evidence
from contracts.services.commitments import contract_today


def open_occurrence(contract):
    today = contract_today(contract)
    return (
        contract.commitments.get(name="Backup restore test")
        .occurrences.filter(completed_on__isnull=True, due_date__lt=today)
        .first()
    )


def page_writes(world):
    contract, slug = world.acme_contract, world.acme.slug
    occ = open_occurrence(contract)
    version = contract.current_matrix()
    return [
        (reverse("contract_matrix_approve", args=[slug, contract.pk, version.pk, "client"]), {}),
        (reverse("contract_matrix_approve", args=[slug, contract.pk, version.pk, "msp"]), {}),
        (
            reverse("occurrence_complete", args=[slug, contract.pk, occ.pk]),
            {"completed_on": occ.due_date.isoformat()},
        ),
        (
            reverse("evidence_upload", args=[slug, contract.pk, occ.pk]),
            {"file": SimpleUploadedFile("r.pdf", b"%PDF-1.4 x", "application/pdf")},
        ),
    ]


def api_writes(world):
    contract = world.acme_contract
    occ = open_occurrence(contract)
    version = contract.current_matrix()
    return [
        (reverse("matrix-version-approve", args=[version.pk]), {"side": "client"}),
        (reverse("matrix-version-approve", args=[version.pk]), {"side": "msp"}),
        (reverse("occurrence-complete", args=[occ.pk]), {"completed_on": occ.due_date.isoformat()}),
        (
            reverse("occurrence-evidence", args=[occ.pk]),
            {"file": SimpleUploadedFile("r.pdf", b"%PDF-1.4 x", "application/pdf")},
        ),
    ]


def test_a_read_only_member_can_read_but_gets_403_on_every_write(world, client_for):
    client = client_for(world.viewer)
    contract_url = reverse("contract_detail", args=[world.acme.slug, world.acme_contract.pk])
    assert client.get(contract_url).status_code == 200
    for url, data in page_writes(world) + api_writes(world):
        assert client.post(url, data).status_code == 403, url
    assert (
        Evidence.objects.filter(occurrence__commitment__contract=world.acme_contract).count() == 1
    )


def _gapless_proposal(world):
    """A matrix version both sides may approve (the demo's has gaps: approving it is refused)."""
    import yaml

    from tests.conftest import apply_yaml_text, demo_document, without_gaps

    apply_yaml_text(yaml.safe_dump(without_gaps(demo_document("acme-dental.yaml"))))
    return world.acme_contract.current_matrix()


def test_the_owner_approves_for_the_client_but_not_for_the_msp(world, client_for):
    client = client_for(world.owner)
    version = _gapless_proposal(world)
    base = [world.acme.slug, world.acme_contract.pk, version.pk]
    assert client.post(reverse("contract_matrix_approve", args=[*base, "msp"])).status_code == 403
    response = client.post(reverse("contract_matrix_approve", args=[*base, "client"]))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.client_approved_by == world.owner and version.msp_approved_at is None


def test_msp_staff_approve_for_the_msp_only(world, client_for):
    client = client_for(world.msp_staff)
    version = _gapless_proposal(world)
    url = reverse("matrix-version-approve", args=[version.pk])
    assert client.post(url, {"side": "client"}).status_code == 403
    response = client.post(url, {"side": "msp"})
    assert response.status_code == 200
    assert response.json()["msp_approved_by"] == str(world.msp_staff)


def test_an_advisor_approves_for_neither_side(world, client_for):
    client = client_for(world.advisor)
    version = world.acme_contract.current_matrix()
    url = reverse("matrix-version-approve", args=[version.pk])
    for side in ("client", "msp"):
        assert client.post(url, {"side": side}).status_code == 403


def test_an_older_matrix_version_cannot_be_approved(world, client_for):
    import yaml

    from tests.conftest import apply_yaml_text, demo_document

    old = world.acme_contract.current_matrix()
    doc = demo_document("acme-dental.yaml")
    doc["responsibilities"][6]["split"] = "MSP runs the CAB; client approves"
    apply_yaml_text(yaml.safe_dump(doc))
    response = client_for(world.owner).post(
        reverse("matrix-version-approve", args=[old.pk]), {"side": "client"}
    )
    assert response.status_code == 400
    old.refresh_from_db()
    assert old.client_approved_at is None


def test_completion_in_the_future_is_refused(world, client_for):
    occ = open_occurrence(world.acme_contract)
    tomorrow = contract_today(world.acme_contract) + timedelta(days=1)
    response = client_for(world.msp_staff).post(
        reverse("occurrence-complete", args=[occ.pk]), {"completed_on": tomorrow.isoformat()}
    )
    assert response.status_code == 400
    assert "completed_on" in response.json()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("report.exe", b"MZ\x90\x00", "files of type '.exe' are not accepted"),
        ("report.pdf", b"<html>not a pdf</html>", "the content is not a PDF file"),
        ("notes.txt", b"\x00\x01binary", "the content is not UTF-8 text"),
        ("empty.pdf", b"", "the file is empty"),
    ],
)
def test_evidence_is_checked_by_content_and_bad_files_are_explained(
    world, client_for, name, content, reason
):
    occ = open_occurrence(world.acme_contract)
    client = client_for(world.msp_staff)
    url = reverse("evidence_upload", args=[world.acme.slug, world.acme_contract.pk, occ.pk])
    response = client.post(url, {"file": SimpleUploadedFile(name, content)}, follow=True)
    assert reason in html.unescape(response.content.decode())
    assert not occ.evidence.exists()


def test_evidence_over_the_size_limit_is_refused(world, client_for, settings):
    settings.EVIDENCE_MAX_BYTES = 100
    occ = open_occurrence(world.acme_contract)
    response = client_for(world.msp_staff).post(
        reverse("occurrence-evidence", args=[occ.pk]),
        {"file": SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 200)},
    )
    assert response.status_code == 400
    assert "over the limit of 100 bytes" in response.json()["file"][0]


def test_uploaded_evidence_is_stored_under_a_random_name_and_downloads_intact(world, client_for):
    occ = open_occurrence(world.acme_contract)
    client = client_for(world.msp_staff)
    body = b"%PDF-1.7 restore test passed"
    response = client.post(
        reverse("occurrence-evidence", args=[occ.pk]),
        {"file": SimpleUploadedFile("../../etc/passwd.pdf", body)},
    )
    assert response.status_code == 201, response.content
    item = Evidence.objects.get(pk=response.json()["id"])
    assert item.original_name == "passwd.pdf"
    assert "passwd" not in item.file.name and ".." not in item.file.name
    download = client_for(world.owner).get(
        reverse("evidence_download", args=[world.acme.slug, world.acme_contract.pk, item.pk])
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == body
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "application/pdf"
