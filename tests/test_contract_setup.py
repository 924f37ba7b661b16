"""The setup pages: a new client through forms, each part of the rules edited through the same
contract file the command applies, the file downloaded and uploaded, and who may do it."""

from __future__ import annotations

import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from contracts.contract_export import contract_file_export, contract_file_yaml
from contracts.contract_file import contract_file_parse
from contracts.models import (
    AuditEvent,
    Contract,
    Membership,
    ResponsibilityMatrixVersion,
    SlaPolicyVersion,
)
from contracts.services.contract_apply import contract_apply
from contracts.setup_forms import ContractForm, SlaForm, exact_words
from contracts.setup_formsets import calendar_formset, matrix_formset
from msp_portal.units import duration_minutes

from .conftest import make_user


def _calendar_post(**day_values) -> dict:
    data = {
        "cal-TOTAL_FORMS": "1",
        "cal-INITIAL_FORMS": "0",
        "cal-0-key": "business",
        "cal-0-timezone": "Europe/London",
    }
    data.update({f"cal-0-{day}": value for day, value in day_values.items()})
    return data


def _sla_post(**overrides) -> dict:
    data = {"effective_from": "2026-01-01", "repeat_window_days": "30"}
    for p in ("P1", "P2", "P3", "P4"):
        data |= {f"{p}_response": "1h", f"{p}_resolution": "1d 2h", f"{p}_calendar": "business"}
    return data | overrides


# --- Round trip -------------------------------------------------------------------------------


def test_export_parse_apply_changes_nothing(world):
    """Each contract of the world, exported as YAML, parsed and applied again: no change, no
    new SLA or matrix version, no audit line."""
    for contract in (world.acme_contract, world.birch_contract, world.other_contract):
        text = contract_file_yaml(contract_file_export(contract=contract))
        events, versions = AuditEvent.objects.count(), SlaPolicyVersion.objects.count()
        result = contract_apply(data=contract_file_parse(text), source="web")
        assert result.changes == [], contract.name
        assert (AuditEvent.objects.count(), SlaPolicyVersion.objects.count()) == (
            events,
            versions,
        )


def test_the_export_reads_as_the_documented_file(world):
    document = yaml.safe_load(
        contract_file_yaml(contract_file_export(contract=world.acme_contract))
    )
    assert document["sla"]["targets"]["P2"] == {
        "response_minutes": 60,
        "resolution_minutes": 480,
        "calendar": "business",
    }
    assert document["calendars"]["business"]["hours"]["mon"] == ["08:00-17:00"]
    assert document["contract"]["pricing"] == {
        "model": "per_user",
        "unit_price": 145.0,
        "currency": "USD",
    }


@given(st.integers(min_value=1, max_value=400 * 24 * 60))
def test_a_target_shown_in_words_reads_back_as_its_minutes(minutes):
    assert duration_minutes(exact_words(minutes)) == minutes


# --- Form validation --------------------------------------------------------------------------


def test_a_time_zone_that_does_not_exist_is_refused_on_its_field():
    form = ContractForm(
        {
            "client_name": "Zenith",
            "name": "Support",
            "seats_users": 5,
            "seats_devices": 5,
            "starts": "2026-01-01",
            "timezone": "Mars/Olympus",
            "pricing_model": "per_user",
            "unit_price": "20",
            "currency": "USD",
            "credit_period": "month",
        }
    )
    assert not form.is_valid()
    assert list(form.errors) == ["timezone"]
    assert "not a time zone we know" in form.errors["timezone"][0]


def test_overlapping_windows_on_a_day_are_refused_on_that_day():
    formset = calendar_formset(data=_calendar_post(mon="08:00-12:00, 11:00-17:00"))
    assert not formset.is_valid()
    assert formset.forms[0].errors["mon"] == ["“08:00-12:00” and “11:00-17:00” overlap."]
    touching = calendar_formset(data=_calendar_post(mon="08:00-12:00, 12:00-17:00"))
    assert touching.is_valid(), touching.errors


