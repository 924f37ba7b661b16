"""People of an organisation: its admins invite by email with a role, resend and withdraw
invitations, change roles and remove members; the link works once, until it expires, for the
address it was sent to. Other organisations' people do not exist for you (404), and a member or
read-only person sees the list but changes nothing (403). An organisation keeps one admin."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts.invitations import invitation_token
from accounts.models import Invitation, User
from contracts.models import AuditEvent, Membership

from .conftest import PASSWORD, make_user

NEW_PASSWORD = "a-long-and-unusual-passphrase-41"


@pytest.fixture(autouse=True)
def _portal_url(settings):
    settings.PORTAL_URL = "http://portal.test"


def _invite(client, org, email, role="member"):
    return client.post(reverse("people_invite", args=[org.slug]), {"email": email, "role": role})


def _link(mail) -> str:
    """The path of the invitation link in an email (the address is PORTAL_URL's)."""
    found = re.search(r"http://portal\.test(/invitations/[^\s]+/)", mail.body)
    assert found, mail.body
    return found.group(1)


def _accept_new(client, path, password=NEW_PASSWORD):
    return client.post(
        path,
        {"first_name": "Nia", "last_name": "Shah", "password1": password, "password2": password},
    )


def _audited(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


def test_an_admin_invites_someone_and_the_email_carries_the_link(world, client_for, mailoutbox):
    owner = client_for(world.owner)
    response = _invite(owner, world.acme, "Nia@Acme.test", "readonly")
    assert response.status_code == 302
    invitation = Invitation.objects.get(organisation=world.acme)
    assert (invitation.email, invitation.role) == ("nia@acme.test", "readonly")
    assert [m.to for m in mailoutbox] == [["nia@acme.test"]]
    mail = mailoutbox[0]
    assert "Acme Dental" in mail.subject
    assert "as read-only" in mail.body and "owner@acme.test invites you" in mail.body
    assert _link(mail) == reverse("invitation_accept", args=[invitation_token(invitation)])
    event = _audited("invite")
    assert (event.client_id, event.actor_id) == (world.acme.pk, world.owner.pk)
    assert event.changes["role"] == [None, "Read-only"]
    page = owner.get(reverse("people", args=[world.acme.slug])).content.decode()
    assert "nia@acme.test" in page and "Invitation sent to nia@acme.test." in page


def test_the_invitee_sets_a_password_and_is_a_member_with_the_role(world, client_for, mailoutbox):
    _invite(client_for(world.owner), world.acme, "nia@acme.test", "member")
    path, visitor = _link(mailoutbox[0]), Client()
    form = visitor.get(path)
    assert form.status_code == 200 and "Set my password and join" in form.content.decode()
    response = _accept_new(visitor, path)
    assert response.status_code == 302
    nia = User.objects.get(email="nia@acme.test")
    assert nia.check_password(NEW_PASSWORD) and nia.get_full_name() == "Nia Shah"
    assert Membership.objects.get(user=nia).organisation == world.acme
    assert Membership.objects.get(user=nia).role == Membership.Role.MEMBER
    home = visitor.get("/", follow=True)  # logged in: the client's pages
    assert home.redirect_chain[-1][0] == reverse("client_home", args=[world.acme.slug])
    assert _audited("invite_accept").actor_id == nia.pk
    assert _audited("invite_accept").client_id == world.acme.pk


def test_a_link_works_once(world, client_for, mailoutbox):
    _invite(client_for(world.owner), world.acme, "nia@acme.test")
    path = _link(mailoutbox[0])
    assert _accept_new(Client(), path).status_code == 302
    again = Client().get(path)
    assert again.status_code == 410 and "already accepted" in again.content.decode()
    assert _accept_new(Client(), path, "another-passphrase-of-length").status_code == 410
    assert User.objects.get(email="nia@acme.test").check_password(NEW_PASSWORD)


def test_an_expired_link_is_refused(world, client_for, mailoutbox):
    _invite(client_for(world.owner), world.acme, "nia@acme.test")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = _accept_new(Client(), _link(mailoutbox[0]))
    assert response.status_code == 410 and "has expired" in response.content.decode()
    assert not User.objects.filter(email="nia@acme.test").exists()


def test_a_withdrawn_link_is_refused(world, client_for, mailoutbox):
    owner = client_for(world.owner)
    _invite(owner, world.acme, "nia@acme.test")
    invitation = Invitation.objects.get()
    revoke = reverse("invitation_revoke", args=[world.acme.slug, invitation.pk])
    assert owner.post(revoke).status_code == 302
    response = _accept_new(Client(), _link(mailoutbox[0]))
    assert response.status_code == 410 and "was withdrawn" in response.content.decode()
    assert not User.objects.filter(email="nia@acme.test").exists()
    assert _audited("invite_revoke").client_id == world.acme.pk
    assert owner.post(revoke).status_code == 404  # withdrawn: no longer waiting


def test_a_resend_sends_a_new_link_and_the_old_one_dies(world, client_for, mailoutbox):
    owner = client_for(world.owner)
    _invite(owner, world.acme, "nia@acme.test")
    invitation = Invitation.objects.get()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(days=1))  # resend revives
    owner.post(reverse("invitation_resend", args=[world.acme.slug, invitation.pk]))
    old, new = _link(mailoutbox[0]), _link(mailoutbox[1])
    assert old != new
    stale = Client().get(old)
    assert stale.status_code == 410 and "newer link" in stale.content.decode()
    assert _accept_new(Client(), new).status_code == 302
    assert _audited("invite_resend").actor_id == world.owner.pk


def test_a_forged_link_is_not_found(world, client_for, mailoutbox):
    _invite(client_for(world.owner), world.acme, "nia@acme.test")
    path = _link(mailoutbox[0])
    forged = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    assert Client().get(forged).status_code == 404
    assert Client().get(reverse("invitation_accept", args=["nothing"])).status_code == 404


def test_a_person_with_an_account_logs_in_then_joins(world, client_for, mailoutbox, fresh_cache):
    _invite(client_for(world.owner), world.acme, "owner@birch.test", "readonly")
    path = _link(mailoutbox[0])
    anonymous = Client().get(path).content.decode()
    login = f"{reverse('account_login')}?{urlencode({'next': path})}"
    assert "Log in to accept" in anonymous and f'href="{login}"' in anonymous
    assert not Membership.objects.filter(user=world.outsider, organisation=world.acme).exists()
    # The portal's log-in brings the person back to the link.
    birch = Client()
    credentials = {"login": "owner@birch.test", "password": PASSWORD}
    assert birch.post(login, credentials)["Location"] == path
    assert "Join Acme Dental" in birch.get(path).content.decode()
    assert birch.post(path).status_code == 302
    joined = Membership.objects.get(user=world.outsider, organisation=world.acme)
    assert joined.role == Membership.Role.READ_ONLY
    assert world.outsider.memberships.count() == 2  # Birch & Cole's admin still


def test_someone_else_logged_in_cannot_use_the_link(world, client_for, mailoutbox):
    _invite(client_for(world.owner), world.acme, "owner@birch.test")
    path, viewer = _link(mailoutbox[0]), client_for(world.viewer)
    assert "you are logged in as viewer@acme.test" in viewer.get(path).content.decode()
    viewer.post(path)
    assert not Membership.objects.filter(user=world.outsider, organisation=world.acme).exists()
    assert Invitation.objects.get().accepted_at is None


def test_a_weak_or_mistyped_password_is_refused_with_the_field_named(world, client_for, mailoutbox):
    _invite(client_for(world.owner), world.acme, "nia@acme.test")
    path = _link(mailoutbox[0])
    mistyped = Client().post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})
    assert mistyped.status_code == 400
    assert "The same password again: The two passwords differ" in mistyped.content.decode()
    weak = Client().post(path, {"password1": "12345678", "password2": "12345678"})
    assert weak.status_code == 400 and "Password: This password is too common" in (
        weak.content.decode()
    )
    assert not User.objects.filter(email="nia@acme.test").exists()


