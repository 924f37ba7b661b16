"""What importing and undoing a tool report does whatever its kind: the upload checked and read,
the file stored with its SHA-256 and the audit trail, and on undo the newest-first rule, the
audit, the report and its file gone. Each kind's services (evidence/services.py for patches,
evidence/hygiene_services.py for phishing and MFA) add their own rows and measures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.db import transaction

from contracts.models import Contract
from contracts.services.audit import audit_record
from contracts.services.commitments import upload_checked
from kpis.imports.ingest.errors import UnusableFile

from .layouts import Layout
from .models import ToolReport


def report_upload_read(upload, layout: Layout, preset: str, reader: Callable, mapping):
    """(sha256, what the kind's reader found) for an upload; refuses an unknown layout, a
    file of the wrong type or one that cannot be used as a whole, saying why."""
    if layout.preset(preset) is None:
        raise ValidationError(
            f"No layout called '{preset}': choose one of {', '.join(layout.presets)}."
        )
    # Any encoding the reader decodes: the tools export Windows-1252 and UTF-16 too.
    _content_type, sha256 = upload_checked(upload, text_checked=False)
    data = upload.read()
    upload.seek(0)
    try:
        read = reader(data, upload.name, layout.presets[preset], mapping)
    except UnusableFile as error:
        raise ValidationError(str(error)) from None
    return sha256, read


def report_stored(
    *,
    contract: Contract,
    kind: str,
    upload,
    preset: str,
    sha256: str,
    report_date: date,
    actor,
    read,
    statement: str = "",
) -> ToolReport:
    """The report and its file saved (inside the caller's transaction); its rows are the
    caller's to write."""
    report = ToolReport(
        client=contract.client,
        contract=contract,
        kind=kind,
        preset=preset,
        original_name=PurePath(upload.name).name[:255],
        sha256=sha256,
        report_date=report_date,
        uploaded_by=actor,
        rows_read=read.rows_read,
        problems=read.problems,
        statement=statement,
    )
    report.file.save(report.original_name, upload, save=False)
    report.save()
    return report


def report_import_recorded(report: ToolReport, *, actor, source: str, noun: str) -> None:
    audit_record(
        actor=actor,
        source=source,
        contract=report.contract,
        action="import",
        obj=report,
        kind="reports",
        changes={noun: [None, f"{report.original_name}, {report.rows_imported} rows"]},
    )


def report_undo_checked(report: ToolReport) -> None:
    """Newest first: a later report of the client's same kind may build on this one."""
    later = ToolReport.objects.filter(
        client_id=report.client_id, kind=report.kind, pk__gt=report.pk
    )
    if later.exists():
        raise ValidationError(
            f"{report.original_name}: undo the reports imported after it first, newest first."
        )


def report_removed(report: ToolReport, *, actor, source: str, noun: str) -> None:
    """The undo recorded and the report deleted (its rows with it, by cascade), inside the
    caller's transaction; the file goes once the undo has committed, so a rolled-back undo
    keeps its report whole."""
    audit_record(
        actor=actor,
        source=source,
        contract=report.contract,
        action="undo",
        obj=report,
        kind="reports",
        changes={noun: [report.original_name, None]},
    )
    stored, storage = report.file.name, report.file.storage
    report.delete()
    transaction.on_commit(lambda: storage.delete(stored))
