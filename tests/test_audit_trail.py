"""The audit trail people read: whole values, field names in words, an SLA version beside the one
before it, a matrix version area by area, imports and approvals in the same trail, filters by
kind and dates, and a CSV export of what the filters chose."""

from __future__ import annotations

import csv
import importlib
import io
from datetime import UTC, date, datetime

import yaml
from django.apps import apps as django_apps
from django.db.models.fields.files import FieldFile
from django.urls import reverse

from contracts.models import AuditEvent
from contracts.services.audit import update_audited
from contracts.services.matrix import matrix_approve
from kpis.imports.services import import_file_sync
from kpis.imports.undo import import_undo
from kpis.models import ImportJob

from .conftest import DEMO, apply_yaml_text

LONG_ITEM = "Managed backup of every workstation and server, restored and tested monthly " * 5


def _history(world, client, **params):
    url = reverse("contract_history", args=[world.acme.slug, world.acme_contract.pk])
    return client.get(url, params)


def _acme_document() -> dict:
    return yaml.safe_load((DEMO / "acme-dental.yaml").read_text())


def test_a_long_value_is_shown_whole_not_cut_at_80_characters(world, client_for):
    contract = world.acme_contract
    update_audited(
        contract,
        {"in_scope": [*contract.in_scope, LONG_ITEM]},
        fields=["in_scope"],
        actor=world.msp_staff,
        source="web",
        contract=contract,
    )
    page = _history(world, client_for(world.owner), kind="terms")
    html = page.content.decode()
    assert LONG_ITEM.strip() in html
    assert "In scope" in html and "in_scope" not in html  # the field's name in words


def test_a_new_sla_version_is_logged_beside_the_previous_one(world, client_for):
    document = _acme_document()
    document["sla"]["effective_from"] = date(2025, 10, 1)
    document["sla"]["targets"]["P2"]["resolution_minutes"] = 900
    apply_yaml_text(yaml.safe_dump(document))
    event = AuditEvent.objects.filter(
        contract=world.acme_contract, object_model="contracts.slapolicyversion", action="propose"
    ).latest("pk")
    assert event.kind == AuditEvent.Kind.SLA
    targets_before, targets_after = event.changes["targets"]
    assert targets_before["P2"]["resolution_minutes"] == 480
    assert targets_after["P2"]["resolution_minutes"] == 900
    assert event.changes["effective_from"] == ["2025-07-01", "2025-10-01"]

    page = _history(world, client_for(world.owner), kind="sla")
    view = next(v for v in page.context["views"] if v.event.pk == event.pk)
    rows = {row.priority: row for row in view.sla_rows}
    assert rows["P2 – high"].resolution == ("8 h", "15 h")
    assert rows["P2 – high"].changed and not rows["P1 – critical"].changed
    assert rows["P1 – critical"].response == ("30 min", "30 min")  # unchanged, shown beside
    assert "Resolution before" in page.content.decode()


def test_a_matrix_version_is_shown_area_by_area(world, client_for):
    document = _acme_document()
    for row in document["responsibilities"]:
        if row["area"] == "Change management":
            row["split"] = "MSP plans and runs changes; the client approves them"
    document["responsibilities"].append({"area": "Printers", "owner": "customer"})
    apply_yaml_text(yaml.safe_dump(document))
    event = AuditEvent.objects.filter(
        contract=world.acme_contract, object_model="contracts.responsibilitymatrixversion"
    ).latest("pk")
    page = _history(world, client_for(world.owner), kind="matrix")
    view = next(v for v in page.context["views"] if v.event.pk == event.pk)
    rows = {row.area: row for row in view.area_rows}
    assert rows["Printers"].status == "added" and rows["Printers"].owner == ("", "Customer")
    assert rows["Change management"].status == "changed"
    assert rows["Change management"].split[1].startswith("MSP plans and runs changes")
    assert rows["Monitoring and alerting"].status == "unchanged"


