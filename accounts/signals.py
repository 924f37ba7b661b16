"""Log-ins, failed log-ins and log-outs go into the audit trail, with the address they came from.
A failed attempt records the email that was tried (never the password). API tokens are revoked
when the password or the second factor they were issued under changes."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
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


# --- API tokens end with the credentials they were issued under ------------------------------
# A token is issued inside a web session (accounts/views.py), so it stands for the password and
# the second factor of that moment. When either changes, or a second factor appears that the
# token never passed, the token is revoked: the person issues a new one after logging in again.
# Model signals rather than allauth's, so a change made anywhere (the admin, changepassword, the
# shell, allauth's pages) counts.


def _revoke_tokens(user_id) -> None:
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user_id=user_id).delete()


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def note_password_change(sender, instance, update_fields=None, **kwargs):
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return  # a new user has no token; a save of other fields (last_login) changes nothing
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_changed = stored is not None and stored != instance.password


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def revoke_tokens_on_password_change(sender, instance, created, **kwargs):
    if getattr(instance, "_password_changed", False):
        instance._password_changed = False
        _revoke_tokens(instance.pk)


@receiver(post_save, sender=Authenticator)
def revoke_tokens_issued_before_the_second_factor(sender, instance, created, **kwargs):
    if created and instance.type == Authenticator.Type.TOTP:
        _revoke_tokens(instance.user_id)


@receiver(post_delete, sender=Authenticator)
def revoke_tokens_on_losing_the_second_factor(sender, instance, **kwargs):
    if instance.type == Authenticator.Type.TOTP:
        _revoke_tokens(instance.user_id)
