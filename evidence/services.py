"""Patch reports: import one (file stored, rows upserted on client + device + patch, problems
named), and recompute the measured commitments' occurrences from the client's rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from contracts.models import Commitment, CommitmentOccurrence, Contract
from contracts.services.commitments import commitment_occurrences_ensure
from msp_portal.jobs import recompute_after_commit

from .models import PatchRow, ToolReport
from .patch_read import patch_report_read
from .patches import PatchMeasure, PatchPair, PatchRule, patch_measure, severity_key
from .presets import PATCH_LAYOUT
from .stored import (
    report_import_recorded,
    report_removed,
    report_stored,
    report_undo_checked,
    report_upload_read,
)

_UPDATED = ["report", "severity", "released", "installed", "status", "last_seen"]


def patch_report_import(
    *,
    contract: Contract,
    upload,
    preset: str,
    report_date: date,
    actor,
    source: str,
    mapping: dict[str, str] | None = None,
) -> ToolReport:
    """Store a patch report and its rows; rows of an older report never overwrite what a newer
    one said. Importing the same report again changes no row (idempotent)."""
    sha256, read = report_upload_read(upload, PATCH_LAYOUT, preset, patch_report_read, mapping)
    client = contract.client
    with transaction.atomic():
        report = report_stored(
            contract=contract,
            kind=ToolReport.Kind.PATCHES,
            upload=upload,
            preset=preset,
            sha256=sha256,
            report_date=report_date,
            actor=actor,
            read=read,
        )
        report.rows_imported = _rows_upsert(report, read.rows)
        report.save(update_fields=["rows_imported"])
        report_import_recorded(report, actor=actor, source=source, noun="patch report")
        patch_measures_refresh(client_id=client.pk)
        recompute_after_commit(client.pk)
    return report


def _rows_upsert(report: ToolReport, rows: list[dict]) -> int:
    existing = {(r.device, r.patch): r for r in PatchRow.objects.filter(client_id=report.client_id)}
    fresh = []
    for row in rows:
        before = existing.get((row["device"], row["patch"]))
        if before is not None and before.last_seen > report.report_date:
            continue  # a newer report already said more about this pair
        if before is not None:
            report.replaced.append(_row_state(before))
        fields = {k: v for k, v in row.items() if k != "row"}
        fresh.append(
            PatchRow(
                client_id=report.client_id, report=report, last_seen=report.report_date, **fields
            )
        )
    report.save(update_fields=["replaced"])
    PatchRow.objects.bulk_create(
        fresh,
        update_conflicts=True,
        unique_fields=["client", "device", "patch"],
        update_fields=_UPDATED,
        batch_size=2000,
    )
    return len(fresh)


def _row_state(row: PatchRow) -> dict:
    """A row as JSON, to put back on undo."""
    return {
        "report": row.report_id,
        "device": row.device,
        "patch": row.patch,
        "severity": row.severity,
        "released": row.released.isoformat(),
        "installed": row.installed and row.installed.isoformat(),
        "status": row.status,
        "last_seen": row.last_seen.isoformat(),
    }


def patch_report_undo(*, report: ToolReport, actor, source: str) -> None:
    """Take a report back: its rows go, the rows it overwrote come back as they were, and the
    measured commitments are judged again. Newest first: a later report of the client may have
    built on this one."""
    report_undo_checked(report)
    client_id = report.client_id
    with transaction.atomic():
        PatchRow.objects.filter(report=report).delete()
        PatchRow.objects.bulk_create(
            [
                PatchRow(
                    client_id=client_id,
                    report_id=state["report"],
                    device=state["device"],
                    patch=state["patch"],
                    severity=state["severity"],
                    released=date.fromisoformat(state["released"]),
                    installed=state["installed"] and date.fromisoformat(state["installed"]),
                    status=state["status"],
                    last_seen=date.fromisoformat(state["last_seen"]),
                )
                for state in report.replaced
            ]
        )
        report_removed(report, actor=actor, source=source, noun="patch report")
        patch_measures_refresh(client_id=client_id)
        recompute_after_commit(client_id)


def client_patch_pairs(client_id: int) -> list[PatchPair]:
    """The client's pairs, each device's retirement read from the report dates: a device absent
    from the latest report was retired after the last report that listed it."""
    rows = list(PatchRow.objects.filter(client_id=client_id))
    if not rows:
        return []
    latest = max(r.last_seen for r in rows)
    device_seen: dict[str, date] = {}
    for r in rows:
        device_seen[r.device] = max(device_seen.get(r.device, r.last_seen), r.last_seen)
    return [
        PatchPair(
            device=r.device,
            patch=r.patch,
            severity=r.severity,
            released=r.released,
            installed=r.installed,
            retired_after=None if device_seen[r.device] == latest else device_seen[r.device],
        )
        for r in rows
    ]


def commitment_rule(commitment: Commitment) -> PatchRule:
    severities = frozenset(severity_key(s) for s in commitment.severities.split(",") if s.strip())
    target = commitment.target_percent if commitment.target_percent is not None else Decimal(100)
    return PatchRule(
        within_days=commitment.within_days or 0, severities=severities, target=float(target) / 100
    )


def occurrence_patch_measure(occurrence: CommitmentOccurrence) -> PatchMeasure:
    """The measure of one occurrence's period, with the rows behind it (the drill-down)."""
    commitment = occurrence.commitment
    return patch_measure(
        client_patch_pairs(commitment.contract.client_id),
        commitment_rule(commitment),
        occurrence.period_start,
        occurrence.due_date,
    )


def patch_measures_refresh(*, client_id: int) -> int:
    """Store the measure of every occurrence of the client's patch-measured commitments: only
    of periods a report covers (the latest report is dated on or after the period's last day;
    a report cannot speak for days after it was exported). Returns how many were measured."""
    pairs = client_patch_pairs(client_id)
    covered_until = latest_report_date(client_id)
    commitments = Commitment.objects.filter(
        contract__client_id=client_id, measured_by="patches"
    ).select_related("contract")
    measured = 0
    for commitment in commitments:
        commitment_occurrences_ensure(commitment=commitment)
        rule = commitment_rule(commitment)
        for occurrence in commitment.occurrences.all():
            summary = (
                patch_measure(pairs, rule, occurrence.period_start, occurrence.due_date).summary()
                if covered_until is not None and occurrence.due_date <= covered_until
                else None
            )
            if occurrence.measure != summary:
                occurrence.measure = summary
                occurrence.save(update_fields=["measure"])
            measured += summary is not None
    return measured


def latest_report_date(client_id: int) -> date | None:
    return ToolReport.objects.filter(client_id=client_id, kind=ToolReport.Kind.PATCHES).aggregate(
        d=Max("report_date")
    )["d"]