def _admin_client(client, django_user_model):
    """A superuser logged in through the portal with their second factor, as the admin needs."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from .conftest import PASSWORD
    from .test_auth import _current_code

    root = django_user_model.objects.create_superuser(email="root@portal.test", password=PASSWORD)
    TOTP.activate(root, generate_totp_secret())
    client.post(reverse("account_login"), {"login": root.email, "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": _current_code(root)})
    return client


def _admin_form_data(response) -> dict:
    """The POST body of an admin change page as it stands: the main form, every inline row and
    the inlines' management forms, from the page's own forms."""
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += formset.forms
        management = formset.management_form
        data |= {management.add_prefix(n): management[n].value() for n in management.fields}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False or isinstance(value, FieldFile):
                continue  # a file input left empty keeps the stored file
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def test_an_admin_edit_is_logged_with_its_before_and_after_and_rules_cannot_be_edited(
    world, client, django_user_model, client_for, fresh_cache
):
    """The contract's terms edited in the admin: before → after in the trail. An SLA version is
    read only there (issue 24: versions change by agreement): its page takes no edit at all."""
    admin = _admin_client(client, django_user_model)
    policy = world.acme_contract.sla_versions.get()
    policy_url = reverse("admin:contracts_slapolicyversion_change", args=[policy.pk])
    assert admin.post(policy_url, {"repeat_window_days": "45"}).status_code == 403

    url = reverse("admin:contracts_contract_change", args=[world.acme_contract.pk])
    data = _admin_form_data(admin.get(url))
    seats = world.acme_contract.seats_users
    data["seats_users"] = str(seats + 3)
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    event = AuditEvent.objects.get(source="admin", contract=world.acme_contract)
    assert event.changes == {"seats_users": [seats, seats + 3]}
    assert event.object_model == "contracts.contract"
    html = _history(world, client_for(world.owner)).content.decode()
    assert "Seats users" in html


def test_an_admin_edit_of_an_organisation_and_its_people_is_in_the_clients_trail(
    world, client, django_user_model, client_for, fresh_cache
):
    """The inline that stays editable whatever becomes of versioned rules: people's roles."""
    admin = _admin_client(client, django_user_model)
    url = reverse("admin:contracts_organisation_change", args=[world.acme.pk])
    page = admin.get(url)
    data = _admin_form_data(page)
    viewer = next(
        form.prefix
        for inline in page.context["inline_admin_formsets"]
        for form in inline.formset.forms
        if form.instance.user_id == world.viewer.pk
    )
    data[f"{viewer}-role"] = "admin"
    data["name"] = "Acme Dental Group Ltd"
    assert admin.post(url, data).status_code == 302

    from_admin = AuditEvent.objects.filter(source="admin", client=world.acme, contract=None)
    role = from_admin.get(object_model="contracts.membership")
    assert (role.changes, role.kind) == ({"role": ["readonly", "admin"]}, "people")
    renamed = from_admin.get(object_model="contracts.organisation")
    assert renamed.changes == {"name": ["Acme Dental Group", "Acme Dental Group Ltd"]}

    html = _history(world, client_for(world.owner), kind="people").content.decode()
    assert "Role</span>: <del" in html and "Read-only</del> → <ins" in html


def test_the_trail_filters_by_kind_and_dates(world, client_for):
    contract = world.acme_contract
    january = datetime(2025, 1, 10, 9, tzinfo=UTC)
    commitments = AuditEvent.objects.filter(contract=contract, kind="commitments")
    old = set(commitments.values_list("pk", flat=True)[:2])
    AuditEvent.objects.filter(pk__in=old).update(at=january)
    viewer = client_for(world.owner)

    sla = _history(world, viewer, kind="sla").context["page"]
    assert sla.paginator.count == AuditEvent.objects.filter(contract=contract, kind="sla").count()
    assert {e.kind for e in sla.object_list} == {"sla"}

    dated = _history(world, viewer, since="2025-01-01", until="2025-01-31").context["page"]
    assert {e.pk for e in dated.object_list} == old

    wrong = _history(world, viewer, since="2025-02-01", until="2025-01-01")
    assert "To: give a day on or after From." in wrong.content.decode()