def test_a_target_of_zero_or_a_word_is_refused_on_its_field():
    form = SlaForm(_sla_post(P2_response="0", P3_resolution="soon"), calendars=["business"])
    assert not form.is_valid()
    assert form.errors["P2_response"] == ["The time must be more than zero."]
    assert "Write a time like" in form.errors["P3_resolution"][0]
    assert set(form.errors) == {"P2_response", "P3_resolution"}
    good = SlaForm(_sla_post(), calendars=["business"])
    assert good.is_valid(), good.errors
    assert good.section()["targets"]["P1"]["resolution_minutes"] == 26 * 60


def test_a_shared_area_without_a_split_is_saved_but_flagged(world, client_for):
    contract = world.acme_contract
    rows = matrix_formset(
        data={
            "area-TOTAL_FORMS": "2",
            "area-INITIAL_FORMS": "0",
            "area-0-area": "Change management",
            "area-0-owner": "shared",
            "area-1-area": "Monitoring and alerting",
            "area-1-owner": "msp",
            "area-1-categories": "Monitoring, Alerts",
        }
    )
    assert rows.is_valid(), rows.errors
    assert rows.flags() == ["Change management: shared, but the split is not written down."]
    before = contract.current_matrix().number
    page = client_for(_advisor_admin(world)).post(
        reverse("contract_setup_matrix", args=[world.acme.slug, contract.pk]),
        rows.data,
        follow=True,
    )
    assert contract.current_matrix().number == before + 1
    areas = {a.area: a for a in contract.current_matrix().assignments.all()}
    assert areas["Monitoring and alerting"].categories == ["Monitoring", "Alerts"]
    assert "Change management: shared, but the split is not written down." in page.content.decode()


# --- Pages ------------------------------------------------------------------------------------


def _advisor_admin(world):
    """An admin of the advisory firm: who may set up a new client (the world's is a member)."""
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(email="lead@clearview.test").first()
    return found or make_user(
        get_user_model(), "lead@clearview.test", world.clearview, Membership.Role.ADMIN, totp=True
    )


def _as_posted(form) -> dict:
    """What the browser sends back for a form shown unchanged."""
    values = {field.html_name: field.value() for field in form}
    return {name: value for name, value in values.items() if value is not None}


def _new_client_post(world) -> dict:
    return new_client_post(world.northwind.pk, world.clearview.pk, "Zenith Dental")


def new_client_post(msp_id: int, advisor_id: int | None, client_name: str) -> dict:
    """The new-client page's form as a browser sends it, filled in."""
    data = {
        "parties-msp": msp_id,
        "parties-advisor": advisor_id or "",
        "contract-client_name": client_name,
        "contract-name": "Managed IT 2026",
        "contract-seats_users": "12",
        "contract-seats_devices": "15",
        "contract-starts": "2025-07-01",
        "contract-timezone": "America/Chicago",
        "contract-pricing_model": "flat_fee",
        "contract-monthly_fee": "2400",
        "contract-currency": "USD",
        "contract-in_scope": "Service desk\nPatching",
        "contract-credit_measure": "resolution.compliance",
        "contract-credit_period": "month",
        "contract-tier_1_below": "95",
        "contract-tier_1_credit": "5",
        "contract-credit_cap_percent": "20",
        "cal-TOTAL_FORMS": "2",
        "cal-INITIAL_FORMS": "2",  # the page shows two calendars to start from
        "cal-0-key": "business",
        "cal-0-timezone": "America/Chicago",
        "cal-0-mon": "08:00-12:00, 13:00-17:00",
        "cal-0-fri": "08:00-15:00",
        "cal-0-holiday_country": "US",
        "cal-0-extra_holidays": "2025-12-24",
        "cal-1-key": "always",
        "cal-1-always": "on",
    }
    for p, calendar in (
        ("P1", "always"),
        ("P2", "business"),
        ("P3", "business"),
        ("P4", "business"),
    ):
        data |= {
            f"sla-{p}_response": "1h",
            f"sla-{p}_resolution": "8h",
            f"sla-{p}_calendar": calendar,
        }
    return data | {"sla-repeat_window_days": "30", "sla-uptime": "Email: 99.9%"}


