"""apply_contract: the file format, its key-path errors, idempotency and versioning."""

from __future__ import annotations

import copy
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from contracts.contract_file import ContractFileError, contract_file_parse
from contracts.models import (
    AuditEvent,
    Commitment,
    Contract,
    Organisation,
    ResponsibilityMatrixVersion,
    SlaPolicyVersion,
)
from contracts.services.contract_apply import contract_apply

from .conftest import demo_document

SPEC_EXAMPLE = Path(__file__).resolve().parents[2] / "shared" / "spec" / "contract-example.yaml"
DEMO_ACME = Path(__file__).resolve().parents[1] / "contracts" / "demo" / "acme-dental.yaml"


def parse(doc: dict):
    return contract_file_parse(yaml.safe_dump(doc, sort_keys=False))


def problems_of(doc: dict) -> list[str]:
    with pytest.raises(ContractFileError) as excinfo:
        parse(doc)
    return excinfo.value.problems


def acme() -> dict:
    return copy.deepcopy(demo_document("acme-dental.yaml"))


def test_the_demo_file_is_the_spec_example():
    """The repo keeps its own copy of the shared example; it must not drift from it."""
    if not SPEC_EXAMPLE.exists():
        pytest.skip("../shared is not beside this checkout")
    assert DEMO_ACME.read_text() == SPEC_EXAMPLE.read_text()


def test_it_parses_the_example_with_normalised_hours():
    parsed = parse(acme())
    business = parsed.calendars["business"]
    assert business.weekly_hours == {
        day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
    }
    assert parsed.calendars["always"].always is True
    assert parsed.sla.targets["P2"].resolution_minutes == 480


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["sla"]["targets"]["P2"].update(resolution_minutes=-5),
            "sla.targets.P2.resolution_minutes: must be a positive integer",
        ),
        (
            lambda d: d["sla"]["targets"]["P1"].update(response_minutes="soon"),
            "sla.targets.P1.response_minutes: must be an integer",
        ),
        (
            lambda d: d["sla"]["targets"]["P3"].update(calendar="bizness"),
            "sla.targets.P3.calendar: unknown calendar 'bizness' (defined: always, business)",
        ),
        (
            lambda d: d["sla"].update(repeat_window_days=90),
            "sla.repeat_window_days: must be ≤ 60, not 90",
        ),
        (lambda d: d["sla"]["targets"].pop("P4"), "sla: targets for P4 are missing"),
        (lambda d: d["contract"].update(colour="blue"), "contract.colour: unknown key"),
        (lambda d: d.update(extras={}), "extras: unknown key"),
        (
            lambda d: d["contract"].update(timezone="Mars/Olympus"),
            "contract.timezone: 'Mars/Olympus' is not an IANA time zone (e.g. America/Chicago)",
        ),
        (
            lambda d: d["calendars"]["business"].update(hours={"mon-fri": ["08:00-25:00"]}),
            "calendars.business.hours: mon-fri: '08:00-25:00' "
            "is not a time window like 08:00-17:00",
        ),
        (
            lambda d: d["calendars"]["business"].update(hours={"weekdays": ["08:00-17:00"]}),
            "calendars.business.hours: 'weekdays' "
            "is not a weekday or range of weekdays (mon … sun)",
        ),
        (
            lambda d: d["calendars"]["business"]["holidays"].update(subdivision="ZZ"),
            "calendars.business.holidays: subdivision 'ZZ' is not a subdivision of US",
        ),
        (
            lambda d: d["responsibilities"][0].update(owner="nobody"),
            "responsibilities.0.owner: must be one of 'msp', 'shared' or 'customer', not 'nobody'",
        ),
        (
            lambda d: d["commitments"][1].update(cadence="fortnightly"),
            "commitments.1.cadence: must be one of 'monthly', 'quarterly', 'semiannual' or "
            "'annual', not 'fortnightly'",
        ),
        (
            lambda d: d["client"].update(slug="Acme Dental"),
            "client.slug: must be a slug: lower-case letters, digits and hyphens",
        ),
        (lambda d: d["contract"].update(ends="2024-01-01"), "contract: ends is before starts"),
        (
            lambda d: d["contract"]["pricing"].pop("unit_price"),
            "contract.pricing: a per_user contract needs unit_price",
        ),
        (
            lambda d: d["commitments"].append(dict(d["commitments"][0])),
            "commitments.4.name: 'Backup restore test' appears twice",
        ),
        (lambda d: d.pop("sla"), "sla: required key is missing"),
        (
            lambda d: d["contract"].update(disputes={"unanswered": "ignored"}),
            "contract.disputes.unanswered: must be one of 'accepted' or 'escalated', not 'ignored'",
        ),
        (
            lambda d: d["contract"].update(disputes={"response_window_business_days": 0}),
            "contract.disputes.response_window_business_days: must be ≥ 1, not 0",
        ),
    ],
)
def test_bad_values_are_named_by_key_path(mutate, expected):
    doc = acme()
    mutate(doc)
    assert expected in problems_of(doc)


