"""Log-ins, failed log-ins and log-outs go into the audit trail, with the address they came from.
A failed attempt records the email that was tried (never the password)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from contracts.models import AuditEvent


def _address(request) -> str:
    # The proxy in front of gunicorn sets REMOTE_ADDR's real value in X-Forwarded-For; only its
    # last hop is ours to trust, so the first is recorded as claimed, beside REMOTE_ADDR.
    if request is None:
        return ""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    remote = request.META.get("REMOTE_ADDR", "")
    return f"{remote} (forwarded for {forwarded})" if forwarded else remote


def _record(action: str, user, request, **changes) -> None:
    AuditEvent.objects.create(
        actor=user if user is not None and user.pk else None,
        source=AuditEvent.Source.WEB,
        client=None,
        contract=None,
        action=action,
        object_type="user",
        object_id=str(user.pk) if user is not None and user.pk else "",
        object_repr=(user.email if user is not None else changes.get("email", ""))[:300],
        changes={"address": _address(request), **changes},
    )


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    _record("login", user, request)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        _record("logout", user, request)


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    email = str(credentials.get("email") or credentials.get("username") or "")[:254]
    user = get_user_model().objects.filter(email__iexact=email).first() if email else None
    _record("login_failed", user, request, email=email)