def test_an_invitation_to_a_member_or_a_waiting_address_is_refused(world, client_for, mailoutbox):
    owner = client_for(world.owner)
    member = _invite(owner, world.acme, "Viewer@acme.test")
    assert member.status_code == 400
    assert "Email address: viewer@acme.test is already a member of Acme Dental" in (
        member.content.decode()
    )
    _invite(owner, world.acme, "nia@acme.test")
    waiting = _invite(owner, world.acme, "nia@acme.test").content.decode()
    assert "nia@acme.test has an invitation waiting: resend it" in waiting
    bad_role = _invite(owner, world.acme, "kai@acme.test", "owner").content.decode()
    assert "Role: Choose a role from the list" in bad_role
    assert Invitation.objects.count() == 1 and len(mailoutbox) == 1


def test_a_refused_email_keeps_the_invitation_to_resend(world, client_for, monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({})

    monkeypatch.setattr("accounts.invitations.send_mail", refuse)
    owner = client_for(world.owner)
    response = _invite(owner, world.acme, "nia@acme.test")
    page = owner.get(response["Location"]).content.decode()
    assert "The email could not be sent" in page
    assert Invitation.objects.filter(email="nia@acme.test").exists()


def test_members_and_read_only_people_see_the_list_but_change_nothing(world, client_for):
    member = make_user(User, "member@acme.test", world.acme, Membership.Role.MEMBER)
    owner_membership = Membership.objects.get(user=world.owner, organisation=world.acme)
    _invite(client_for(world.owner), world.acme, "nia@acme.test")
    invitation = Invitation.objects.get()
    for person in (world.viewer, member):
        client = client_for(person)
        page = client.get(reverse("people", args=[world.acme.slug])).content.decode()
        assert "owner@acme.test" in page and "nia@acme.test" in page
        assert "Send invitation" not in page and "Save role" not in page and "Resend" not in page
        slug, pk, inv = world.acme.slug, owner_membership.pk, invitation.pk
        for url, body in (
            (reverse("people_invite", args=[slug]), {"email": "x@acme.test", "role": "admin"}),
            (reverse("member_role", args=[slug, pk]), {"role": "readonly"}),
            (reverse("member_remove", args=[slug, pk]), {}),
            (reverse("invitation_resend", args=[slug, inv]), {}),
            (reverse("invitation_revoke", args=[slug, inv]), {}),
        ):
            assert client.post(url, body).status_code == 403, url
    owner_membership.refresh_from_db()
    assert owner_membership.role == Membership.Role.ADMIN
    assert Invitation.objects.get().revoked_at is None and Invitation.objects.count() == 1


def test_an_admin_manages_their_own_organisation_only(world, client_for):
    """Acme's admin, Birch & Cole's admin and Northwind's staff (Acme's MSP) try each other's."""
    birch_member = Membership.objects.get(user=world.outsider)
    birch_invite = Invitation.objects.create(
        organisation=world.birch,
        email="x@birch.test",
        role="member",
        nonce="n",
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=1),
    )
    owner = client_for(world.owner)
    for slug in (world.birch.slug, world.acme.slug):  # Birch's rows, under either slug
        for url, body in (
            (reverse("member_role", args=[slug, birch_member.pk]), {"role": "readonly"}),
            (reverse("member_remove", args=[slug, birch_member.pk]), {}),
            (reverse("invitation_resend", args=[slug, birch_invite.pk]), {}),
            (reverse("invitation_revoke", args=[slug, birch_invite.pk]), {}),
        ):
            assert owner.post(url, body).status_code == 404, url
    assert owner.get(reverse("people", args=[world.birch.slug])).status_code == 404
    assert _invite(owner, world.birch, "y@birch.test").status_code == 404
    # The client's MSP serves it, but the client's people are not the MSP's to see.
    staff = client_for(world.msp_staff)
    assert staff.get(reverse("people", args=[world.acme.slug])).status_code == 404
    assert client_for(world.owner).get(reverse("people", args=["northwind-it"])).status_code == 404
    birch_member.refresh_from_db()
    assert birch_member.role == Membership.Role.ADMIN
    assert Invitation.objects.filter(organisation=world.birch).count() == 1


