"""Who sees a client, and with which roles, as msp_portal.tenancy decides it from the memberships
it reads once per request: a change of membership counts from the next request, a client with
no contract is its members' alone, and a person on two sides holds the best role of each."""

from __future__ import annotations

from django.urls import reverse

from contracts.models import Membership, Organisation
from msp_portal.tenancy import Side

from .conftest import make_user


def test_a_removed_membership_counts_from_the_next_request(world, client_for):
    staff = client_for(world.msp_staff)
    page = reverse("client_dashboard", args=[world.acme.slug])
    assert staff.get(page).status_code == 200
    Membership.objects.filter(user=world.msp_staff, organisation=world.northwind).delete()
    assert staff.get(page).status_code == 404


def test_a_client_without_a_contract_is_seen_by_its_members_only(
    world, client_for, django_user_model
):
    lone = Organisation.objects.create(slug="lone-co", name="Lone Co", kind="client")
    member = make_user(django_user_model, "owner@lone.test", lone, Membership.Role.ADMIN)
    page = reverse("client_home", args=[lone.slug])
    response = client_for(member).get(page)
    assert response.status_code == 200
    assert response.context["access"].roles == {Side.CLIENT: Membership.Role.ADMIN}
    for persona in (world.owner, world.msp_staff, world.advisor, world.rival_staff):
        assert client_for(persona).get(page).status_code == 404


def test_someone_on_two_sides_holds_each_sides_role(world, client_for):
    Membership.objects.create(
        user=world.msp_staff, organisation=world.acme, role=Membership.Role.READ_ONLY
    )
    response = client_for(world.msp_staff).get(reverse("client_home", args=[world.acme.slug]))
    assert response.context["access"].roles == {
        Side.CLIENT: Membership.Role.READ_ONLY,
        Side.MSP: Membership.Role.MEMBER,
    }
    assert not response.context["access"].read_only


def test_the_header_lists_the_clients_each_person_sees(world, client_for):
    def header_clients(user):
        response = client_for(user).get(reverse("client_home", args=[world.acme.slug]))
        return [c.slug for c in response.context["nav_clients"]]

    assert header_clients(world.owner) == ["acme-dental"]
    assert header_clients(world.msp_staff) == ["acme-dental", "birch-cole-law"]
    assert header_clients(world.advisor) == ["acme-dental"]
