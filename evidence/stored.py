"""What importing and undoing a tool report does whatever its kind: the upload checked and read,
the file stored with its SHA-256 and the audit trail, and on undo the newest-first rule, the
audit, the report and its file gone. The rows are written by evidence/services.py's RowKind
upsert for every kind but the MFA attestation, whose list is its own (hygiene_services.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from contracts.models import Contract
from contracts.services.audit import audit_record
from contracts.services.commitments import contract_today, upload_checked
from kpis.imports.ingest.errors import UnusableFile
from msp_portal.jobs import Locks

from .layouts import Layout
from .models import ToolReport
from .problems import problems_capped


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
    caller's to write. Its problems are kept up to a limit (evidence/problems.py)."""
    report_date_checked(contract, report_date)
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
        problems=problems_capped(read.problems),
        statement=statement,
    )
    report.file.save(report.original_name, upload, save=False)
    report.save()
    return report


def report_date_checked(contract: Contract, report_date: date) -> None:
    """Refuses a report dated after the contract's today: every path (page, API, command,
    demo) stores through report_stored, so this is the one check. A future date would freeze
    its rows: no honest report exported until then could overwrite them."""
    today = contract_today(contract)
    if report_date > today:
        raise ValidationError(
            {
                "report_date": (
                    f"Report date: {report_date:%-d %B %Y} is after today "
                    f"({today:%-d %B %Y}): a report cannot be exported in the future."
                )
            }
        )


def contract_reports_locked(contract_id: int) -> None:
    """Holds the contract's tool reports until the caller's transaction ends: imports and undos
    of one contract take turns, so "an older report never overwrites a newer one" and "newest
    first" are checked against what is committed, and an undo cannot put back rows a racing
    import is replacing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [Locks.TOOL_REPORTS, contract_id])


def report_already_imported(
    contract: Contract, kind: str, sha256: str, report_date: date, preset: str, read, **same
) -> ToolReport | None:
    """The report this import would repeat: same contract, kind, file, report date and layout,
    read alike (the same problems: a changed column mapping reads differently), and whatever
    else `same` names (an attestation's statement). Importing it again changes nothing, so
    the existing report is the answer instead of a second entry in the list."""
    for found in ToolReport.objects.filter(
        contract=contract, kind=kind, sha256=sha256, report_date=report_date, preset=preset, **same
    ).order_by("pk"):
        if found.rows_read == read.rows_read and found.problems == problems_capped(read.problems):
            # Said on the instance, decided under the contract's lock: the background job
            # tells "nothing changed" from "imported" by it, without holding the lock itself
            # while the file is read.
            found.repeated = True  # type: ignore[attr-defined]
            return found
    return None


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
    """Newest first: a later report of the contract's same kind may build on this one (another
    contract's reports, another MSP's, have rows of their own). Call it holding
    contract_reports_locked."""
    if not ToolReport.objects.filter(pk=report.pk).exists():
        raise ValidationError(f"{report.original_name}: already taken back.")
    later = ToolReport.objects.filter(
        contract_id=report.contract_id, kind=report.kind, pk__gt=report.pk
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