def test_it_reports_every_problem_at_once():
    doc = acme()
    doc["sla"]["targets"]["P2"]["resolution_minutes"] = -5
    doc["contract"]["colour"] = "blue"
    assert len(problems_of(doc)) == 2


def test_it_rejects_files_that_are_not_a_mapping():
    with pytest.raises(ContractFileError) as excinfo:
        contract_file_parse("- just\n- a list\n")
    assert excinfo.value.problems[0].startswith("(top):")
    with pytest.raises(ContractFileError) as excinfo:
        contract_file_parse("client: [unclosed")
    assert "not valid YAML" in excinfo.value.problems[0]


def test_json_is_accepted(db, tmp_path):
    import json

    path = tmp_path / "acme.json"
    path.write_text(json.dumps(acme(), default=str))
    call_command("apply_contract", str(path), stdout=StringIO())
    assert Contract.objects.filter(client__slug="acme-dental").exists()


@pytest.mark.django_db
def test_applying_the_same_file_twice_reports_no_changes():
    out = StringIO()
    call_command("apply_contract", str(DEMO_ACME), stdout=out)
    assert "created contract 'Managed IT services 2025-2027'" in out.getvalue()
    events = AuditEvent.objects.count()
    out = StringIO()
    call_command("apply_contract", str(DEMO_ACME), stdout=out)
    assert out.getvalue().startswith("No changes:")
    assert AuditEvent.objects.count() == events
    assert SlaPolicyVersion.objects.count() == 1
    assert ResponsibilityMatrixVersion.objects.count() == 1


@pytest.mark.django_db
def test_a_bad_file_exits_non_zero_and_writes_nothing(tmp_path):
    doc = acme()
    doc["sla"]["targets"]["P2"]["resolution_minutes"] = -5
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(CommandError) as excinfo:
        call_command("apply_contract", str(path))
    assert "sla.targets.P2.resolution_minutes: must be a positive integer" in str(excinfo.value)
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_a_changed_sla_becomes_a_new_version_and_keeps_the_old():
    contract_apply(data=parse(acme()))
    doc = acme()
    doc["sla"]["effective_from"] = "2026-01-01"
    doc["sla"]["targets"]["P2"]["resolution_minutes"] = 420
    result = contract_apply(data=parse(doc))
    assert result.changes == ["created SLA policy version effective 2026-01-01"]
    contract = result.contract
    versions = list(contract.sla_versions.order_by("effective_from"))
    assert [v.effective_from.isoformat() for v in versions] == ["2025-07-01", "2026-01-01"]
    assert versions[0].targets.get(priority="P2").resolution_minutes == 480
    assert versions[1].targets.get(priority="P2").resolution_minutes == 420
    from datetime import date

    assert contract.current_policy(on=date(2025, 12, 31)) == versions[0]
    assert contract.current_policy(on=date(2026, 1, 1)) == versions[1]


