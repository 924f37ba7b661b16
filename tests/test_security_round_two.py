"""Security, round two (issue #17): contract files touch only the caller's own organisations;
the second factor holds for API tokens; the admin is behind the portal's log-in; production
refuses placeholder secret keys; the API schema is for logged-in people.

Each test failed on the code before its fix (RELIABILITY.md, "Security, round two").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings as django_settings
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts.models import Contract, Membership, Organisation

from .conftest import PASSWORD, apply_yaml_text, demo_document, make_user
from .test_auth import _current_code
from .test_deploy import run_manage

ROOT = Path(__file__).resolve().parents[1]


def token_client(user) -> tuple[APIClient, str]:
    key = Token.objects.get_or_create(user=user)[0].key
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api, key


def apply(user, doc: dict):
    api, _ = token_client(user)
    body = {"document": json.loads(json.dumps(doc, default=str))}
    return api.post(reverse("contract-file-apply"), body, format="json")


# --- 1. The contract-file API touches only the caller's organisations ------------------------


def test_an_advisor_cannot_attach_an_unrelated_msp_to_a_client(world, client_for):
    """The issue's case: Clearview's advisor named Rival MSP on a contract with Acme; Rival's
    staff then read Acme's dashboard and tickets."""
    doc = demo_document("acme-dental.yaml")
    doc["msp"] = {"slug": "rival-msp", "name": "Rival MSP"}
    doc["contract"]["name"] = "Attached by the advisor"
    response = apply(world.advisor, doc)
    assert response.status_code == 400
    assert response.json() == {"document": ["msp.slug: unknown MSP"]}
    assert not Contract.objects.filter(client=world.acme, msp=world.rival_msp).exists()
    rival = client_for(world.rival_staff)
    assert rival.get(reverse("client_dashboard", args=[world.acme.slug])).status_code == 404
    assert rival.get(reverse("client_tickets", args=[world.acme.slug])).status_code == 404


def test_another_tenants_organisation_is_answered_as_unknown_whatever_its_kind(world):
    """Before, naming Other Co (a client) as the MSP said "'other-co' is already a Client":
    that it exists, and what it is. Now every organisation of another tenant gets the answer
    its place in the file gets, the same for a client, an MSP or an advisory firm."""
    answers = {}
    for slug in ("other-co", "rival-msp", "rival-advisory"):
        doc = demo_document("acme-dental.yaml")
        doc["msp"] = {"slug": slug, "name": "Whoever"}
        doc["contract"]["name"] = f"Probe {slug}"
        response = apply(world.advisor, doc)
        answers[slug] = (response.status_code, response.json())
    assert answers == {
        slug: (400, {"document": ["msp.slug: unknown MSP"]})
        for slug in ("other-co", "rival-msp", "rival-advisory")
    }
    # In the client's place, likewise: a rival's client and a rival MSP answer alike.
    for slug in ("other-co", "rival-msp"):
        doc = demo_document("acme-dental.yaml")
        doc["client"] = {"slug": slug, "name": "Whoever", "seats": {"users": 1, "devices": 1}}
        doc.pop("advisor")  # Clearview advises Acme, not a new contract of Northwind's
        response = apply(world.msp_staff, doc)
        assert response.json() == {"document": ["client.slug: unknown client"]}, slug


def test_a_contract_file_renames_no_organisation_of_another_tenant(world):
    before = dict(Organisation.objects.values_list("slug", "name"))
    # Another tenant's advisory firm put on Acme's contract, under a new name.
    doc = demo_document("acme-dental.yaml")
    doc["advisor"] = {"slug": "rival-advisory", "name": "Renamed by Northwind"}
    response = apply(world.msp_staff, doc)
    assert response.json() == {"document": ["advisor.slug: unknown advisory firm"]}
    # The advisory firm already on the contract may be named, but only its members rename it.
    doc = demo_document("acme-dental.yaml")
    doc["advisor"]["name"] = "Renamed by Northwind"
    response = apply(world.msp_staff, doc)
    assert response.status_code == 400
    [problem] = response.json()["document"]
    assert problem.startswith("advisor.name: 'Renamed by Northwind' is not the organisation's name")
    assert dict(Organisation.objects.values_list("slug", "name")) == before


