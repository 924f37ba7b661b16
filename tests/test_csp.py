"""The Content-Security-Policy: no inline script runs, the page's own scripts carry its nonce,
and the API docs work without an inline start-up script."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from .browser import CHROMIUM, logged_in_page
from .test_recompute import import_sample


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_forbid_inline_scripts_and_their_scripts_carry_the_nonce(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    page = client_for(world.owner).get(
        reverse("client_dashboard", args=[world.acme.slug]) + "?period=2025-Q3"
    )
    policy = directives(page)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    (nonce,) = [s[len("'nonce-") : -1] for s in policy["script-src"] if s.startswith("'nonce-")]
    html = page.content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    executable = [s for s in scripts if 'type="application/json"' not in s]
    assert executable, "the dashboard loads its scripts"
    assert all(f'nonce="{nonce}"' in s and "src=" in s for s in executable), executable


def test_the_nonce_changes_with_every_response(world, client_for):
    import_sample(world, "connectwise_service_tickets.csv")
    owner = client_for(world.owner)
    url = reverse("client_dashboard", args=[world.acme.slug]) + "?period=2025-Q3"
    first, second = (directives(owner.get(url))["script-src"] for _ in range(2))
    assert first != second


def test_the_api_docs_load_their_start_up_script_from_a_url(world, client_for):
    page = client_for(world.owner).get(reverse("api-docs"))
    assert page.status_code == 200
    html = page.content.decode()
    bodies = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.DOTALL)
    assert bodies and all(not body.strip() for body in bodies)  # no inline script body


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
@pytest.mark.django_db(transaction=True)
def test_the_api_docs_render_under_the_policy(world, browser, live_server):
    page, errors = logged_in_page(browser, live_server, world.owner)
    page.goto(live_server.url + reverse("api-docs"))
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert errors == []
