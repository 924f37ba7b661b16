"""Send MSP and advisor members to TOTP enrolment before they can see any client's data."""

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from contracts.models import Organisation
from msp_portal.tenancy import user_memberships

# Paths a person must still reach while enrolling: log-in and MFA pages, log-out, static files.
_ALWAYS_ALLOWED = ("/accounts/", "/static/")


def needs_mfa_enrolment(user) -> bool:
    """True when the user is MSP or advisor staff without a TOTP authenticator."""
    if not settings.REQUIRE_STAFF_MFA or not user.is_authenticated:
        return False
    staff_kinds = {Organisation.Kind.MSP, Organisation.Kind.ADVISOR}
    # The memberships tenancy reads for the page anyway (one query per request).
    is_staff_side = any(m.organisation.kind in staff_kinds for m in user_memberships(user))
    if not is_staff_side:
        return False
    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class RequireStaffMfaMiddleware:
    """Staff (MSP, advisor) without TOTP: pages redirect to enrolment, API calls get 403."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if not path.startswith(_ALWAYS_ALLOWED) and needs_mfa_enrolment(request.user):
            if path.startswith("/api/"):
                from django.http import JsonResponse

                return JsonResponse(
                    {"detail": "Multi-factor authentication must be enabled for this account."},
                    status=403,
                )
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
