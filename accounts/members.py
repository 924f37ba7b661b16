"""Members of an organisation: reading the list, changing a role, removing someone. An
organisation always keeps one admin, so nobody is locked out of managing its people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.shortcuts import get_object_or_404

from contracts.models import AuditEvent, Membership, Organisation
from contracts.services.audit import audit_record

from .invitations import audit_client
from .models import Invitation


class LastAdmin(Exception):
    """The change would leave the organisation without an admin; the message says so."""


@dataclass(frozen=True)
class Member:
    """A row of the People page."""

    membership: Membership
    since: datetime


def organisation_members(organisation: Organisation) -> list[Member]:
    """The organisation's members by email, each with the date they joined it: when they
    accepted an invitation, else when their account was made (the contract file and the admin
    make a member's account together with the membership)."""
    accepted = dict(
        Invitation.objects.filter(organisation=organisation, accepted_by__isnull=False)
        .order_by("accepted_at")
        .values_list("accepted_by_id", "accepted_at")
    )
    memberships = Membership.objects.filter(organisation=organisation).select_related("user")
    return [
        Member(m, accepted.get(m.user_id, m.user.date_joined))
        for m in memberships.order_by("user__email")
    ]


def open_invitations(organisation: Organisation) -> list[Invitation]:
    """Invitations neither accepted nor revoked, newest first (expired ones too: resend them)."""
    return list(
        Invitation.objects.filter(
            organisation=organisation, accepted_at__isnull=True, revoked_at__isnull=True
        ).select_related("invited_by")
    )


def organisation_membership_or_404(organisation: Organisation, pk) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "organisation"), organisation=organisation, pk=pk
    )


def organisation_invitation_or_404(organisation: Organisation, pk) -> Invitation:
    return get_object_or_404(
        Invitation.objects.select_related("organisation"),
        organisation=organisation,
        pk=pk,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    )


def _refuse_last_admin(membership: Membership, actor, doing: str) -> None:
    """Raise LastAdmin when `membership` is its organisation's only admin. The admins' rows are
    locked, so two admins demoting each other at once cannot both succeed."""
    if membership.role != Membership.Role.ADMIN:
        return
    admins = list(
        Membership.objects.select_for_update()
        .filter(organisation_id=membership.organisation_id, role=Membership.Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if admins != [membership.pk]:
        return
    org = membership.organisation.name
    if membership.user_id == actor.pk:
        raise LastAdmin(
            f"You are the only admin of {org}: make someone else an admin before you {doing}."
        )
    raise LastAdmin(f"{membership.user.email} is the only admin of {org}: make someone else one.")


def _audit(membership: Membership, *, actor, action: str, changes: dict) -> None:
    audit_record(
        actor=actor,
        source=AuditEvent.Source.WEB,
        contract=None,
        client=audit_client(membership.organisation),
        action=action,
        obj=membership,
        changes=changes,
    )


def membership_role_set(*, membership: Membership, role: str, actor) -> bool:
    """Give the member another role; False when it is the role they hold."""
    if role == membership.role:
        return False
    with transaction.atomic():
        if role != Membership.Role.ADMIN:
            _refuse_last_admin(membership, actor, "step down")
        before = membership.get_role_display()
        membership.role = role
        membership.save(update_fields=["role"])
        _audit(
            membership,
            actor=actor,
            action="role_change",
            changes={"role": [before, membership.get_role_display()]},
        )
    return True


def membership_remove(*, membership: Membership, actor) -> None:
    """Take the person out of the organisation (their account stays, for their other ones)."""
    with transaction.atomic():
        _refuse_last_admin(membership, actor, "leave")
        _audit(
            membership,
            actor=actor,
            action="member_remove",
            changes={
                "member": [membership.user.email, None],
                "role": [membership.get_role_display(), None],
            },
        )
        membership.delete()
