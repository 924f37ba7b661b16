"""Throttles on password-reset mails, API tokens and API requests, each named in settings with an
environment override; sessions that expire go back to log in. (Failed log-ins: test_auth.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.throttling import UserRateThrottle

from .conftest import PASSWORD
from .test_import_api import token_client

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_password_reset_mails_are_throttled_per_account(world, client, mailoutbox):
    reset = reverse("account_reset_password")
    answers = [client.post(reset, {"email": "owner@acme.test"}).status_code for _ in range(6)]
    assert answers == [302] * 5 + [429]
    assert len(mailoutbox) == 5
    # The limit is the account's: another person asking from the same address still gets a mail.
    assert client.post(reset, {"email": "viewer@acme.test"}).status_code == 302
    assert [m.to for m in mailoutbox[5:]] == [["viewer@acme.test"]]


def test_api_tokens_are_throttled_per_person(world, client_for):
    web = client_for(world.owner)
    keys = []
    for _ in range(5):
        response = web.post(reverse("api_token"))
        assert response.status_code == 200
        keys.append(response.context["new_key"])
    assert len(set(keys)) == 5
    refused = web.post(reverse("api_token"))
    assert refused.status_code == 429
    assert "Too many tokens issued recently" in refused.content.decode()
    # Nothing was revoked: the last token issued still stands and still opens the API.
    assert list(Token.objects.filter(user=world.owner).values_list("key", flat=True)) == keys[-1:]
    api = token_client(world.viewer)
    api.credentials(HTTP_AUTHORIZATION=f"Token {keys[-1]}")
    assert api.get(reverse("contract-list")).status_code == 200
    # Someone else is not held back by the owner's limit.
    assert client_for(world.viewer).post(reverse("api_token")).status_code == 200


def test_api_requests_are_throttled_per_person(world, monkeypatch):
    # The throttle in force is the one settings name, at the rate they give.
    assert UserRateThrottle in _throttle_classes()
    in_force = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"]
    assert UserRateThrottle.THROTTLE_RATES["user"] == in_force == "2000/hour"
    # DRF reads the rate once, at import: a small one is set on the class for this test.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})
    api = token_client(world.owner)
    answers = [api.get(reverse("contract-list")) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert answers[-1].json()["detail"].startswith("Request was throttled")
    assert token_client(world.viewer).get(reverse("contract-list")).status_code == 200


def _throttle_classes():
    from rest_framework.settings import api_settings

    return api_settings.DEFAULT_THROTTLE_CLASSES


def test_each_limit_is_named_in_settings_with_an_environment_override():
    overrides = {
        "LOGIN_FAILED_RATE_LIMIT": "3/m/ip,2/5m/key",
        "PASSWORD_RESET_RATE_LIMIT": "4/m/ip,1/m/key",
        "API_TOKEN_RATE_LIMIT": "2/h/user",
        "API_USER_RATE": "60/minute",
        "SESSION_COOKIE_AGE": "900",
    }
    script = (
        "import json; from django.conf import settings as s; print(json.dumps(["
        "s.ACCOUNT_RATE_LIMITS['login_failed'], s.ACCOUNT_RATE_LIMITS['reset_password'], "
        "s.ACCOUNT_RATE_LIMITS['api_token'], s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['user'], "
        "s.SESSION_COOKIE_AGE]))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", script],
        cwd=ROOT,
        env=os.environ | overrides,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [*list(overrides.values())[:4], 900]


def test_an_expired_session_is_sent_to_log_in(world, client):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    response = client.post(
        reverse("account_login"), {"login": "owner@acme.test", "password": PASSWORD}
    )
    # The cookie lasts until the browser closes (ACCOUNT_SESSION_REMEMBER is off); the session
    # behind it, SESSION_COOKIE_AGE at most, whatever the browser does.
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert (cookie["max-age"], cookie["expires"]) == ("", "")
    session = Session.objects.get(session_key=cookie.value)
    lasts = session.expire_date - timezone.now()
    assert abs(lasts - timedelta(seconds=settings.SESSION_COOKIE_AGE)) < timedelta(minutes=1)
    # Sessions are read from Redis first (cached_db): that copy lapses at the same age.
    store = SessionStore(session_key=cookie.value)
    key = store._cache.make_key(store.cache_key)
    ttl = redis.Redis.from_url(settings.REDIS_URL).ttl(key)
    assert settings.SESSION_COOKIE_AGE - 60 < ttl <= settings.SESSION_COOKIE_AGE
    page = reverse("client_home", args=[world.acme.slug])
    assert client.get(page).status_code == 200
    # Eight hours on, moving the session back rather than the clock forward: the Redis copy has
    # lapsed and the row's expiry has passed.
    store._cache.delete(store.cache_key)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={page}"
    assert client.get(reverse("contract-list")).status_code == 401
