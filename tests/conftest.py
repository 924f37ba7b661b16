"""Personas and a two-tenant world, built through the same services the product uses.

The world: Acme Dental (client) ← Northwind IT (MSP), reviewed by Clearview (advisor), from the
demo contract file; Birch & Cole Law ← Northwind; and a rival tenant, Other Co ← Rival MSP, that
Northwind staff must never see. Each contract has a commitment occurrence with evidence.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
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


def without_gaps(document: dict) -> dict:
    """The document's matrix with every standard area assigned and every shared area split:
    a matrix both sides may approve (the demo's has gaps on purpose)."""
    from contracts.rules import STANDARD_AREAS, standard_area_for

    rows = document["responsibilities"]
    for row in rows:
        if row["owner"] == "shared" and not row.get("split"):
            row["split"] = "MSP does the work; the client decides"
    named = {standard_area_for(row["area"]) for row in rows}
    rows += [{"area": area, "owner": "msp"} for area in STANDARD_AREAS if area not in named]
    return document


def agree(version, *, client_user=None, msp_user=None):
    """Both sides approve a proposed version, as their members would in the app."""
    from contracts.services.agreement import version_approve

    version_approve(version=version, side="client", actor=client_user, source="web")
    return version_approve(version=version, side="msp", actor=msp_user, source="web")


def propose_and_agree(document: dict, *, correction: str = "", **users):
    """Apply a contract file as a proposal from the MSP's side (source web), then both sides
    approve every version it proposed. Returns the apply result."""
    from contracts.models import ResponsibilityMatrixVersion, SlaPolicyVersion

    before = {
        model: set(model.objects.values_list("pk", flat=True))
        for model in (SlaPolicyVersion, ResponsibilityMatrixVersion)
    }
    result = contract_apply(
        data=contract_file_parse(yaml.safe_dump(document)),
        source="web",
        correction=correction,
        matrix_correction=correction,
    )
    for model, known in before.items():
        for version in model.objects.filter(model.pending_q(), contract=result.contract):
            if version.pk not in known:
                agree(version, **users)
    return result


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


def world_build(django_user_model) -> World:
    """The world as each test sees it at its start, made through the product's own services."""
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


def _transactional(item: pytest.Item) -> bool:
    """Whether pytest-django runs the test outside a transaction (its data must be committed:
    a live server, a worker or a restore reads it from another connection)."""
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


class SharedWorld:
    """One world per test module, built in a transaction that stays open while the module's
    tests run and is rolled back after them; each test runs in a savepoint inside it (the `db`
    fixture), so what a test writes is gone before the next. Building the world costs about
    half a second; two hundred tests use it.

    pytest-django runs every non-transactional test before any transactional one, so a
    module's tests that may share the world run one after another. A transactional test never
    sees it: pytest_runtest_setup closes it first, and `world` builds that test its own."""

    def __init__(self, django_db_blocker):
        self._blocker = django_db_blocker
        self._atomic = None
        self.ids: dict[str, int] | None = None

    def open(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db import transaction

        with self._blocker.unblock():
            self._atomic = transaction.atomic()
            self._atomic.__enter__()
            built = world_build(get_user_model())
        self.ids = {name: getattr(built, name).pk for name in World.__dataclass_fields__}

    def close(self) -> None:
        if self._atomic is None:
            return
        from django.db import transaction

        with self._blocker.unblock():
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)
        self._atomic, self.ids = None, None

    def fresh(self, django_user_model) -> World:
        """The world's objects read anew: a test that changes one in memory changes no other
        test's copy."""
        objects = {}
        for name, pk in self.ids.items():
            model = _WORLD_TYPES[name] or django_user_model
            objects[name] = model.objects.get(pk=pk)
        return World(**objects)


# The model of each World field (None: the user model).
_WORLD_TYPES = {
    **{
        name: Organisation
        for name in (
            "acme",
            "birch",
            "other",
            "northwind",
            "clearview",
            "rival_msp",
            "rival_advisory",
        )
    },
    **{name: Contract for name in ("acme_contract", "birch_contract", "other_contract")},
    **{
        name: None
        for name in (
            "owner",
            "viewer",
            "outsider",
            "msp_staff",
            "advisor",
            "rival_staff",
            "rival_advisor",
            "other_owner",
        )
    },
}
_DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "world", "django_db_setup"}


