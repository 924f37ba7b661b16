"""The reads every page makes, written as SQL for speed (msp_portal/sql.py), give what the ORM
gives; the Redis cache reuses its client and gives up on a Redis that does not answer."""

from __future__ import annotations

import socket
import threading
import time
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import IntegerField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contracts.models import Contract, Membership, Organisation
from contracts.selectors import current_contract
from kpis.dashboard.views import StoredPeriod, _stored
from kpis.models import KpiSnapshot
from msp_portal import sql
from msp_portal.cache import FailSoftRedisCache
from msp_portal.tenancy import (
    Side,
    get_client_or_404,
    get_client_with_contract_or_404,
    user_memberships,
    user_with_memberships,
)

CONTRACT_FIELDS = [f.attname for f in Contract._meta.concrete_fields]


def as_values(obj, names):
    return {name: getattr(obj, name) for name in names}


def test_a_loaded_contract_equals_the_orms_with_json_decoded(world):
    row = sql.fetch(
        f"SELECT {sql.columns(Contract, 'c')} FROM contracts_contract c WHERE c.id = %s",  # noqa: S608
        [world.acme_contract.pk],
    )[0]
    loaded = sql.load(Contract, row)
    fresh = Contract.objects.get(pk=world.acme_contract.pk)
    assert as_values(loaded, CONTRACT_FIELDS) == as_values(fresh, CONTRACT_FIELDS)
    assert isinstance(loaded.credit_tiers, list) and loaded.credit_tiers  # JSON, not its text
    assert loaded._state.adding is False and loaded._state.db == "default"


def test_a_dashboards_periods_are_the_orms_newest_first(world):
    KpiSnapshot.objects.create(
        client=world.acme,
        period_kind="month",
        period_label="2025-07",
        period_start=date(2025, 7, 1),
        values={"x": 1},
        computed_at=timezone.now(),
    )
    fields = StoredPeriod._fields
    # `tickets`: the period's tickets raised, 0 where the snapshot has no such figure.
    expected = list(
        KpiSnapshot.objects.filter(client=world.acme)
        .annotate(
            tickets=Coalesce(Cast(KeyTextTransform("tickets.created", "values"), IntegerField()), 0)
        )
        .order_by("-period_start", "period_kind")
        .values_list(*fields)
    )
    assert expected and [tuple(p) for p in _stored(world.acme)] == expected
    assert "2025-07" not in {p.period_label for p in _stored(world.birch)}  # acme's alone


def test_the_session_user_comes_with_the_orms_fields_and_memberships(world, django_user_model):
    user = world.msp_staff
    Membership.objects.create(user=user, organisation=world.clearview, role="readonly")
    loaded = user_with_memberships(user.pk)
    fresh = django_user_model.objects.get(pk=user.pk)
    names = [f.attname for f in django_user_model._meta.concrete_fields]
    assert as_values(loaded, names) == as_values(fresh, names)
    with CaptureQueriesContext(connection) as queries:
        got = [(m.pk, m.role, m.organisation.name) for m in user_memberships(loaded)]
    assert len(queries) == 0  # read with the user
    assert got == [(m.pk, m.role, m.organisation.name) for m in user_memberships(fresh)]
    assert len(got) == 2


def test_a_user_without_memberships_or_without_a_row(world, django_user_model):
    loner = django_user_model.objects.create_user(email="loner@example.com", password="x" * 12)
    loaded = user_with_memberships(loner.pk)
    assert loaded == loner and user_memberships(loaded) == []
    assert user_with_memberships(loner.pk + 10_000) is None


def test_a_page_reads_the_user_and_memberships_in_one_query(world, client_for):
    browser = client_for(world.owner)
    with CaptureQueriesContext(connection) as queries:
        assert browser.get("/clients/acme-dental/").status_code == 200
    reads = [q["sql"] for q in queries.captured_queries]
    assert sum("contracts_membership" in q for q in reads) == 1, reads
    assert sum('FROM "accounts_user"' in q for q in reads) == 1, reads