def test_a_contract_file_still_creates_new_organisations_and_updates_its_own(world):
    doc = demo_document("acme-dental.yaml")
    doc["advisor"] = {"slug": "new-advisory", "name": "New Advisory"}
    doc["contract"]["name"] = "With a new advisor"
    response = apply(world.msp_staff, doc)
    assert response.status_code == 200, response.content
    assert Organisation.objects.get(slug="new-advisory").kind == Organisation.Kind.ADVISOR
    # The firm's own member renames it.
    doc = demo_document("acme-dental.yaml")
    doc["msp"]["name"] = "Northwind IT (renamed)"
    assert apply(world.msp_staff, doc).status_code == 200
    assert Organisation.objects.get(slug="northwind-it").name == "Northwind IT (renamed)"


def test_apply_contract_run_by_an_operator_keeps_its_power(world):
    """The management command is the operator's: it may attach any MSP (as before)."""
    doc = demo_document("acme-dental.yaml")
    doc["msp"] = {"slug": "rival-msp", "name": "Rival MSP"}
    doc["contract"]["name"] = "Set up by the operator"
    apply_yaml_text(yaml.safe_dump(doc))
    assert Contract.objects.filter(client=world.acme, msp=world.rival_msp).exists()


# --- 2. The second factor holds for API tokens ------------------------------------------------


@pytest.mark.parametrize("org", ["northwind", "clearview"])
def test_staff_without_a_second_factor_get_403_with_a_token(world, django_user_model, org):
    """The middleware ran before DRF read the token: a token request looked anonymous to it."""
    user = make_user(
        django_user_model, f"new@{org}.test", getattr(world, org), Membership.Role.MEMBER
    )
    api, _ = token_client(user)
    for url in (reverse("contract-list"), reverse("import-list")):
        response = api.get(url)
        assert response.status_code == 403, url
        assert response.json() == {
            "detail": "Multi-factor authentication must be enabled for this account."
        }
    doc = demo_document("acme-dental.yaml")
    assert (
        api.post(reverse("contract-file-apply"), {"document": doc}, format="json").status_code
        == 403
    )


def test_a_superuser_without_a_second_factor_gets_403_with_a_token(world, django_user_model):
    admin = django_user_model.objects.create_superuser(email="root@portal.test", password=PASSWORD)
    api, _ = token_client(admin)
    assert api.get(reverse("contract-list")).status_code == 403


def test_losing_the_second_factor_revokes_the_tokens(world):
    api, key = token_client(world.msp_staff)
    assert api.get(reverse("contract-list")).status_code == 200
    Authenticator.objects.filter(user=world.msp_staff, type=Authenticator.Type.TOTP).delete()
    assert not Token.objects.filter(key=key).exists()
    assert api.get(reverse("contract-list")).status_code == 401
    # Enrolling again does not bring the old token back.
    TOTP.activate(world.msp_staff, generate_totp_secret())
    assert api.get(reverse("contract-list")).status_code == 401


