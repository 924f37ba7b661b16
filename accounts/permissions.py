"""The API's share of the second-factor rule (accounts.mfa), checked after DRF has authenticated
the request: a token, a session or any authentication class added later."""

from rest_framework.permissions import BasePermission

from .mfa import MFA_MISSING, needs_mfa_enrolment


class SecondFactorRequired(BasePermission):
    """Staff and advisor members (and superusers) without an active second factor get 403."""

    message = MFA_MISSING

    def has_permission(self, request, view) -> bool:
        return not needs_mfa_enrolment(request.user)