def test_an_advisor_admin_sets_up_a_new_client_through_the_pages(world, client_for):
    web = client_for(_advisor_admin(world))
    assert "Set up a new client" in web.get(reverse("home"), follow=True).content.decode()
    response = web.post(reverse("setup_client_new"), _new_client_post(world))
    contract = Contract.objects.get(client__name="Zenith Dental")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "contract_setup", args=[contract.client.slug, contract.pk]
    )
    assert (contract.msp, contract.advisor, contract.flat_monthly_fee) == (
        world.northwind,
        world.clearview,
        2400,
    )
    policy = contract.sla_versions.get()
    assert policy.effective_from == contract.starts
    business = policy.calendars.get(key="business")
    assert business.weekly_hours["mon"] == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert business.extra_holidays == ["2025-12-24"]
    assert AuditEvent.objects.filter(contract=contract, source="web").exists()
    guide = web.get(response["Location"]).content.decode()
    assert "Set up Zenith Dental" in guide and "not yet" in guide
    assert f"target=client:{contract.client.pk}:{world.northwind.pk}" in guide


def test_the_new_client_page_offers_only_the_msps_the_advisor_works_with(world, client_for):
    web = client_for(_advisor_admin(world))
    page = web.get(reverse("setup_client_new"))
    assert [label for _, label in page.context["parties"].fields["msp"].choices] == [
        world.northwind.name
    ]
    refused = web.post(
        reverse("setup_client_new"), _new_client_post(world) | {"parties-msp": world.rival_msp.pk}
    )
    assert refused.status_code == 200
    assert "not one of the available choices" in refused.content.decode()
    assert not Contract.objects.filter(client__name="Zenith Dental").exists()


def test_an_advisor_sets_up_a_client_with_their_firm_or_not_at_all(world, client_for):
    """Without their firm on it, the advisor would not see the contract they set up."""
    web = client_for(_advisor_admin(world))
    refused = web.post(
        reverse("setup_client_new"),
        new_client_post(world.northwind.pk, None, "Zenith Dental"),
    )
    assert refused.status_code == 200
    assert "Choose your advisory firm" in refused.content.decode()
    assert not Contract.objects.filter(client__name="Zenith Dental").exists()


def test_members_clients_and_readers_cannot_reach_the_setup_pages(world, client_for):
    contract = world.acme_contract
    args = [world.acme.slug, contract.pk]
    names = [
        "contract_setup",
        "contract_setup_terms",
        "contract_setup_calendars",
        "contract_setup_sla",
        "contract_setup_matrix",
        "contract_setup_commitments",
        "contract_file_upload",
    ]
    for persona in (world.viewer, world.owner, world.msp_staff):
        web = client_for(persona)
        for name in names:
            assert web.get(reverse(name, args=args)).status_code == 403, (persona, name)
        assert web.get(reverse("setup_client_new")).status_code == 403
    assert client_for(world.outsider).get(reverse("contract_setup", args=args)).status_code == 404
    advisor = client_for(world.advisor)  # a consultant of the advisory firm (member)
    for name in names:
        assert advisor.get(reverse(name, args=args)).status_code == 200, name


def test_a_changed_sla_is_a_new_version_and_the_same_date_is_refused(world, client_for):
    contract = world.acme_contract
    url = reverse("contract_setup_sla", args=[world.acme.slug, contract.pk])
    web = client_for(world.advisor)
    posted = _as_posted(web.get(url).context["form"])
    same_day = web.post(url, posted | {"sla-P2_resolution": "10h"})
    assert same_day.status_code == 200
    assert "later date" in same_day.content.decode() or "later effective" in (
        same_day.content.decode()
    )
    assert contract.sla_versions.count() == 1
    later = web.post(url, posted | {"sla-P2_resolution": "10h", "sla-effective_from": "2026-09-01"})
    assert later.status_code == 302
    newest = contract.sla_versions.order_by("-effective_from").first()
    assert newest.targets.get(priority="P2").resolution_minutes == 600
    unchanged = web.post(
        url, posted | {"sla-P2_resolution": "10h", "sla-effective_from": "2026-09-01"}, follow=True
    )
    assert "Nothing changed." in unchanged.content.decode()


