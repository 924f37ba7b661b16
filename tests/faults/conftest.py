"""The fault tests' fixtures: a stack of real processes per test, and a big export."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import ROWS, Redis, Stack, client_names, export_frame


@pytest.fixture(autouse=True)
def generated_company_is_acme(request):
    """The generated exports name their one company "Client 000 Ltd", and these tests import
    them for Acme: a file's company column decides whose tickets they are (docs/imports.md,
    "The right client"), so Northwind has routed that company to Acme, as its staff would on
    the mapping page once."""
    if "world" not in request.fixturenames:
        return
    from kpis.imports.company_routing import routes_remember

    world = request.getfixturevalue("world")
    routes_remember(world.northwind, {client_names(1)[0]: world.acme.slug}, [world.acme], None)


@pytest.fixture
def stack(request, tmp_path):
    redis = Redis(
        tmp_path, keeps_data=request.node.get_closest_marker("redis_keeps_data") is not None
    )
    redis.start()
    running = Stack(tmp_path, redis)
    yield running
    running.stop_all()
    running.app.close()
    redis.stop()
    for name in ("worker", "worker-2", "beat", "web"):
        path = tmp_path / f"{name}.log"
        if path.exists():  # shown with a failing test
            print(f"--- {name}.log (tail)\n" + path.read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def big_export(tmp_path_factory) -> Path:
    """A ConnectWise export of ROWS tickets with distinct ticket numbers."""
    path = tmp_path_factory.mktemp("exports") / "connectwise-big.csv"
    export_frame(ROWS, 1).write_csv(path)
    return path
