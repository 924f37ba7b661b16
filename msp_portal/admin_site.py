"""The Django admin, reached only through the portal's own log-in.

Django's admin has a log-in page of its own that takes the password alone: it skipped the second
factor and the failed-log-in limits of the portal's log-in (allauth's). Here the admin's log-in
page sends people to the portal's, and the admin opens only for a session the portal's log-in
made, with its second factor when the person has one or must have one (accounts.mfa).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.mfa import (
    has_second_factor,
    needs_mfa_enrolment,
    session_from_portal_login,
    session_passed_mfa,
)


class PortalAdminSite(admin.AdminSite):
    def login(self, request, extra_context=None):
        """The portal's log-in page instead of the admin's, coming back to where they were.

        Someone already logged in who may not enter (not staff, or a session without the
        portal's second factor) is told so: sending them to the log-in page would send them
        straight back here, as allauth does for a logged-in visitor."""
        target = request.GET.get("next") or reverse("admin:index")
        if not target.startswith("/") or target.startswith("//"):
            target = reverse("admin:index")  # only this site's own addresses
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(target)
            return render(request, "accounts/admin_login_required.html", status=403)
        return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")

    def has_permission(self, request) -> bool:
        user = request.user
        if not super().has_permission(request) or needs_mfa_enrolment(user):
            return False
        if not session_from_portal_login(request):
            return False
        return session_passed_mfa(request) or not has_second_factor(user)
