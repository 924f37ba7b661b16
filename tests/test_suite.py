"""The suite's own machinery: one world per module, rolled back between tests and never seen
by a test that needs committed data; uploads under pytest's temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from contracts.models import Organisation

SEEN: dict[str, int] = {}


def test_uploads_land_under_pytests_temporary_folders(tmp_path_factory):
    media = Path(settings.MEDIA_ROOT).resolve()
    assert media.is_relative_to(tmp_path_factory.getbasetemp().resolve())
    assert not media.is_relative_to((Path(__file__).parent.parent / ".data").resolve())


def test_a_test_writes_into_the_shared_world(world):
    SEEN["acme"] = world.acme.pk
    Organisation.objects.filter(pk=world.acme.pk).update(name="Renamed by a test")
    world.acme.name = "Changed in memory"
    Organisation.objects.create(slug="made-by-a-test", name="Made", kind="client")


def test_the_next_test_sees_the_same_world_without_those_writes(world):
    assert world.acme.pk == SEEN["acme"]  # built once for the module
    assert world.acme.name == "Acme Dental Group"  # neither the update nor the memory change
    assert not Organisation.objects.filter(slug="made-by-a-test").exists()


@pytest.mark.django_db(transaction=True)
def test_a_test_that_needs_committed_data_gets_a_world_of_its_own(world):
    from django.db import connection

    assert not connection.in_atomic_block  # committed: a live server or worker can read it
    assert Organisation.objects.filter(slug="acme-dental").count() == 1
