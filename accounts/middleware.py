"""Send MSP and advisor members (and superusers) to TOTP enrolment before they see any data.

This middleware runs before DRF authenticates an API token, so a token request looks anonymous
here: the API applies the same rule itself (accounts.permissions.SecondFactorRequired)."""

from django.shortcuts import redirect
from django.urls import reverse

from .mfa import MFA_MISSING, needs_mfa_enrolment

# Paths a person must still reach while enrolling: log-in and MFA pages, log-out, static files.
_ALWAYS_ALLOWED = ("/accounts/", "/static/")


class RequireStaffMfaMiddleware:
    """Staff (MSP, advisor) without TOTP: pages redirect to enrolment, API calls get 403."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if not path.startswith(_ALWAYS_ALLOWED) and needs_mfa_enrolment(request.user):
            if path.startswith("/api/"):
                from django.http import JsonResponse

                return JsonResponse({"detail": MFA_MISSING}, status=403)
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
