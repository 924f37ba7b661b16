"""Tool reports of every kind: import one (file stored, rows upserted on their natural key,
problems named), undo one; and for patch reports, recompute the measured commitments'
occurrences from their contract's rows. Rows are kept per contract: a client with two MSPs has
two contracts, and each MSP's reports judge only its own contract's commitments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Max

from contracts.models import Commitment, CommitmentOccurrence, Contract
from contracts.services.commitments import commitment_occurrences_ensure
from msp_portal.jobs import recompute_after_commit

from .layouts import Layout
from .measures import measures_refresh
from .models import PatchRow, ToolReport
from .patch_read import patch_report_read
from .patches import PatchMeasure, PatchPair, PatchRule, patch_measure, severity_key
from .presets import PATCH_LAYOUT
from .progress import JUDGING, READING, STORING, Progress, progress_unheard
from .stored import (
    contract_reports_locked,
    report_already_imported,
    report_date_checked,
    report_import_recorded,
    report_removed,
    report_stored,
    report_undo_checked,
    report_upload_read,
)


@dataclass(frozen=True)
class RowKind:
    """How one kind of report is read and its rows kept: the kind (ToolReport.Kind), its layout
    and reader (`read(data, filename, preset, mapping)`), the model, its natural key within the
    client, the fields a newer report overwrites, the words of the audit trail, and
    `counted(read, written)`: the rows imported, where they are not the rows written (a
    per-recipient phishing file's recipients)."""

    kind: str
    layout: Layout
    read: Callable
    model: type[models.Model]
    key: tuple[str, ...]
    fields: tuple[str, ...]
    noun: str  # "patch report"
    counted: Callable[[object, list[dict]], int] | None = None


def tool_report_import(
    *,
    rows: RowKind,
    contract: Contract,
    upload,
    preset: str,
    report_date: date,
    actor,
    source: str,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> ToolReport:
    """Store a tool report and its rows: the file under a random name with its SHA-256, the
    rows upserted on their natural key, an older report never overwriting what a newer one
    said (importing the same report again changes no row), the import audited, every measured
    commitment judged again and the client recomputed once the import commits. The same report
    imported again is answered with the first (no second entry). Imports and undos of one
    contract take turns (contract_reports_locked). `progress` hears each phase (a background
    import shows it on its page: evidence/jobs.py)."""
    said = progress or progress_unheard
    report_date_checked(contract, report_date)
    said(READING, 0, None)
    sha256, result = report_upload_read(upload, rows.layout, preset, rows.read, mapping)
    client = contract.client
    with transaction.atomic():
        contract_reports_locked(contract.pk)
        same = report_already_imported(contract, rows.kind, sha256, report_date, preset, result)
        if same is not None:
            return same
        report = report_stored(
            contract=contract,
            kind=rows.kind,
            upload=upload,
            preset=preset,
            sha256=sha256,
            report_date=report_date,
            actor=actor,
            read=result,
        )
        written = _rows_upsert(rows, report, result.rows, said)
        report.rows_imported = rows.counted(result, written) if rows.counted else len(written)
        report.save(update_fields=["rows_imported"])
        report_import_recorded(report, actor=actor, source=source, noun=rows.noun)
        said(JUDGING, len(result.rows), len(result.rows))
        measures_refresh(client_id=client.pk)
        recompute_after_commit(client.pk)
    return report


# Rows written per statement, and per progress report: a 150,000-row file says where it is
# 75 times.
ROWS_BATCH = 2000


def _rows_upsert(rows: RowKind, report: ToolReport, read: list[dict], said: Progress) -> list[dict]:
    """Write the rows no newer report has spoken for, keeping those they overwrite in the
    report (for undo); returns the rows written."""
    existing = {
        tuple(getattr(r, k) for k in rows.key): r
        for r in rows.model.objects.filter(contract_id=report.contract_id)  # type: ignore[attr-defined]
    }
    fresh, written = [], []
    for row in read:
        before = existing.get(tuple(row[k] for k in rows.key))
        if before is not None and before.last_seen > report.report_date:
            continue  # a newer report already said more about this row
        if before is not None:
            report.replaced.append(_row_state(rows, before))
        values = {k: v for k, v in row.items() if k != "row"}
        written.append(row)
        fresh.append(
            rows.model(
                client_id=report.client_id,
                contract_id=report.contract_id,
                report=report,
                last_seen=report.report_date,
                **values,
            )
        )
    report.save(update_fields=["replaced"])
    said(STORING, 0, len(fresh))
    for start in range(0, len(fresh), ROWS_BATCH):
        rows.model.objects.bulk_create(  # type: ignore[attr-defined]
            fresh[start : start + ROWS_BATCH],
            update_conflicts=True,
            unique_fields=["contract", *rows.key],
            update_fields=["report", *rows.fields, "last_seen"],
        )
        said(STORING, min(start + ROWS_BATCH, len(fresh)), len(fresh))
    return written


def _row_state(rows: RowKind, row: models.Model) -> dict:
    """A row as JSON, to put back on undo: dates and times as ISO text."""
    state: dict = {"report": row.report_id}  # type: ignore[attr-defined]
    for name in (*rows.key, *rows.fields, "last_seen"):
        value = getattr(row, name)
        state[name] = value.isoformat() if isinstance(value, date | datetime) else value
    return state


def _row_from_state(rows: RowKind, report: ToolReport, state: dict) -> models.Model:
    """A row the undone `report` overwrote, back as it was (of the report's contract)."""
    values = {}
    for name in (*rows.key, *rows.fields, "last_seen"):
        value, model_field = state[name], rows.model._meta.get_field(name)
        if value is not None and isinstance(model_field, models.DateTimeField):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(model_field, models.DateField):
            value = date.fromisoformat(value)
        values[name] = value
    return rows.model(
        client_id=report.client_id,
        contract_id=report.contract_id,
        report_id=state["report"],
        **values,
    )


def tool_report_undo(*, rows: RowKind, report: ToolReport, actor, source: str) -> None:
    """Take a report back: its rows go, the rows it overwrote come back as they were, and the
    measured commitments are judged again. Newest first: a later report of the contract may
    have built on this one (checked holding the contract's lock, so no import slips in)."""
    client_id = report.client_id
    with transaction.atomic():
        contract_reports_locked(report.contract_id)
        report_undo_checked(report)
        report.refresh_from_db(fields=["replaced"])
        rows.model.objects.filter(report=report).delete()  # type: ignore[attr-defined]
        rows.model.objects.bulk_create(  # type: ignore[attr-defined]
            [_row_from_state(rows, report, state) for state in report.replaced]
        )
        report_removed(report, actor=actor, source=source, noun=rows.noun)
        measures_refresh(client_id=client_id)
        recompute_after_commit(client_id)


PATCH_ROWS = RowKind(
    kind=ToolReport.Kind.PATCHES,
    layout=PATCH_LAYOUT,
    read=patch_report_read,
    model=PatchRow,
    key=("device", "patch"),
    fields=("severity", "released", "installed", "status"),
    noun="patch report",
)


def patch_report_import(**arguments) -> ToolReport:
    """Store a patch report and its rows, keyed on contract + device + patch (the arguments of
    tool_report_import but `rows`)."""
    return tool_report_import(rows=PATCH_ROWS, **arguments)


def patch_report_undo(*, report: ToolReport, actor, source: str) -> None:
    tool_report_undo(rows=PATCH_ROWS, report=report, actor=actor, source=source)


def retired_devices(seen: list[tuple[str, date]]) -> dict[str, date]:
    """From (device, a report date that listed it) pairs: each device absent from the latest
    report → the last report date that listed it (it was retired after that day)."""
    if not seen:
        return {}
    latest = max(day for _device, day in seen)
    last: dict[str, date] = {}
    for device, day in seen:
        last[device] = max(last.get(device, day), day)
    return {device: day for device, day in last.items() if day != latest}


def contract_patch_pairs(contract_id: int) -> list[PatchPair]:
    """The contract's pairs, each device's retirement read from the report dates: a device
    absent from the latest report was retired after the last report that listed it."""
    rows = list(PatchRow.objects.filter(contract_id=contract_id))
    retired = retired_devices([(r.device, r.last_seen) for r in rows])
    return [
        PatchPair(
            device=r.device,
            patch=r.patch,
            severity=r.severity,
            released=r.released,
            installed=r.installed,
            retired_after=retired.get(r.device),
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
        contract_patch_pairs(commitment.contract_id),
        commitment_rule(commitment),
        occurrence.period_start,
        occurrence.due_date,
    )


def patch_measures_refresh(*, client_id: int) -> int:
    """Store the measure of every occurrence of the client's patch-measured commitments, each
    contract's from its own rows: only of periods a report covers (the contract's latest
    report is dated on or after the period's last day; a report cannot speak for days after
    it was exported). Returns how many were measured."""
    return sum(
        _patch_contract_refresh(contract_id, commitments)
        for contract_id, commitments in commitments_by_contract(client_id, "patches").items()
    )


def _patch_contract_refresh(contract_id: int, commitments: list[Commitment]) -> int:
    pairs = contract_patch_pairs(contract_id)
    return occurrence_measures_store(
        commitments,
        latest_report_date(contract_id),
        lambda c, o: patch_measure(pairs, commitment_rule(c), o.period_start, o.due_date),
    )


def commitments_by_contract(client_id: int, measured_by: str) -> dict[int, list[Commitment]]:
    """The client's commitments measured by a kind, by contract: each contract is judged from
    its own reports only (another contract of the client may be another MSP's)."""
    found: dict[int, list[Commitment]] = {}
    for commitment in Commitment.objects.filter(
        contract__client_id=client_id, measured_by=measured_by
    ).select_related("contract"):
        found.setdefault(commitment.contract_id, []).append(commitment)
    return found


def occurrence_measures_store(commitments, covered_until: date | None, measure_of) -> int:
    """Store each occurrence's measure (`measure_of(commitment, occurrence).summary()`) where
    the reports cover its period, None where they do not; returns how many are measured."""
    measured = 0
    for commitment in commitments:
        commitment_occurrences_ensure(commitment=commitment)
        for occurrence in commitment.occurrences.all():
            summary = (
                measure_of(commitment, occurrence).summary()
                if covered_until is not None and occurrence.due_date <= covered_until
                else None
            )
            measured += occurrence_measure_save(occurrence, summary)
    return measured


def occurrence_measure_save(occurrence: CommitmentOccurrence, summary: dict | None) -> bool:
    """Store an occurrence's measure where it changed; True when it is measured."""
    if occurrence.measure != summary:
        occurrence.measure = summary
        occurrence.save(update_fields=["measure"])
    return summary is not None


def latest_report_date(contract_id: int, kind: str = ToolReport.Kind.PATCHES) -> date | None:
    """The export day of the contract's latest report of a kind: the periods it covers end
    there."""
    return ToolReport.objects.filter(contract_id=contract_id, kind=kind).aggregate(
        d=Max("report_date")
    )["d"]