def test_removing_the_second_factor_on_its_page_revokes_the_tokens(world, client, fresh_cache):
    api, _key = token_client(world.msp_staff)
    client.post(reverse("account_login"), {"login": world.msp_staff.email, "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": _current_code(world.msp_staff)})
    reauth = client.post(reverse("mfa_deactivate_totp"))  # allauth asks for the password again
    assert reauth["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reauth["Location"], {"password": PASSWORD})  # and then carries the removal out
    assert not Authenticator.objects.filter(
        user=world.msp_staff, type=Authenticator.Type.TOTP
    ).exists()
    assert api.get(reverse("contract-list")).status_code == 401


@pytest.mark.parametrize("how", ["page", "set_password"])
def test_a_password_change_revokes_the_tokens(world, client, fresh_cache, how):
    api, key = token_client(world.owner)
    assert api.get(reverse("contract-list")).status_code == 200
    new = "another-horse-battery-staple"
    if how == "page":
        client.post(reverse("account_login"), {"login": world.owner.email, "password": PASSWORD})
        response = client.post(
            reverse("account_change_password"),
            {"oldpassword": PASSWORD, "password1": new, "password2": new},
        )
        assert response.status_code == 302
    else:  # the admin, changepassword and the shell all end here
        world.owner.set_password(new)
        world.owner.save()
    assert not Token.objects.filter(key=key).exists()
    assert api.get(reverse("contract-list")).status_code == 401


def test_other_saves_of_the_person_keep_the_token(world):
    api, _key = token_client(world.owner)
    world.owner.first_name = "Olive"
    world.owner.save()
    assert api.get(reverse("contract-list")).status_code == 200


def test_a_token_issued_before_enrolment_ends_with_it(
    world, client_for, django_user_model, settings
):
    """Issued while MFA was relaxed (or before the person joined the MSP): enrolling revokes it,
    so every working staff token was issued by a session that passed the second factor."""
    settings.REQUIRE_STAFF_MFA = False
    user = make_user(django_user_model, "early@northwind.test", world.northwind, "member")
    key = client_for(user).post(reverse("api_token")).context["new_key"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(reverse("contract-list")).status_code == 200
    settings.REQUIRE_STAFF_MFA = True
    assert api.get(reverse("contract-list")).status_code == 403
    TOTP.activate(user, generate_totp_secret())
    assert api.get(reverse("contract-list")).status_code == 401


# --- 3 and 4. The admin is behind the portal's log-in ----------------------------------------


@pytest.fixture
def superuser(django_user_model):
    user = django_user_model.objects.create_superuser(email="root@portal.test", password=PASSWORD)
    TOTP.activate(user, generate_totp_secret())
    return user


def test_the_admin_log_in_page_sends_people_to_the_portals(db, client, superuser, fresh_cache):
    response = client.get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    # The admin's own form took the password alone; now it logs nobody in.
    response = client.post("/admin/login/", {"username": superuser.email, "password": PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    # An address elsewhere is not followed.
    assert client.get("/admin/login/?next=https://evil.test/")["Location"] == (
        "/accounts/login/?next=%2Fadmin%2F"
    )


def test_the_admin_opens_after_the_portals_log_in_with_its_code(db, client, superuser, fresh_cache):
    response = client.post(
        reverse("account_login"), {"login": superuser.email, "password": PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302  # the password alone does not open it
    client.post(reverse("mfa_authenticate"), {"code": _current_code(superuser)})
    assert client.get("/admin/").status_code == 200


def test_a_session_not_made_by_the_portals_log_in_does_not_open_the_admin(
    db, client_for, superuser
):
    session = client_for(superuser)  # a session with no log-in steps recorded
    response = session.get("/admin/")
    assert response.status_code == 302
    page = session.get(response["Location"])
    assert page.status_code == 403
    assert "log in again" in page.content.decode()


def test_a_superuser_must_enrol_a_second_factor_before_the_admin(
    db, client, django_user_model, fresh_cache
):
    root = django_user_model.objects.create_superuser(
        email="new-root@portal.test", password=PASSWORD
    )
    client.post(reverse("account_login"), {"login": root.email, "password": PASSWORD})
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_admin_log_in_attempts_are_limited_like_the_portals(db, client, superuser, fresh_cache):
    """Fifteen wrong passwords, then the right one, at /admin/login/: before, the sixteenth
    opened the admin. Now no password is checked there, and the portal's log-in, where they are
    checked, refuses the account after five failures, even with the right password."""
    for _ in range(15):
        client.post("/admin/login/", {"username": superuser.email, "password": "wrong"})
    client.post("/admin/login/", {"username": superuser.email, "password": PASSWORD})
    assert client.get("/admin/").status_code == 302
    throttled = "Too many failed login attempts"
    for _ in range(6):
        client.post(reverse("account_login"), {"login": superuser.email, "password": "wrong"})
    page = client.post(reverse("account_login"), {"login": superuser.email, "password": PASSWORD})
    assert throttled in page.content.decode()
    assert client.get("/admin/").status_code == 302


# --- 10. Production refuses placeholder secret keys -------------------------------------------


def test_production_refuses_the_placeholder_secret_key_of_env_example():
    example = re.search(
        r"^DJANGO_SECRET_KEY=(.*)$", (ROOT / ".env.example").read_text(), re.M
    ).group(1)
    assert example in django_settings.PLACEHOLDER_SECRET_KEYS
    for key in (example, "django-insecure-" + "x" * 50):
        result = run_manage(
            "check",
            DJANGO_ENV="production",
            DJANGO_SECRET_KEY=key,
            DJANGO_ALLOWED_HOSTS="portal.example.com",
        )
        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY is a placeholder" in result.stderr


# --- 11. The API schema and docs are for logged-in people -------------------------------------


def test_the_api_schema_and_docs_need_a_logged_in_person(world, client, client_for):
    schema = client.get(reverse("api-schema"))
    assert schema.status_code == 401
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 302
    assert docs["Location"].startswith(reverse("account_login"))
    _, key = token_client(world.owner)
    with_token = client.get(reverse("api-schema"), HTTP_AUTHORIZATION=f"Token {key}")
    assert with_token.status_code == 200
    assert client_for(world.owner).get(reverse("api-docs")).status_code == 200


def test_staff_without_a_second_factor_do_not_get_the_schema(world, django_user_model):
    user = make_user(django_user_model, "new@northwind.test", world.northwind, "member")
    api, _ = token_client(user)
    assert api.get(reverse("api-schema")).status_code == 403
