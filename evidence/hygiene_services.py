"""Phishing-simulation results and technician MFA attestations: import one (file stored, rows
written, problems named; evidence/stored.py does what every kind does), undo one, and judge
the commitments measured from them again (evidence/hygiene.py measures)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from contracts.models import Commitment, CommitmentOccurrence, Contract
from contracts.services.commitments import commitment_occurrences_ensure
from msp_portal.jobs import recompute_after_commit

from .hygiene import (
    Attestation,
    Campaign,
    MfaMeasure,
    PhishingMeasure,
    PhishingRule,
    TechnicianMfa,
    mfa_measure,
    phishing_measure,
)
from .hygiene_presets import MFA_LAYOUT, PHISHING_LAYOUT
from .hygiene_read import mfa_report_read, phishing_report_read
from .models import PhishingRow, TechnicianMfaRow, ToolReport
from .services import RowKind, occurrence_measures_store, tool_report_import, tool_report_undo
from .stored import (
    report_import_recorded,
    report_removed,
    report_stored,
    report_undo_checked,
    report_upload_read,
)


def _measured_again(client_id: int, refresh) -> None:
    """The kind's commitments judged again, the client's figures recomputed after commit."""
    refresh(client_id=client_id)
    recompute_after_commit(client_id)


# ---- Phishing ----------------------------------------------------------------------------


PHISHING_ROWS = RowKind(
    model=PhishingRow,
    key=("campaign", "sent_on"),
    fields=("recipients", "clicked", "reported", "submitted"),
    noun="phishing results",
)


def phishing_report_import(
    *,
    contract: Contract,
    upload,
    preset: str,
    report_date: date,
    actor,
    source: str,
    mapping: dict[str, str] | None = None,
) -> ToolReport:
    """Store phishing-simulation results and their campaigns, on the natural key client +
    campaign + day sent; an older report never overwrites what a newer one said. Importing the
    same report again changes no row (idempotent)."""
    return tool_report_import(
        rows=PHISHING_ROWS,
        kind=ToolReport.Kind.PHISHING,
        layout=PHISHING_LAYOUT,
        read=phishing_report_read,
        contract=contract,
        upload=upload,
        preset=preset,
        report_date=report_date,
        actor=actor,
        source=source,
        mapping=mapping,
        # A per-recipient file's rows are its recipients: those of the campaigns written.
        counted=lambda read, written: (
            sum(r["recipients"] for r in written) if read.per_recipient else len(written)
        ),
    )


def phishing_report_undo(*, report: ToolReport, actor, source: str) -> None:
    """Take phishing results back (newest first): their campaigns go, the campaigns they
    overwrote come back as they were, and the commitments are judged again."""
    tool_report_undo(rows=PHISHING_ROWS, report=report, actor=actor, source=source)


def client_campaigns(client_id: int) -> list[Campaign]:
    return [
        Campaign(r.campaign, r.sent_on, r.recipients, r.clicked, r.reported, r.submitted)
        for r in PhishingRow.objects.filter(client_id=client_id)
    ]


def phishing_rule(commitment: Commitment) -> PhishingRule:
    return PhishingRule(
        limit_percent=commitment.limit_percent, target_percent=commitment.target_percent
    )


def occurrence_phishing_measure(occurrence: CommitmentOccurrence) -> PhishingMeasure:
    """The measure of one occurrence's period, with the campaigns behind it (the drill-down)."""
    commitment = occurrence.commitment
    return phishing_measure(
        client_campaigns(commitment.contract.client_id),
        phishing_rule(commitment),
        occurrence.period_start,
        occurrence.due_date,
    )


def _latest(client_id: int, kind: str) -> date | None:
    return ToolReport.objects.filter(client_id=client_id, kind=kind).aggregate(
        d=Max("report_date")
    )["d"]


def _store(occurrence: CommitmentOccurrence, summary: dict | None) -> bool:
    if occurrence.measure != summary:
        occurrence.measure = summary
        occurrence.save(update_fields=["measure"])
    return summary is not None


def phishing_measures_refresh(*, client_id: int) -> int:
    """Store the measure of every occurrence of the client's phishing-measured commitments
    that a report covers (the latest is dated on or after the period's last day: it lists
    every campaign of the period). Returns how many were measured."""
    campaigns = client_campaigns(client_id)
    return occurrence_measures_store(
        Commitment.objects.filter(contract__client_id=client_id, measured_by="phishing"),
        _latest(client_id, ToolReport.Kind.PHISHING),
        lambda c, o: phishing_measure(campaigns, phishing_rule(c), o.period_start, o.due_date),
    )


