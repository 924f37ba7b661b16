"""Backup job reports and restore test reports: import and undo (evidence/services.py does the
storing), a contract's runs, protected systems and tests as the pure measure takes them
(evidence/backups.py), and the stored measure of every occurrence of the commitments measured
by them. The protected systems come from the backup reports, so either import judges both."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contracts.models import Commitment, CommitmentOccurrence

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
from .services import (
    RowKind,
    commitments_by_contract,
    latest_report_date,
    occurrence_measures_store,
    retired_devices,
    tool_report_import,
    tool_report_undo,
)

BACKUP_ROWS = RowKind(
    kind=ToolReport.Kind.BACKUPS,
    layout=BACKUP_LAYOUT,
    read=backup_report_read,
    model=BackupJobRow,
    key=("job", "device", "started"),
    fields=("result", "raw_result"),
    noun="backup job report",
)
RESTORE_ROWS = RowKind(
    kind=ToolReport.Kind.RESTORES,
    layout=RESTORE_LAYOUT,
    read=restore_report_read,
    model=RestoreTestRow,
    key=("system", "tested_on"),
    fields=("result", "raw_result", "scope"),
    noun="restore test report",
)


def backup_report_import(**arguments) -> ToolReport:
    """Store a backup job report, its runs keyed on contract + job + device + start."""
    return tool_report_import(rows=BACKUP_ROWS, **arguments)


def restore_report_import(**arguments) -> ToolReport:
    """Store a restore test report, its tests keyed on contract + system + day."""
    return tool_report_import(rows=RESTORE_ROWS, **arguments)


def backup_report_undo(*, report: ToolReport, actor, source: str) -> None:
    tool_report_undo(rows=BACKUP_ROWS, report=report, actor=actor, source=source)


def restore_report_undo(*, report: ToolReport, actor, source: str) -> None:
    tool_report_undo(rows=RESTORE_ROWS, report=report, actor=actor, source=source)


def contract_backup_runs(contract_id: int) -> tuple[list[BackupRun], dict[str, date]]:
    """The contract's runs, and the retired devices: a device absent from the latest backup
    report was retired after the last report that listed it (device key → that day)."""
    rows = list(BackupJobRow.objects.filter(contract_id=contract_id))
    runs = [BackupRun(r.job, r.device, r.started, r.result, r.raw_result) for r in rows]
    return runs, retired_devices([(system_key(r.device), r.last_seen) for r in rows])


def contract_protected_systems(contract_id: int) -> list[ProtectedSystem]:
    """The devices of the backup reports (one per name compared without case), each with its
    first run and its retirement."""
    runs, retired = contract_backup_runs(contract_id)
    first: dict[str, BackupRun] = {}
    for run in sorted(runs, key=lambda r: r.started):
        first.setdefault(system_key(run.device), run)
    return [
        ProtectedSystem(run.device, run.day, retired.get(key)) for key, run in sorted(first.items())
    ]


def contract_restore_tests(contract_id: int) -> list[RestoreTest]:
    return [
        RestoreTest(r.system, r.tested_on, r.result, r.raw_result, r.scope)
        for r in RestoreTestRow.objects.filter(contract_id=contract_id)
    ]


def backup_rule(commitment: Commitment) -> BackupRule:
    target = commitment.target_percent if commitment.target_percent is not None else Decimal(100)
    return BackupRule(within_days=commitment.within_days or 0, target=float(target) / 100)


def occurrence_backup_measure(occurrence: CommitmentOccurrence) -> BackupMeasure:
    """The measure of one occurrence's period, with the devices and runs behind it."""
    commitment = occurrence.commitment
    runs, retired = contract_backup_runs(commitment.contract_id)
    return backup_measure(
        runs, backup_rule(commitment), occurrence.period_start, occurrence.due_date, retired
    )


def occurrence_restore_measure(occurrence: CommitmentOccurrence) -> RestoreMeasure:
    """The measure of one occurrence's period, with the systems and tests behind it."""
    contract_id = occurrence.commitment.contract_id
    return restore_measure(
        contract_protected_systems(contract_id),
        contract_restore_tests(contract_id),
        occurrence.period_start,
        occurrence.due_date,
    )


def backup_measures_refresh(*, client_id: int) -> int:
    """Judge every occurrence of the client's backup-measured commitments, each contract's from
    its own runs."""
    return sum(
        _backup_contract_refresh(contract_id, commitments)
        for contract_id, commitments in commitments_by_contract(client_id, "backups").items()
    )


def _backup_contract_refresh(contract_id: int, commitments: list[Commitment]) -> int:
    runs, retired = contract_backup_runs(contract_id)
    return occurrence_measures_store(
        commitments,
        latest_report_date(contract_id, ToolReport.Kind.BACKUPS),
        lambda c, o: backup_measure(runs, backup_rule(c), o.period_start, o.due_date, retired),
    )


def restore_measures_refresh(*, client_id: int) -> int:
    """Judge every occurrence of the client's restore-measured commitments, each contract's
    from its own reports: a period needs both a backup report (the protected systems) and a
    restore report covering it."""
    return sum(
        _restore_contract_refresh(contract_id, commitments)
        for contract_id, commitments in commitments_by_contract(client_id, "restores").items()
    )


def _restore_contract_refresh(contract_id: int, commitments: list[Commitment]) -> int:
    systems = contract_protected_systems(contract_id)
    tests = contract_restore_tests(contract_id)
    dates = [latest_report_date(contract_id, k) for k in (ToolReport.Kind.BACKUPS, "restores")]
    covered_until = None if None in dates else min(d for d in dates if d is not None)
    return occurrence_measures_store(
        commitments,
        covered_until,
        lambda _c, o: restore_measure(systems, tests, o.period_start, o.due_date),
    )
