"""Log-in by email and password, TOTP required for MSP and advisor staff, throttled failures."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.urls import reverse

from contracts.models import Membership

from .conftest import PASSWORD, make_user

TOTP_SESSION_KEY = "mfa.totp.secret"


def test_a_client_owner_logs_in_with_email_and_password(world, client, fresh_cache):
    response = client.post(
        reverse("account_login"), {"login": "owner@acme.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("client_home", args=[world.acme.slug])).status_code == 200


def test_nobody_can_sign_themselves_up(client):
    response = client.get(reverse("account_signup"))
    assert "Sign Up Closed" in response.content.decode() or response.status_code == 403


def test_msp_staff_without_totp_are_sent_to_enrol(world, client, django_user_model, fresh_cache):
    make_user(django_user_model, "new@northwind.test", world.northwind, Membership.Role.MEMBER)
    client.post(reverse("account_login"), {"login": "new@northwind.test", "password": PASSWORD})
    response = client.get(reverse("client_home", args=[world.acme.slug]))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    api = client.get(reverse("contract-list"))
    assert api.status_code == 403
    assert "Multi-factor" in api.json()["detail"]
    # Enrolment: allauth asks for the password again, then a code from the new secret.
    reauth = client.get(reverse("mfa_activate_totp"))
    assert reauth["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reauth["Location"], {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session[TOTP_SESSION_KEY]
    code = format_hotp_value(hotp_value(secret, next(iter(yield_hotp_counters_from_time()))))
    client.post(reverse("mfa_activate_totp"), {"code": code})
    assert Authenticator.objects.filter(
        user__email="new@northwind.test", type=Authenticator.Type.TOTP
    ).exists()
    assert client.get(reverse("client_home", args=[world.acme.slug])).status_code == 200


def test_advisors_need_totp_too_but_client_members_do_not(world, client_for, django_user_model):
    advisor = make_user(
        django_user_model, "new@clearview.test", world.clearview, Membership.Role.ADMIN
    )
    assert client_for(advisor).get("/").status_code == 302
    assert (
        client_for(world.viewer).get(reverse("client_home", args=[world.acme.slug])).status_code
        == 200
    )


def test_the_requirement_can_be_relaxed_for_the_demo(
    world, client_for, django_user_model, settings
):
    settings.REQUIRE_STAFF_MFA = False
    newcomer = make_user(
        django_user_model, "demo@northwind.test", world.northwind, Membership.Role.MEMBER
    )
    assert (
        client_for(newcomer).get(reverse("client_home", args=[world.acme.slug])).status_code == 200
    )


def _current_code(user) -> str:
    auth = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    from allauth.mfa.utils import decrypt

    secret = decrypt(auth.data["secret"])
    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def test_staff_with_totp_log_in_with_password_and_code(world, client, fresh_cache):
    response = client.post(
        reverse("account_login"), {"login": "staff@northwind.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    # Not logged in yet: the password alone does not open client data.
    assert client.get(reverse("client_home", args=[world.acme.slug])).status_code == 302
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    response = client.post(reverse("mfa_authenticate"), {"code": _current_code(world.msp_staff)})
    assert response.status_code == 302
    assert client.get(reverse("client_home", args=[world.acme.slug])).status_code == 200


@pytest.mark.usefixtures("fresh_cache")
def test_failed_log_ins_are_throttled(world, client):
    throttled = "Too many failed login attempts"
    pages = [
        client.post(
            reverse("account_login"), {"login": "owner@acme.test", "password": "wrong"}
        ).content.decode()
        for _ in range(6)
    ]
    assert [throttled in page for page in pages] == [False] * 5 + [True]
    # Even the right password is refused while the account is throttled.
    ok = client.post(reverse("account_login"), {"login": "owner@acme.test", "password": PASSWORD})
    assert ok.status_code == 200 and throttled in ok.content.decode()
    assert client.get(reverse("client_home", args=[world.acme.slug])).status_code == 302


def test_password_reset_sends_an_email(world, client, mailoutbox, fresh_cache):
    response = client.post(reverse("account_reset_password"), {"email": "owner@acme.test"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "owner@acme.test" in mailoutbox[0].to


def test_log_ins_failed_log_ins_and_log_outs_are_in_the_audit_trail(world, client, fresh_cache):
    from contracts.models import AuditEvent

    client.post(reverse("account_login"), {"login": "owner@acme.test", "password": "wrong"})
    client.post(reverse("account_login"), {"login": "nobody@nowhere.test", "password": "x"})
    client.post(reverse("account_login"), {"login": "owner@acme.test", "password": PASSWORD})
    client.post(reverse("account_logout"))
    events = list(
        AuditEvent.objects.filter(object_type="user")
        .order_by("at", "id")
        .values_list("action", "actor__email", "object_repr", "changes")
    )
    assert [(a, actor, what) for a, actor, what, _ in events] == [
        ("login_failed", "owner@acme.test", "owner@acme.test"),
        ("login_failed", None, "nobody@nowhere.test"),
        ("login", "owner@acme.test", "owner@acme.test"),
        ("logout", "owner@acme.test", "owner@acme.test"),
    ]
    assert all(changes["address"] == "127.0.0.1" for *_, changes in events)
    assert all("password" not in str(changes) for *_, changes in events)
