"""The People page of an organisation and its actions, and the page an invitation link opens.

Each view finds the organisation among the caller's own (404 otherwise), checks the role for a
write (403), then calls one service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contracts.models import Membership
from msp_portal.tenancy import get_own_organisation_or_404, may_manage_people

from . import invitations as invites
from . import members
from .forms import InvitationForm, NewAccountForm, RoleForm
from .models import User

_NOT_SENT = "The email could not be sent: check the mail server, then resend the invitation."


def _people_page(request, organisation, role, form, status=200):
    context = {
        "organisation": organisation,
        "can_manage": may_manage_people(role),
        "my_role": dict(Membership.Role.choices)[role],
        "members": members.organisation_members(organisation),
        "invitations": members.open_invitations(organisation),
        "roles": Membership.Role.choices,
        "form": form,
        "lifetime_days": invites.LIFETIME.days,
    }
    return render(request, "accounts/people.html", context, status=status)


def _managed(request, slug):
    """The organisation, when the caller may manage its people (404 / 403 otherwise)."""
    organisation, role = get_own_organisation_or_404(request.user, slug)
    if not may_manage_people(role):
        raise PermissionDenied("Only the organisation's admins manage its people.")
    return organisation


def _back(organisation):
    return redirect("people", organisation.slug)


@login_required
@require_GET
def people(request, slug):
    """Members and open invitations; admins also see the invitation form and the actions."""
    organisation, role = get_own_organisation_or_404(request.user, slug)
    return _people_page(request, organisation, role, InvitationForm(organisation=organisation))


@require_POST
@login_required
def people_invite(request, slug):
    organisation = _managed(request, slug)
    form = InvitationForm(request.POST, organisation=organisation)
    if not form.is_valid():
        return _people_page(request, organisation, Membership.Role.ADMIN, form, status=400)
    invitation, sent = invites.invitation_create(
        organisation=organisation,
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        actor=request.user,
    )
    if sent:
        messages.success(request, f"Invitation sent to {invitation.email}.")
    else:
        messages.error(request, _NOT_SENT)
    return _back(organisation)


@require_POST
@login_required
def invitation_resend(request, slug, pk):
    organisation = _managed(request, slug)
    invitation = members.organisation_invitation_or_404(organisation, pk)
    if invites.invitation_resend(invitation=invitation, actor=request.user):
        messages.success(
            request, f"A new link went to {invitation.email}; the one sent before no longer works."
        )
    else:
        messages.error(request, _NOT_SENT)
    return _back(organisation)


@require_POST
@login_required
def invitation_revoke(request, slug, pk):
    organisation = _managed(request, slug)
    invitation = members.organisation_invitation_or_404(organisation, pk)
    invites.invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"The invitation of {invitation.email} was withdrawn.")
    return _back(organisation)


@require_POST
@login_required
def member_role(request, slug, pk):
    organisation = _managed(request, slug)
    membership = members.organisation_membership_or_404(organisation, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Role of {membership.user.email}: {form.errors['role'][0]}")
        return _back(organisation)
    try:
        changed = members.membership_role_set(
            membership=membership, role=form.cleaned_data["role"], actor=request.user
        )
    except members.LastAdmin as refusal:
        messages.error(request, str(refusal))
        return _back(organisation)
    if changed:
        role = membership.get_role_display().lower()
        messages.success(request, f"{membership.user.email} is now {role}.")
    if membership.user_id == request.user.pk:
        return redirect("home")  # an admin who stepped down manages nothing here any more
    return _back(organisation)


@require_POST
@login_required
def member_remove(request, slug, pk):
    organisation = _managed(request, slug)
    membership = members.organisation_membership_or_404(organisation, pk)
    try:
        members.membership_remove(membership=membership, actor=request.user)
    except members.LastAdmin as refusal:
        messages.error(request, str(refusal))
        return _back(organisation)
    messages.success(request, f"{membership.user.email} is no longer a member of {organisation}.")
    if membership.user_id == request.user.pk:
        return redirect("home")
    return _back(organisation)


# --- The invitation link ----------------------------------------------------------------------


def _gone(request, why: str):
    status = 404 if why == "invalid" else 410
    return render(request, "accounts/invitation_gone.html", {"why": why}, status=status)


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """No account for the address: set a password and come in. An account: log in as it (the
    log-in page brings the person back here), then join."""
    try:
        invitation = invites.invitation_from_token(token)
    except invites.InvitationGone as gone:
        return _gone(request, gone.why)
    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    context = {"invitation": invitation, "role": invitation.get_role_display().lower()}
    if not has_account:
        form = NewAccountForm(request.POST or None, email=invitation.email)
        if request.method == "POST" and form.is_valid():
            password = form.cleaned_data["password1"]
            return _accepted(request, token, invitation, password=password, form=form)
        status = 400 if form.errors else 200
        page = context | {"form": form}
        return render(request, "accounts/invitation_accept.html", page, status=status)
    if not request.user.is_authenticated:
        login_url = f"{reverse('account_login')}?{urlencode({'next': request.path})}"
        return render(request, "accounts/invitation_accept.html", context | {"login": login_url})
    if request.user.email.lower() != invitation.email:
        return render(request, "accounts/invitation_accept.html", context | {"someone_else": True})
    if request.method == "POST":
        return _accepted(request, token, invitation, user=request.user)
    return render(request, "accounts/invitation_accept.html", context | {"join": True})


def _accepted(request, token, invitation, *, user=None, password="", form=None):
    names = {k: form.cleaned_data[k] for k in ("first_name", "last_name")} if form else {}
    try:
        user = invites.invitation_accept(token=token, user=user, password=password, **names)
    except invites.InvitationGone as gone:
        return _gone(request, gone.why)
    if not request.user.is_authenticated:
        login(request, user, backend="accounts.backends.ModelBackend")
    messages.success(request, f"Welcome: you joined {invitation.organisation.name}.")
    return redirect("home")
