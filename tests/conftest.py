"""Personas and a two-tenant world, built through the same services the product uses.

The world: Acme Dental (client) ← Northwind IT (MSP), reviewed by Clearview (advisor), from the
demo contract file; Birch & Cole Law ← Northwind; and a rival tenant, Other Co ← Rival MSP, that
Northwind staff must never see. Each contract has a commitment occurrence with evidence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, settings

from contracts.contract_file import contract_file_parse
from contracts.models import Contract, Membership, Organisation
from contracts.services.commitments import evidence_add
from contracts.services.contract_apply import contract_apply

from . import browser as browser_support

DEMO = Path(__file__).resolve().parent.parent / "contracts" / "demo"

# `make fuzz` picks the fuzz profile (HYPOTHESIS_PROFILE=fuzz): tests/test_fuzz_parsers.py then
# runs each property this many times. Without the variable hypothesis keeps its own defaults,
# so no other test changes.
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "5000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
PASSWORD = "correct-horse-battery-staple"


def apply_yaml_text(text: str, **kwargs):
    return contract_apply(data=contract_file_parse(text), **kwargs)


def demo_document(name: str) -> dict:
    return yaml.safe_load((DEMO / name).read_text())


def rival_document() -> dict:
    """A third tenant: another client with another MSP, and no link to Northwind."""
    doc = demo_document("birch-cole-law.yaml")
    doc["client"] = {"slug": "other-co", "name": "Other Co", "seats": {"users": 5, "devices": 5}}
    doc["msp"] = {"slug": "rival-msp", "name": "Rival MSP"}
    doc["contract"]["name"] = "Rival support"
    return doc


@dataclass
class World:
    acme: Organisation
    birch: Organisation
    other: Organisation
    northwind: Organisation
    clearview: Organisation
    rival_msp: Organisation
    acme_contract: Contract
    birch_contract: Contract
    other_contract: Contract
    owner: object
    viewer: object
    outsider: object  # admin of Birch & Cole: a client of the same MSP, not of Acme
    msp_staff: object
    advisor: object
    rival_staff: object  # member of another MSP altogether
    # Two tenants of every kind: a second advisory firm, advising the rival contract, and the
    # other client's own admin (set by _second_tenants_add).
    rival_advisory: Organisation | None = None
    rival_advisor: object = None  # member of Rival Advisory, which advises Other Co only
    other_owner: object = None  # admin of Other Co, the rival MSP's client


def make_user(django_user_model, email, org, role, *, totp=False):
    user = django_user_model.objects.create_user(email=email, password=PASSWORD)
    Membership.objects.create(user=user, organisation=org, role=role)
    if totp:
        TOTP.activate(user, generate_totp_secret())
    return user


def _with_evidence(contract: Contract, user) -> None:
    commitment = contract.commitments.filter(evidence_required=True).first()
    occurrence = commitment.occurrences.order_by("period_start").first()
    occurrence.completed_on = occurrence.due_date
    occurrence.save()
    evidence_add(
        occurrence=occurrence,
        actor=user,
        source="command",
        upload=SimpleUploadedFile("report.pdf", b"%PDF-1.4 restore test report", "application/pdf"),
    )


@pytest.fixture
def world(db, django_user_model) -> World:
    for name in ("acme-dental.yaml", "birch-cole-law.yaml"):
        apply_yaml_text((DEMO / name).read_text())
    apply_yaml_text(yaml.safe_dump(rival_document()))
    orgs = {o.slug: o for o in Organisation.objects.all()}
    role = Membership.Role
    w = World(
        acme=orgs["acme-dental"],
        birch=orgs["birch-cole-law"],
        other=orgs["other-co"],
        northwind=orgs["northwind-it"],
        clearview=orgs["clearview-advisory"],
        rival_msp=orgs["rival-msp"],
        acme_contract=Contract.objects.get(client__slug="acme-dental"),
        birch_contract=Contract.objects.get(client__slug="birch-cole-law"),
        other_contract=Contract.objects.get(client__slug="other-co"),
        owner=make_user(django_user_model, "owner@acme.test", orgs["acme-dental"], role.ADMIN),
        viewer=make_user(
            django_user_model, "viewer@acme.test", orgs["acme-dental"], role.READ_ONLY
        ),
        outsider=make_user(
            django_user_model, "owner@birch.test", orgs["birch-cole-law"], role.ADMIN
        ),
        msp_staff=make_user(
            django_user_model, "staff@northwind.test", orgs["northwind-it"], role.MEMBER, totp=True
        ),
        advisor=make_user(
            django_user_model,
            "advisor@clearview.test",
            orgs["clearview-advisory"],
            role.MEMBER,
            totp=True,
        ),
        rival_staff=make_user(
            django_user_model, "staff@rival.test", orgs["rival-msp"], role.ADMIN, totp=True
        ),
    )
    for contract in (w.acme_contract, w.birch_contract, w.other_contract):
        _with_evidence(contract, w.msp_staff)
    _second_tenants_add(w, django_user_model)
    return w


def _second_tenants_add(w: World, django_user_model) -> None:
    """A second advisory firm advising the rival contract, with a member, and an admin of the
    rival MSP's client: with them every kind of tenant (client, MSP, advisor) exists twice."""
    role = Membership.Role
    w.rival_advisory = Organisation.objects.create(
        slug="rival-advisory", name="Rival Advisory", kind=Organisation.Kind.ADVISOR
    )
    Contract.objects.filter(pk=w.other_contract.pk).update(advisor=w.rival_advisory)
    w.other_contract.refresh_from_db()
    w.rival_advisor = make_user(
        django_user_model, "advisor@rival-advisory.test", w.rival_advisory, role.MEMBER, totp=True
    )
    w.other_owner = make_user(django_user_model, "owner@other.test", w.other, role.ADMIN)


@pytest.fixture
def client_for():
    """A logged-in test client for a persona (session auth, as the browser uses)."""

    def make(user) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return make


@pytest.fixture
def fresh_cache():
    """Rate-limit counters live in Redis: start each test that counts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def today() -> date:
    return date.today()


@pytest.fixture
def browser(monkeypatch):
    """One headless Chromium per test (see tests/browser.py)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=browser_support.CHROMIUM, args=browser_support.CHROMIUM_ARGS
        )
        yield instance
        instance.close()
