"""Invitations: the one way into the portal (signup stays closed). An organisation's admin
invites an email address with a role; the emailed link, signed and single-use, lets that person
set a password (or log in, when the address already has an account) and become a member.
Every step is audited."""

from __future__ import annotations

import logging
import secrets
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from contracts.models import AuditEvent, Membership, Organisation
from contracts.services.audit import audit_record

from .models import Invitation, User

log = logging.getLogger(__name__)

LIFETIME = timedelta(days=7)
_SALT = "accounts.invitation"


class InvitationGone(Exception):
    """The link no longer admits anyone; `why` says so in a word the page turns into a sentence:
    invalid, replaced, expired, revoked or used."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def audit_client(organisation: Organisation) -> Organisation | None:
    """The audit trail files people changes under the client they concern; an MSP's or advisory
    firm's own people belong to no client."""
    return organisation if organisation.kind == Organisation.Kind.CLIENT else None


def _audit(invitation: Invitation, *, actor, action: str, changes: dict) -> None:
    audit_record(
        actor=actor,
        source=AuditEvent.Source.WEB,
        contract=None,
        client=audit_client(invitation.organisation),
        action=action,
        obj=invitation,
        changes=changes,
    )


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=_SALT)


def invitation_url(invitation: Invitation) -> str:
    # PORTAL_URL, never the request's Host header: a forged host would send the link elsewhere.
    return settings.PORTAL_URL + reverse("invitation_accept", args=[invitation_token(invitation)])


def invitation_from_token(token: str) -> Invitation:
    """The invitation this link admits to, or InvitationGone saying why not."""
    try:
        data = signing.loads(token, salt=_SALT)
        pk, nonce = int(data["i"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise InvitationGone("invalid") from error
    found = Invitation.objects.select_related("organisation", "invited_by").filter(pk=pk).first()
    if found is None:
        raise InvitationGone("invalid")
    _check_admits(found, nonce)
    return found


def _check_admits(invitation: Invitation, nonce: str) -> None:
    if not secrets.compare_digest(invitation.nonce, nonce):
        raise InvitationGone("replaced")
    if invitation.accepted_at is not None:
        raise InvitationGone("used")
    if invitation.revoked_at is not None:
        raise InvitationGone("revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationGone("expired")


def _send(invitation: Invitation) -> bool:
    """Email the link; False when the mail server refused (the invitation stays, to resend)."""
    context = {
        "invitation": invitation,
        "inviter": invitation.invited_by,
        "role": invitation.get_role_display(),
        "url": invitation_url(invitation),
    }
    subject = f"Your invitation to {invitation.organisation.name} on the MSP accountability portal"
    body = render_to_string("accounts/email/invitation.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    except (smtplib.SMTPException, OSError):
        log.exception("invitation email to %s not sent", invitation.email)
        return False
    return True


def _fresh_link(invitation: Invitation) -> None:
    now = timezone.now()
    invitation.nonce = secrets.token_urlsafe(16)
    invitation.sent_at = now
    invitation.expires_at = now + LIFETIME


def invitation_create(
    *, organisation: Organisation, email: str, role: str, actor
) -> tuple[Invitation, bool]:
    """Invite `email` to the organisation with `role` and email the link: (invitation, sent)."""
    invitation = Invitation(
        organisation=organisation, email=email.strip().lower(), role=role, invited_by=actor
    )
    _fresh_link(invitation)
    invitation.save()
    _audit(
        invitation,
        actor=actor,
        action="invite",
        changes={
            "email": [None, invitation.email],
            "role": [None, invitation.get_role_display()],
            "organisation": [None, organisation.name],
        },
    )
    return invitation, _send(invitation)


def invitation_resend(*, invitation: Invitation, actor) -> bool:
    """A new link with a new expiry; the link sent before stops working."""
    before = invitation.expires_at
    _fresh_link(invitation)
    invitation.invited_by = actor
    invitation.save(update_fields=["nonce", "sent_at", "expires_at", "invited_by"])
    _audit(
        invitation,
        actor=actor,
        action="invite_resend",
        changes={"expires_at": [before.isoformat(), invitation.expires_at.isoformat()]},
    )
    return _send(invitation)


def invitation_revoke(*, invitation: Invitation, actor) -> None:
    """The link stops working; the row stays, for the trail."""
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    _audit(
        invitation,
        actor=actor,
        action="invite_revoke",
        changes={"revoked_at": [None, invitation.revoked_at.isoformat()]},
    )


def invitation_accept(
    *, token: str, user: User | None = None, password: str = "", first_name="", last_name=""
) -> User:
    """Use the link: the invited person (an existing `user`, or a new account with `password`)
    becomes a member with the invited role. The row is locked, so two uses race to one."""
    unlocked = invitation_from_token(token)
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .get(pk=unlocked.pk)
        )
        _check_admits(invitation, unlocked.nonce)
        if user is None:
            user = User.objects.create_user(
                email=invitation.email,
                password=password,
                first_name=first_name,
                last_name=last_name,
            )
        elif user.email.lower() != invitation.email:
            raise InvitationGone("someone_else")
        membership, _ = Membership.objects.get_or_create(
            user=user, organisation=invitation.organisation, defaults={"role": invitation.role}
        )
        invitation.accepted_at, invitation.accepted_by = timezone.now(), user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        _audit(
            invitation,
            actor=user,
            action="invite_accept",
            changes={
                "member": [None, user.email],
                # A person who was a member already keeps the role they had.
                "role": [None, membership.get_role_display()],
                "organisation": [None, invitation.organisation.name],
            },
        )
    return user