# ---- Technician MFA ----------------------------------------------------------------------


def mfa_report_import(
    *,
    contract: Contract,
    upload,
    preset: str,
    report_date: date,
    actor,
    source: str,
    mapping: dict[str, str] | None = None,
    statement: str = "",
) -> ToolReport:
    """Store a technician MFA attestation: the list as of `report_date` and the MSP's
    statement (required: the attestation is the MSP's word). Each attestation is a whole list:
    its rows are its own. The same file attested again on the same day with the same words
    changes nothing (the existing attestation is returned)."""
    statement = (statement or "").strip()
    if not statement:
        raise ValidationError(
            "Statement: the attestation needs the MSP's statement, in its own words, e.g. "
            "“Every technician with access to your systems signs in with MFA.”"
        )
    sha256, read = report_upload_read(upload, MFA_LAYOUT, preset, mfa_report_read, mapping)
    same = ToolReport.objects.filter(
        client_id=contract.client_id,
        kind=ToolReport.Kind.MFA,
        sha256=sha256,
        report_date=report_date,
        statement=statement[:2000],
    ).first()
    if same is not None:
        return same
    with transaction.atomic():
        report = report_stored(
            contract=contract,
            kind=ToolReport.Kind.MFA,
            upload=upload,
            preset=preset,
            sha256=sha256,
            report_date=report_date,
            actor=actor,
            read=read,
            statement=statement[:2000],
        )
        TechnicianMfaRow.objects.bulk_create(
            TechnicianMfaRow(
                client_id=contract.client_id,
                report=report,
                technician=row["technician"],
                mfa=row["mfa"],
                method=row["method"],
                last_seen=report_date,
            )
            for row in read.rows
        )
        report.rows_imported = len(read.rows)
        report.save(update_fields=["rows_imported"])
        report_import_recorded(report, actor=actor, source=source, noun="MFA attestation")
        _measured_again(contract.client_id, mfa_measures_refresh)
    return report


def mfa_report_undo(*, report: ToolReport, actor, source: str) -> None:
    """Take an attestation back (newest first): it and its list go; the commitments are judged
    again."""
    report_undo_checked(report)
    client_id = report.client_id
    with transaction.atomic():
        report_removed(report, actor=actor, source=source, noun="MFA attestation")
        _measured_again(client_id, mfa_measures_refresh)


def client_attestations(client_id: int) -> list[Attestation]:
    reports = ToolReport.objects.filter(client_id=client_id, kind=ToolReport.Kind.MFA)
    rows: dict[int, list[TechnicianMfa]] = {r.pk: [] for r in reports}
    for row in TechnicianMfaRow.objects.filter(client_id=client_id):
        rows.setdefault(row.report_id, []).append(
            TechnicianMfa(row.technician, row.mfa, row.method)
        )
    # `order` is the report's id: a later import wins a tie of days, and the drill-down finds
    # the report (its file, who uploaded it) behind the attestation the measure chose.
    return [Attestation(r.report_date, r.statement, rows[r.pk], order=r.pk) for r in reports]


def occurrence_mfa_measure(
    occurrence: CommitmentOccurrence,
) -> tuple[MfaMeasure, ToolReport | None]:
    """The measure of one occurrence's period and the attestation report behind it."""
    client_id = occurrence.commitment.contract.client_id
    measure = mfa_measure(
        client_attestations(client_id), occurrence.period_start, occurrence.due_date
    )
    report = None
    if measure.attestation is not None:
        report = (
            ToolReport.objects.select_related("uploaded_by")
            .filter(client_id=client_id, pk=measure.attestation.order)
            .first()
        )
    return measure, report


def mfa_measures_refresh(*, client_id: int) -> int:
    """Store the measure of every occurrence of the client's MFA-measured commitments: a
    period with an attestation dated in it is judged by it at once; a period without one is
    missed once a later attestation shows the period passed without one, and waits (Due, then
    Overdue) while none is dated after it. Returns how many were measured."""
    attestations = client_attestations(client_id)
    covered_until = max((a.attested_on for a in attestations), default=None)
    measured = 0
    for commitment in Commitment.objects.filter(contract__client_id=client_id, measured_by="mfa"):
        commitment_occurrences_ensure(commitment=commitment)
        for occ in commitment.occurrences.all():
            measure = mfa_measure(attestations, occ.period_start, occ.due_date)
            covered = measure.attestation is not None or (
                covered_until is not None and occ.due_date <= covered_until
            )
            measured += _store(occ, measure.summary() if covered else None)
    return measured
