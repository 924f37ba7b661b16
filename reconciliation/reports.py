"""Writing the MSP's reports: the figures its report states for a period, and the report file
as evidence. Every change is in the audit trail (contracts/services/audit.py)."""

from __future__ import annotations

from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404

from contracts.models import AuditEvent, Contract
from contracts.services.audit import audit_record
from contracts.services.commitments import upload_checked
from kpis.metrics.period import Period
from kpis.metrics.registry import KPI
from msp_portal.downloads import stored_file_download

from .figures import reported_value_check, value_words
from .models import MspReport, ReportedFigure
from .services import reports_changed

# The trail files the MSP's reports under a kind of their own (its History filter).
AUDIT_KIND = AuditEvent.Kind.MSP_REPORTS


def msp_report_save(
    *,
    contract: Contract,
    period_label: str,
    figures: dict[str, float | None],
    note: str | None = None,
    actor,
    source: str,
) -> MspReport:
    """Create or update the MSP's report of a period: each figure given is set (None removes
    it), the others are kept. ValidationError names the field that is wrong."""
    try:
        period = Period.parse(period_label, contract.timezone)
    except ValueError as error:
        raise ValidationError({"period": str(error)}) from None
    for key, value in figures.items():
        try:
            reported_value_check(key, value)
        except ValueError as error:
            raise ValidationError({key: str(error)}) from None
    with transaction.atomic():
        report, created = MspReport.objects.select_for_update().get_or_create(
            contract=contract,
            period_label=period.label,
            defaults={"client": contract.client, "entered_by": actor, "note": note or ""},
        )
        before = {f.key: f.value for f in report.figures.all()}
        changes = {}
        for key, value in figures.items():
            if before.get(key) == value:
                continue
            # The trail shows a change as people read it: the figure's name, its values in words.
            label = KPI[key].label
            changes[label] = [value_words(key, before.get(key)), value_words(key, value)]
            if value is None:
                report.figures.filter(key=key).delete()
            else:
                ReportedFigure.objects.update_or_create(
                    report=report, key=key, defaults={"value": value}
                )
        if note is not None and not created and note != report.note:
            changes["note"] = [report.note, note]
            report.note = note
        if changes or created:
            if actor is not None and actor.is_authenticated:
                report.entered_by = actor
            report.save()
            audit_record(
                actor=actor,
                source=source,
                contract=contract,
                action="create" if created else "update",
                obj=report,
                changes=changes,
                kind=AUDIT_KIND,
            )
            # Set at once, not on commit: a change rolled back only costs pages a fresh render.
            reports_changed(client_id=contract.client_id)
    return report


def report_file_response(report: MspReport) -> FileResponse:
    """The MSP's report file as a download (404 when none was attached)."""
    if not report.file:
        raise Http404("No file was attached to this report.")
    return stored_file_download(report.file, report.original_name, report.content_type)


def msp_report_attach(*, report: MspReport, upload, actor, source: str) -> MspReport:
    """Store the MSP's report file under a random name, after the checks commitment evidence
    gets (type, size, content). A new file takes the place of an earlier one, whose bytes are
    kept in storage and whose name the trail keeps."""
    content_type, sha256 = upload_checked(upload)
    with transaction.atomic():
        previous = report.original_name or None
        report.original_name = PurePath(upload.name).name[:255]
        report.content_type = content_type
        report.size = upload.size
        report.sha256 = sha256
        report.file.save(report.original_name, upload, save=False)
        if actor is not None and actor.is_authenticated:
            report.entered_by = actor
        report.save()
        audit_record(
            actor=actor,
            source=source,
            contract=report.contract,
            action="upload",
            obj=report,
            changes={"report file": [previous, report.original_name]},
            kind=AUDIT_KIND,
        )
        reports_changed(client_id=report.client_id)
    return report