def test_an_inactive_user_is_logged_out_by_the_backend(world, client_for):
    browser = client_for(world.owner)
    world.owner.is_active = False
    world.owner.save(update_fields=["is_active"])
    response = browser.get("/clients/acme-dental/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_memberships_match_the_orm_in_order_with_their_organisations(world, django_user_model):
    user = world.msp_staff
    Membership.objects.create(user=user, organisation=world.clearview, role="readonly")
    expected = list(
        Membership.objects.filter(user=user)
        .select_related("organisation")
        .order_by("organisation__name", "id")
    )
    fresh = django_user_model.objects.get(pk=user.pk)
    loaded = user_memberships(fresh)
    assert [(m.pk, m.role, m.organisation_id) for m in loaded] == [
        (m.pk, m.role, m.organisation_id) for m in expected
    ]
    with CaptureQueriesContext(connection) as queries:
        names = [m.organisation.name for m in loaded]
    assert names == sorted(names) and len(queries) == 0  # organisations came with the row


def test_the_client_with_its_current_contract_is_the_newest_by_start(world):
    newer = Contract.objects.create(
        client=world.acme,
        msp=world.northwind,
        name="Renewal",
        timezone="Europe/London",
        starts=world.acme_contract.starts + timedelta(days=365),
        pricing_model="flat_fee",
    )
    client, access, contract = get_client_with_contract_or_404(world.owner, "acme-dental")
    assert client == world.acme and contract == newer == current_contract(client=client)
    assert access.roles == get_client_or_404(world.owner, "acme-dental")[1].roles
    assert Side.CLIENT in access.roles


def test_the_combined_read_keeps_the_tenancy_rules(world):
    for user in (world.outsider, world.rival_staff):
        with pytest.raises(Http404):
            get_client_with_contract_or_404(user, "acme-dental")
    with pytest.raises(Http404):
        get_client_with_contract_or_404(world.owner, "northwind-it")  # an MSP is not a client
    # The MSP sees its client through the contract's parties.
    _, access, contract = get_client_with_contract_or_404(world.msp_staff, "acme-dental")
    assert Side.MSP in access.roles and contract == world.acme_contract


def test_a_client_without_a_contract_has_no_current_contract(world, django_user_model):
    lone = Organisation.objects.create(slug="lone-co", name="Lone Co", kind="client")
    member = django_user_model.objects.create_user(email="lone@example.com", password="x" * 12)
    Membership.objects.create(user=member, organisation=lone, role="admin")
    client, access, contract = get_client_with_contract_or_404(member, "lone-co")
    assert client == lone and contract is None and access.roles == {Side.CLIENT: "admin"}


# --- The cache's Redis client -----------------------------------------------------------------


def test_the_cache_reuses_one_redis_client_safely_across_threads():
    backend = cache._cache
    assert backend.get_client(write=True) is backend.get_client(write=True)
    errors = []

    def work(n):
        try:
            for i in range(50):
                cache.set(f"hot-reads-{n}-{i}", (n, i), 30)
                assert cache.get(f"hot-reads-{n}-{i}") == (n, i)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def silent_server() -> tuple[socket.socket, int, list]:
    """A TCP server that accepts connections and never answers: a Redis whose host hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return listener, listener.getsockname()[1], held


def test_a_redis_that_never_answers_is_a_miss_after_the_timeout(settings):
    assert settings.CACHES["default"]["OPTIONS"]["socket_timeout"] > 0
    listener, port, held = silent_server()
    try:
        hung = FailSoftRedisCache(
            f"redis://127.0.0.1:{port}/0",
            {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}},
        )
        started = time.monotonic()
        assert hung.get("anything", "fallback") == "fallback"
        hung.set("anything", 1)  # dropped, not raised
        elapsed = time.monotonic() - started
        # Two calls, each bounded by the timeout (redis-py may retry once): never forever.
        assert elapsed < 5, elapsed
        assert held, "the client did reach the silent server"
    finally:
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_table_changed_in_bulk_is_analysed_once():
    """After a large load the planner gets statistics without waiting for autovacuum."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS analyze_probe")
        cursor.execute("CREATE TABLE analyze_probe (n integer)")
        try:
            cursor.execute("INSERT INTO analyze_probe SELECT generate_series(1, 20000)")
            deadline = time.monotonic() + 10
            analysed: list = []
            while not analysed and time.monotonic() < deadline:
                # The statistics a backend counts reach the view when it flushes them.
                cursor.execute("SELECT pg_stat_force_next_flush()")
                time.sleep(0.2)
                analysed = sql.analyze_if_stale(["analyze_probe", "contracts_contract"])
            assert analysed == ["analyze_probe"]  # the other table changed too little
            cursor.execute(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname = 'analyze_probe'"
            )
            assert cursor.fetchone() == (True,)
            assert sql.analyze_if_stale(["analyze_probe"]) == []  # fresh statistics now
        finally:
            cursor.execute("DROP TABLE analyze_probe")
