"""In real Chromium: Acme's admin invites a colleague as a member from the People page; the
emailed link, opened in a fresh browser with no session, lets her set a password; she lands
logged in on Acme's pages and the People page shows her as a member with no actions.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from contracts.models import Membership

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def test_an_admin_invites_a_member_who_sets_a_password_and_sees_the_clients_pages(
    world, browser, live_server, mailoutbox, settings
):
    settings.PORTAL_URL = live_server.url  # the email's link points at the test server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    people = f"{live_server.url}{reverse('people', args=[world.acme.slug])}"
    admin, errors = logged_in_page(browser, live_server, world.owner)
    admin.goto(f"{live_server.url}{reverse('client_home', args=[world.acme.slug])}")
    admin.click("nav.topnav >> text=People")
    assert admin.url == people
    admin.fill("#id_email", "nia@acme.test")
    admin.select_option("#id_role", "member")
    admin.click("#invite")
    admin.wait_for_selector("text=Invitation sent to nia@acme.test.")
    assert "nia@acme.test" in admin.inner_text("#invitations")
    admin.screenshot(path=str(SCREENSHOTS / "people-invited.png"), full_page=True)

    link = re.search(r"(http://\S+/invitations/\S+/)", mailoutbox[-1].body).group(1)
    assert link.startswith(live_server.url)
    invitee = browser.new_context().new_page()  # a fresh browser: no session, no cookie
    invitee.goto(link)
    assert "Join Acme Dental Group" in invitee.inner_text("h1")
    invitee.fill("#id_first_name", "Nia")
    invitee.fill("#id_last_name", "Shah")
    invitee.fill("#id_password1", "a-long-and-unusual-passphrase-41")
    invitee.fill("#id_password2", "a-long-and-unusual-passphrase-41")
    invitee.click("#accept")
    invitee.wait_for_url(f"{live_server.url}{reverse('client_home', args=[world.acme.slug])}")
    assert invitee.inner_text("h1") == world.acme.name
    assert "Welcome: you joined Acme Dental Group." in invitee.inner_text(".messages")
    assert "nia@acme.test" in invitee.inner_text(".user-email")

    invitee.click("nav.topnav >> text=People")
    assert "You are member here." in invitee.inner_text("main")
    assert invitee.locator("#invite").count() == 0
    assert invitee.locator("#members button").count() == 0  # no role or removal actions
    row = invitee.locator("#members tr", has_text="nia@acme.test").inner_text()
    assert "Nia Shah" in row and "Member" in row
    invitee.screenshot(path=str(SCREENSHOTS / "people-member-view.png"), full_page=True)
    membership = Membership.objects.get(user__email="nia@acme.test")
    assert (membership.organisation, membership.role) == (world.acme, Membership.Role.MEMBER)

    admin.reload()
    assert "nia@acme.test" in admin.inner_text("#members")
    assert admin.locator("#invitations").count() == 0  # accepted: nothing waits
    assert errors == []
