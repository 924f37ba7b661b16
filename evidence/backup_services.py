"""Backup job reports and restore test reports: import and undo (evidence/services.py does the
storing), the client's runs, protected systems and tests as the pure measure takes them
(evidence/backups.py), and the stored measure of every occurrence of the commitments measured
by them. The protected systems come from the backup reports, so either import judges both."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Max

from contracts.models import Commitment, CommitmentOccurrence, Contract

from .backup_presets import BACKUP_LAYOUT, RESTORE_LAYOUT
from .backup_read import backup_report_read, restore_report_read
from .backups import (
    BackupMeasure,
    BackupRule,
    BackupRun,
    ProtectedSystem,
    RestoreMeasure,
    RestoreTest,
    backup_measure,
    restore_measure,
    system_key,
)
from .models import BackupJobRow, RestoreTestRow, ToolReport
from .services import RowKind, occurrence_measures_store, tool_report_import, tool_report_undo

BACKUP_ROWS = RowKind(
    model=BackupJobRow,
    key=("job", "device", "started"),
    fields=("result", "raw_result"),
    noun="backup job report",
)
RESTORE_ROWS = RowKind(
    model=RestoreTestRow,
    key=("system", "tested_on"),
    fields=("result", "raw_result", "scope"),
    noun="restore test report",
)


def backup_report_import(
    *,
    contract: Contract,
    upload,
    preset: str,
    report_date: date,
    actor,
    source: str,
    mapping: dict[str, str] | None = None,
) -> ToolReport:
    """Store a backup job report, its runs keyed on client + job + device + start."""
    return tool_report_import(
        rows=BACKUP_ROWS,
        kind=ToolReport.Kind.BACKUPS,
        contract=contract,
        upload=upload,
        preset=preset,
        layout=BACKUP_LAYOUT,
        read=backup_report_read,
        report_date=report_date,
        actor=actor,
        source=source,
        mapping=mapping,
    )


def restore_report_import(
    *,
    contract: Contract,
    upload,
    preset: str,
    report_date: date,
    actor,
    source: str,
    mapping: dict[str, str] | None = None,
) -> ToolReport:
    """Store a restore test report, its tests keyed on client + system + day."""
    return tool_report_import(
        rows=RESTORE_ROWS,
        kind=ToolReport.Kind.RESTORES,
        contract=contract,
        upload=upload,
        preset=preset,
        layout=RESTORE_LAYOUT,
        read=restore_report_read,
        report_date=report_date,
        actor=actor,
        source=source,
        mapping=mapping,
    )


def backup_report_undo(*, report: ToolReport, actor, source: str) -> None:
    tool_report_undo(rows=BACKUP_ROWS, report=report, actor=actor, source=source)


def restore_report_undo(*, report: ToolReport, actor, source: str) -> None:
    tool_report_undo(rows=RESTORE_ROWS, report=report, actor=actor, source=source)


def latest_report_date(client_id: int, kind: str) -> date | None:
    return ToolReport.objects.filter(client_id=client_id, kind=kind).aggregate(
        d=Max("report_date")
    )["d"]


def client_backup_runs(client_id: int) -> tuple[list[BackupRun], dict[str, date]]:
    """The client's runs, and the retired devices: a device absent from the latest backup
    report was retired after the last report that listed it (device key → that day)."""
    rows = list(BackupJobRow.objects.filter(client_id=client_id))
    if not rows:
        return [], {}
    latest = max(r.last_seen for r in rows)
    seen: dict[str, date] = {}
    for r in rows:
        key = system_key(r.device)
        seen[key] = max(seen.get(key, r.last_seen), r.last_seen)
    runs = [BackupRun(r.job, r.device, r.started, r.result, r.raw_result) for r in rows]
    return runs, {d: day for d, day in seen.items() if day != latest}


def client_protected_systems(client_id: int) -> list[ProtectedSystem]:
    """The devices of the backup reports (one per name compared without case), each with its
    first run and its retirement."""
    runs, retired = client_backup_runs(client_id)
    first: dict[str, BackupRun] = {}
    for run in sorted(runs, key=lambda r: r.started):
        first.setdefault(system_key(run.device), run)
    return [
        ProtectedSystem(run.device, run.day, retired.get(key)) for key, run in sorted(first.items())
    ]


def client_restore_tests(client_id: int) -> list[RestoreTest]:
    return [
        RestoreTest(r.system, r.tested_on, r.result, r.raw_result, r.scope)
        for r in RestoreTestRow.objects.filter(client_id=client_id)
    ]


def backup_rule(commitment: Commitment) -> BackupRule:
    target = commitment.target_percent if commitment.target_percent is not None else Decimal(100)
    return BackupRule(within_days=commitment.within_days or 0, target=float(target) / 100)


def occurrence_backup_measure(occurrence: CommitmentOccurrence) -> BackupMeasure:
    """The measure of one occurrence's period, with the devices and runs behind it."""
    commitment = occurrence.commitment
    runs, retired = client_backup_runs(commitment.contract.client_id)
    return backup_measure(
        runs, backup_rule(commitment), occurrence.period_start, occurrence.due_date, retired
    )


def occurrence_restore_measure(occurrence: CommitmentOccurrence) -> RestoreMeasure:
    """The measure of one occurrence's period, with the systems and tests behind it."""
    client_id = occurrence.commitment.contract.client_id
    return restore_measure(
        client_protected_systems(client_id),
        client_restore_tests(client_id),
        occurrence.period_start,
        occurrence.due_date,
    )


def _commitments(client_id: int, measured_by: str):
    return Commitment.objects.filter(
        contract__client_id=client_id, measured_by=measured_by
    ).select_related("contract")


def backup_measures_refresh(*, client_id: int) -> int:
    """Judge every occurrence of the client's backup-measured commitments."""
    commitments = _commitments(client_id, "backups")
    if not commitments.exists():
        return 0
    runs, retired = client_backup_runs(client_id)
    return occurrence_measures_store(
        commitments,
        latest_report_date(client_id, ToolReport.Kind.BACKUPS),
        lambda c, o: backup_measure(runs, backup_rule(c), o.period_start, o.due_date, retired),
    )


def restore_measures_refresh(*, client_id: int) -> int:
    """Judge every occurrence of the client's restore-measured commitments: a period needs
    both a backup report (the protected systems) and a restore report covering it."""
    commitments = _commitments(client_id, "restores")
    if not commitments.exists():
        return 0
    systems, tests = client_protected_systems(client_id), client_restore_tests(client_id)
    dates = [latest_report_date(client_id, k) for k in (ToolReport.Kind.BACKUPS, "restores")]
    covered_until = None if None in dates else min(d for d in dates if d is not None)
    return occurrence_measures_store(
        commitments,
        covered_until,
        lambda _c, o: restore_measure(systems, tests, o.period_start, o.due_date),
    )