def pytest_collection_modifyitems(items):
    """Mark the tests that need no database (`make test-fast` runs only those)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if not item.get_closest_marker("django_db") and not fixtures & _DATABASE_FIXTURES:
            item.add_marker(pytest.mark.no_database)


_OPEN: list[SharedWorld] = []
_CURRENT: list[pytest.Item] = []  # the test whose fixtures are being set up


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _CURRENT[:] = [item]
    if _OPEN and _transactional(item):
        _OPEN.pop().close()


@pytest.fixture(scope="module")
def _module_world(request, django_db_blocker):
    """The module's shared world, opened when its first test that asks for `world` runs inside
    a transaction (module fixtures are set up before the test's own transaction begins)."""
    shared = SharedWorld(django_db_blocker)
    if _CURRENT and not _transactional(_CURRENT[0]):
        request.getfixturevalue("django_db_setup")
        shared.open()
        _OPEN.append(shared)
    yield shared
    if shared in _OPEN:
        _OPEN.remove(shared)
    shared.close()


@pytest.fixture
def world(request, _module_world, db, django_user_model) -> World:
    """Acme, Birch & Cole and Other Co with their MSPs, advisor and people (module docstring).
    Shared by the module's tests that run inside a transaction; built anew for a test whose
    data must be committed."""
    if _transactional(request.node):
        return world_build(django_user_model)
    if _module_world.ids is None:
        raise RuntimeError("the shared world was not opened before the test's transaction")
    return _module_world.fresh(django_user_model)


@pytest.fixture(scope="session", autouse=True)
def _media_in_a_temporary_folder(tmp_path_factory):
    """Uploads the suite makes (evidence, imported files, PDFs, logos) land under pytest's
    temporary folders, never in the developer's .data/media. Subprocesses the tests start read
    settings.MEDIA_ROOT, so they share it."""
    from django.test.utils import override_settings

    override = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    override.enable()
    yield
    override.disable()


@pytest.fixture
def acme(world) -> World:
    """The world with the ConnectWise sample imported into Acme Dental and its KPIs computed."""
    from django.core.management import call_command

    sample = Path(__file__).parent / "data" / "samples" / "connectwise_service_tickets.csv"
    call_command(
        "import_tickets",
        str(sample),
        "--client",
        world.acme.slug,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    return world


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
def worker():
    """A real Celery worker for the test (solo pool, in a thread of this process): the jobs the
    test queues run as in production. The test's data must be committed (transaction=True)."""
    from celery.contrib.testing.worker import start_worker

    from msp_portal.celery import app

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        yield


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


# --- Hand-built tickets (issue 22: the agreed figures, disputes) -----------------------------

SEPTEMBER_OPENED = datetime(2025, 9, 10, 15, 0, tzinfo=UTC)


def acme_ticket(world, number: int, resolved_after: int, **fields):
    """A P1 incident of Acme's raised Wednesday 10 September 2025, 10:00 in Chicago (a business
    day), answered in 10 minutes and resolved `resolved_after` minutes after it was raised."""
    from kpis.models import Ticket

    now = timezone.now()
    values = {
        "priority": "P1",
        "kind": "incident",
        "state": "closed",
        "category": "Email",
        "created_at": SEPTEMBER_OPENED,
        "first_response_at": SEPTEMBER_OPENED + timedelta(minutes=10),
        "resolved_at": SEPTEMBER_OPENED + timedelta(minutes=resolved_after),
        **fields,
    }
    return Ticket.objects.create(
        client=world.acme,
        source_system="test",
        external_id=f"T{number}",
        content_hash=f"{number:032d}",
        first_imported_at=now,
        updated_at=now,
        **values,
    )


@pytest.fixture
def september(world):
    """Eight P1 tickets met (60 minutes), two breached (300 minutes): 80% resolution compliance,
    below 90%, so the month's credit is 10% of USD 8,410 = USD 841.00."""
    met = [acme_ticket(world, n, 60) for n in range(8)]
    breached = [acme_ticket(world, n, 300) for n in (8, 9)]
    from kpis.metrics.recompute import kpis_recompute

    kpis_recompute(world.acme)
    return met, breached