def test_an_uploaded_file_with_problems_names_each_key_path(world, client_for):
    contract = world.acme_contract
    url = reverse("contract_file_upload", args=[world.acme.slug, contract.pk])
    document = yaml.safe_load(contract_file_yaml(contract_file_export(contract=contract)))
    document["sla"]["targets"]["P2"]["resolution_minutes"] = 0
    document["contract"]["timezone"] = "Nowhere/City"
    upload = SimpleUploadedFile("acme.yaml", yaml.safe_dump(document).encode())
    page = client_for(world.advisor).post(url, {"file": upload})
    html = page.content.decode()
    assert page.status_code == 200
    assert "sla.targets.P2.resolution_minutes: must be a positive integer" in html
    assert "contract.timezone: &#x27;Nowhere/City&#x27; is not an IANA time zone" in html
    assert contract.sla_versions.count() == 1


def test_a_file_of_another_contract_is_refused_on_this_page(world, client_for):
    contract = world.acme_contract
    url = reverse("contract_file_upload", args=[world.acme.slug, contract.pk])
    other = contract_file_yaml(contract_file_export(contract=world.birch_contract))
    before = ResponsibilityMatrixVersion.objects.count()
    page = client_for(world.advisor).post(
        url, {"file": SimpleUploadedFile("birch.yaml", other.encode())}
    )
    assert page.status_code == 200
    assert "client.slug: this page is for acme-dental" in page.content.decode()
    assert ResponsibilityMatrixVersion.objects.count() == before


def test_a_downloaded_file_uploads_again_as_no_change(world, client_for):
    contract = world.acme_contract
    web = client_for(world.advisor)
    download = web.get(reverse("contract_file_download", args=[world.acme.slug, contract.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="acme-dental-contract.yaml"'
    upload = SimpleUploadedFile("acme.yaml", download.content)
    page = web.post(
        reverse("contract_file_upload", args=[world.acme.slug, contract.pk]),
        {"file": upload},
        follow=True,
    )
    assert "Nothing changed." in page.content.decode()
    # A client's reader may download it too: the contract page shows the same terms.
    viewer = client_for(world.viewer)
    assert (
        viewer.get(
            reverse("contract_file_download", args=[world.acme.slug, contract.pk])
        ).status_code
        == 200
    )


def _shown_as_posted(page) -> dict:
    """Every form and formset of a setup page, posted back as shown."""
    data: dict = {}
    for name in ("form", "calendars", "rows"):
        part = page.context.get(name)
        if part is None:
            continue
        forms = [part] if not hasattr(part, "management_form") else part.forms
        if hasattr(part, "management_form"):
            data |= _as_posted(part.management_form)
        for form in forms:
            data |= {k: v for k, v in _as_posted(form).items() if v is not False}
    return data


def test_every_setup_page_saved_as_shown_changes_nothing(world, client_for):
    """Each page is pre-filled from the export: saving it untouched is no change at all."""
    contract = world.acme_contract
    web = client_for(world.advisor)
    events = AuditEvent.objects.count()
    for name in (
        "contract_setup_terms",
        "contract_setup_calendars",
        "contract_setup_sla",
        "contract_setup_matrix",
        "contract_setup_commitments",
    ):
        url = reverse(name, args=[world.acme.slug, contract.pk])
        saved = web.post(url, _shown_as_posted(web.get(url)), follow=True)
        assert "Nothing changed." in saved.content.decode(), name
    assert AuditEvent.objects.count() == events
