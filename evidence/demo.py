"""The demo's measured commitments (seed_demo): Acme Dental's contract file is the spec's
example, kept equal to it, so the demo applies it with Acme's commitments measured from the
MSP's tool reports (the terms below), and imports the invented reports listed in
evidence/demo/reports.yaml, oldest first. Once only: a report already imported (same kind,
same file) is not imported again."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from contracts.models import Contract

from .models import ToolReport

DEMO_REPORTS = Path(__file__).resolve().parent / "demo"

# Acme's commitments as measured: name → the contract file's `measured` block.
MEASURED = {
    "Critical patches installed within 30 days": {
        "by": "patches",
        "within_days": 30,
        "severities": ["critical"],
    },
    "Backup restore test": {"by": "restores"},
    "Phishing simulation": {"by": "phishing", "limit_percent": 10},
}
# What a missed occurrence credits (a share of the monthly fee), on top of the tiers.
CREDITS = {"Backup restore test": 5}
# Commitments the demo adds to Acme's, measured from the start.
ADDED = [
    {
        "name": "Daily backups succeed",
        "cadence": "monthly",
        "owner": "msp",
        "measured": {"by": "backups", "within_days": 2, "target_percent": 95},
    },
    {
        "name": "MFA for every technician",
        "cadence": "quarterly",
        "owner": "msp",
        "measured": {"by": "mfa"},
    },
]


def demo_contract_document(document: dict) -> dict:
    """The demo contract file as seed_demo applies it: Acme's commitments measured."""
    if document.get("client", {}).get("slug") != "acme-dental":
        return document
    document = copy.deepcopy(document)
    for commitment in document.get("commitments", []):
        if commitment["name"] in MEASURED:
            commitment["measured"] = MEASURED[commitment["name"]]
        if commitment["name"] in CREDITS:
            commitment["credit_percent"] = CREDITS[commitment["name"]]
    named = {c["name"] for c in document["commitments"]}
    document["commitments"] += [c for c in ADDED if c["name"] not in named]
    return document


def demo_reports_ensure(staff) -> list[str]:
    """Import the demo's tool reports for Acme, oldest first, each once; returns what it did."""
    from .kinds import KINDS

    manifest = DEMO_REPORTS / "reports.yaml"
    if not manifest.exists():
        return []
    contract = Contract.objects.select_related("client").get(client__slug="acme-dental")
    entries = sorted(
        yaml.safe_load(manifest.read_text(encoding="utf-8")) or [],
        key=lambda e: (str(e["report_date"]), e["file"]),
    )
    done = []
    for entry in entries:
        kind = KINDS.get(entry["kind"])
        if kind is None:  # a kind not built yet: its sample waits
            continue
        path = DEMO_REPORTS / entry["file"]
        if ToolReport.objects.filter(
            contract=contract, kind=entry["kind"], original_name=path.name
        ).exists():
            continue
        extra = {"statement": entry.get("statement", "")} if kind.statement else {}
        report = kind.import_report(
            contract=contract,
            upload=SimpleUploadedFile(path.name, path.read_bytes()),
            preset=entry["preset"],
            report_date=entry["report_date"],
            actor=staff,
            source="command",
            mapping=entry.get("mapping") or {},
            **extra,
        )
        done.append(f"{path.name}: {report.rows_imported} rows")
    return done
