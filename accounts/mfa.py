"""Who must hold a second factor, and whether they do: one rule for pages, the API and the admin.

MSP and advisor members see many clients' data, and superusers and admin staff can change any of
it, so with REQUIRE_STAFF_MFA they all need an active TOTP authenticator. The rule is read from
the user alone, never from how the request authenticated, so a session, an API token or any
authentication added later gets the same answer.
"""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.conf import settings

from contracts.models import Organisation
from msp_portal.tenancy import user_memberships

_STAFF_KINDS = {Organisation.Kind.MSP, Organisation.Kind.ADVISOR}
MFA_MISSING = "Multi-factor authentication must be enabled for this account."


def must_have_mfa(user) -> bool:
    """True for people the portal requires a second factor of (whether or not they have one)."""
    if not settings.REQUIRE_STAFF_MFA or user is None or not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    # The memberships tenancy reads for the page anyway (one query per request).
    return any(m.organisation.kind in _STAFF_KINDS for m in user_memberships(user))


def has_second_factor(user) -> bool:
    """Asked once per request: the middleware and the API's permission both ask about the same
    user object (a request's user is loaded anew for every request)."""
    known = getattr(user, "_has_second_factor", None)  # through a lazy request.user too
    if known is None:
        known = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user._has_second_factor = known
    return known


def needs_mfa_enrolment(user) -> bool:
    """True when the user must have a second factor and has none."""
    return must_have_mfa(user) and not has_second_factor(user)


def session_passed_mfa(request) -> bool:
    """True when this session was opened by the portal's log-in with its second factor.

    allauth records each step of a log-in in the session: the password, then "mfa" once the
    code was accepted. A session opened some other way (Django's own admin log-in, say) has no
    such record."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def session_from_portal_login(request) -> bool:
    """True when the portal's log-in (allauth) opened this session, with or without a code."""
    return bool(get_authentication_records(request, request.user))