def test_a_role_change_and_a_removal_are_audited(world, client_for):
    owner = client_for(world.owner)
    viewer = Membership.objects.get(user=world.viewer)
    owner.post(reverse("member_role", args=[world.acme.slug, viewer.pk]), {"role": "member"})
    viewer.refresh_from_db()
    assert viewer.role == Membership.Role.MEMBER
    change = _audited("role_change")
    assert change.changes == {"role": ["Read-only", "Member"]}
    assert (change.client_id, change.actor_id) == (world.acme.pk, world.owner.pk)
    owner.post(reverse("member_remove", args=[world.acme.slug, viewer.pk]))
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert User.objects.filter(pk=world.viewer.pk).exists()  # the account stays
    removal = _audited("member_remove")
    assert removal.changes["member"] == ["viewer@acme.test", None]
    assert removal.client_id == world.acme.pk


def test_an_msp_admin_manages_the_msps_people_filed_under_no_client(world, client_for):
    rival = client_for(world.rival_staff)
    page = rival.get(reverse("people", args=[world.rival_msp.slug]))
    assert page.status_code == 200 and "Send invitation" in page.content.decode()
    assert _invite(rival, world.rival_msp, "new@rival.test", "admin").status_code == 302
    event = _audited("invite")
    assert event.client_id is None and event.changes["organisation"] == [None, "Rival MSP"]


def test_the_last_admin_can_neither_step_down_nor_leave(world, client_for):
    owner = client_for(world.owner)
    mine = Membership.objects.get(user=world.owner)
    role_url = reverse("member_role", args=[world.acme.slug, mine.pk])
    leave_url = reverse("member_remove", args=[world.acme.slug, mine.pk])
    step_down = owner.post(role_url, {"role": "member"}, follow=True).content.decode()
    assert (
        "You are the only admin of Acme Dental Group: make someone else an admin before you "
        "step down." in step_down
    )
    leave = owner.post(leave_url, follow=True).content.decode()
    assert "make someone else an admin before you leave" in leave
    mine.refresh_from_db()
    assert mine.role == Membership.Role.ADMIN
    # With a second admin, the first may step down (and lands on the home page).
    viewer = Membership.objects.get(user=world.viewer)
    owner.post(reverse("member_role", args=[world.acme.slug, viewer.pk]), {"role": "admin"})
    assert owner.post(role_url, {"role": "member"})["Location"] == reverse("home")
    mine.refresh_from_db()
    assert mine.role == Membership.Role.MEMBER


def test_open_signup_stays_closed(world, client_for, mailoutbox):
    """An invitation waiting for an address does not open allauth's signup for it."""
    _invite(client_for(world.owner), world.acme, "nia@acme.test")
    body = {"email": "nia@acme.test", "password1": PASSWORD, "password2": PASSWORD}
    Client().post(reverse("account_signup"), body)
    assert not User.objects.filter(email="nia@acme.test").exists()


def test_the_navigation_leads_to_the_people_page(world, client_for):
    html = client_for(world.viewer).get(reverse("client_home", args=[world.acme.slug]))
    assert reverse("people", args=[world.acme.slug]) in html.content.decode()