@pytest.mark.django_db
def test_a_version_is_never_rewritten_in_place():
    contract_apply(data=parse(acme()))
    doc = acme()
    doc["sla"]["targets"]["P2"]["resolution_minutes"] = 420  # same effective_from
    with pytest.raises(ContractFileError) as excinfo:
        contract_apply(data=parse(doc))
    assert excinfo.value.problems[0].startswith("sla.effective_from: a policy version effective")
    assert SlaPolicyVersion.objects.get().targets.get(priority="P2").resolution_minutes == 480


@pytest.mark.django_db
def test_a_changed_calendar_is_a_new_sla_version():
    contract_apply(data=parse(acme()))
    doc = acme()
    doc["sla"]["effective_from"] = "2026-01-01"
    doc["calendars"]["business"]["hours"] = {"mon-fri": ["07:00-18:00"]}
    contract_apply(data=parse(doc))
    newest = SlaPolicyVersion.objects.order_by("-effective_from").first()
    assert newest.calendars.get(key="business").weekly_hours["mon"] == [["07:00", "18:00"]]


@pytest.mark.django_db
def test_a_changed_matrix_is_a_new_unapproved_version():
    contract_apply(data=parse(acme()))
    doc = acme()
    doc["responsibilities"][6]["split"] = "MSP runs the CAB; the client approves changes"
    result = contract_apply(data=parse(doc))
    assert result.changes == [
        "proposed responsibility matrix version 2: it applies once the client and the MSP "
        "both approve it"
    ]
    newest = result.contract.current_matrix()
    assert newest.number == 2 and newest.client_approved_at is None
    # The first proposal, never approved, is replaced: withdrawn, kept as history.
    first = result.contract.matrix_versions.get(number=1)
    assert first.state == "withdrawn" and first.assignments.count() == 10


@pytest.mark.django_db
def test_commitments_left_out_are_retired_not_deleted():
    contract_apply(data=parse(acme()))
    doc = acme()
    doc["commitments"] = doc["commitments"][:2]
    result = contract_apply(data=parse(doc))
    assert sorted(result.changes) == [
        "retired commitment 'Phishing simulation' (not in the file)",
        "retired commitment 'Quarterly business review held' (not in the file)",
    ]
    assert Commitment.objects.count() == 4
    assert Commitment.objects.filter(is_active=False).count() == 2


@pytest.mark.django_db
def test_a_slug_of_another_kind_is_rejected_and_nothing_is_written():
    contract_apply(data=parse(acme()))
    doc = demo_document("birch-cole-law.yaml")
    doc["msp"] = {"slug": "acme-dental", "name": "Acme pretending to be an MSP"}
    before = Contract.objects.count()
    with pytest.raises(ContractFileError) as excinfo:
        contract_apply(data=parse(doc))
    assert excinfo.value.problems == ["msp.slug: 'acme-dental' is already a Client, not a msp"]
    assert Contract.objects.count() == before
    assert not Organisation.objects.filter(slug="birch-cole-law").exists()


@pytest.mark.django_db
def test_changes_are_in_the_audit_trail_with_before_and_after():
    contract_apply(data=parse(acme()))
    doc = acme()
    doc["client"]["seats"]["users"] = 61
    contract_apply(data=parse(doc))
    event = AuditEvent.objects.filter(action="update", object_type="contract").get()
    assert event.changes == {"seats_users": [58, 61]}
    assert event.source == "command"


@pytest.mark.django_db
def test_the_dispute_terms_default_to_ten_business_days_and_accepted_and_round_trip():
    from contracts.contract_export import contract_document

    doc = acme()
    result = contract_apply(data=parse(doc))
    contract = result.contract
    assert (contract.dispute_window_days, contract.dispute_unanswered) == (10, "accepted")
    doc["contract"]["disputes"] = {"response_window_business_days": 5, "unanswered": "escalated"}
    contract = contract_apply(data=parse(doc)).contract
    contract.refresh_from_db()
    assert (contract.dispute_window_days, contract.dispute_unanswered) == (5, "escalated")
    exported = contract_document(contract=contract)
    assert exported["contract"]["disputes"] == {
        "response_window_business_days": 5,
        "unanswered": "escalated",
    }