def test_the_csv_export_holds_the_filtered_trail_made_inert(world, client_for):
    contract = world.acme_contract
    update_audited(
        contract,
        {"in_scope": ['=HYPERLINK("http://evil.test")', LONG_ITEM]},
        fields=["in_scope"],
        actor=world.msp_staff,
        source="web",
        contract=contract,
    )
    url = reverse("contract_history_csv", args=[world.acme.slug, contract.pk])
    response = client_for(world.owner).get(url, {"kind": "terms"})
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["When (UTC)", "Who", "Through", "Kind", "What", "Field", "Before", "After"]
    assert {row[3] for row in rows[1:]} == {"Contract terms"}
    change = next(row for row in rows if row[5] == "In scope" and "HYPERLINK" in row[7])
    assert change[1] == "staff@northwind.test" and change[2] == "Web"
    assert change[7].startswith("'=HYPERLINK") and LONG_ITEM.strip() in change[7]


def test_imports_are_in_the_trail_uploaded_completed_and_undone(world, client_for):
    job = import_file_sync(
        msp=world.northwind,
        client=world.acme,
        user=world.msp_staff,
        via=ImportJob.Via.WEB,
        name="acme-tickets.csv",
        content=b"Ticket,Opened,Priority\n1,2025-07-01 10:00,P1\n2,2025-07-02 11:00,P2\n",
        preset="generic",
    )
    import_undo(job=job, user=world.msp_staff, source="web")
    response = _history(world, client_for(world.owner), kind="imports")
    page = response.context["page"]
    assert [e.action for e in page.object_list] == ["undo import", "complete", "upload"]
    html = response.content.decode()
    assert "Undo import job" in html and "Complete import job" in html and "Tickets created" in html
    assert all(e.object_id == str(job.pk) for e in page.object_list)
    completed = next(v for v in page.object_list if v.action == "complete")
    assert completed.changes["tickets created"] == [None, 2]


def test_an_approval_is_an_approval_in_the_trail(world, client_for):
    from .conftest import without_gaps

    apply_yaml_text(yaml.safe_dump(without_gaps(_acme_document())))  # approvable: no gaps
    version = world.acme_contract.current_matrix()
    matrix_approve(version=version, side="client", actor=world.owner, source="web")
    page = _history(world, client_for(world.owner), kind="approvals").context["page"]
    assert [(e.action, e.actor) for e in page.object_list] == [("approve (client)", world.owner)]


def test_the_trail_shows_only_its_own_contracts_events(world, client_for):
    AuditEvent.objects.filter(contract=world.birch_contract).update(at=datetime.now(UTC))
    page = _history(world, client_for(world.owner), page=1).context["page"]
    events = list(page.paginator.object_list)
    assert events, "an empty trail would prove nothing"
    assert {e.contract_id for e in events} <= {world.acme_contract.pk, None}
    assert {e.client_id for e in events} == {world.acme.pk}


def test_the_migration_splits_an_old_sla_blob_into_parts_beside_the_version_before(world):
    backfill = importlib.import_module("contracts.migrations.0007_auditevent_kind").backfill
    contract = world.acme_contract
    policy = contract.sla_versions.get()
    blob = {"targets": {"P2": {"response_minutes": 60, "resolution_minutes": 480}}, "uptime": []}
    later = {"targets": {"P2": {"response_minutes": 60, "resolution_minutes": 900}}}
    common = {"source": "command", "client": world.acme, "contract": contract, "action": "create"}
    first = AuditEvent.objects.create(
        **common,
        object_type="SLA policy version",
        object_id=str(policy.pk),
        changes={"sla": [None, blob]},
    )
    second = AuditEvent.objects.create(
        **common, object_type="SLA policy version", object_id="0", changes={"sla": [None, later]}
    )
    backfill(django_apps, None)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.kind, first.object_model) == ("sla", "contracts.slapolicyversion")
    assert first.changes["effective_from"] == [None, "2025-07-01"]
    assert second.changes["targets"] == [blob["targets"], later["targets"]]
