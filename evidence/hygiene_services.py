"""Phishing-simulation results and technician MFA attestations: import one (file stored, rows
written, problems named; evidence/stored.py does what every kind does), undo one, and judge
the commitments measured from them again (evidence/hygiene.py measures)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

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
from .progress import JUDGING, READING, STORING, Progress, progress_unheard
from .services import (
    RowKind,
    commitments_by_contract,
    latest_report_date,
    occurrence_measure_save,
    occurrence_measures_store,
    tool_report_import,
    tool_report_undo,
)
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


def _measured_again(client_id: int, refresh) -> None:
    """The kind's commitments judged again, the client's figures recomputed after commit."""
    refresh(client_id=client_id)
    recompute_after_commit(client_id)


# ---- Phishing ----------------------------------------------------------------------------


PHISHING_ROWS = RowKind(
    kind=ToolReport.Kind.PHISHING,
    layout=PHISHING_LAYOUT,
    read=phishing_report_read,
    model=PhishingRow,
    key=("campaign", "sent_on"),
    fields=("recipients", "clicked", "reported", "submitted"),
    noun="phishing results",
    # A per-recipient file's rows are its recipients: those of the campaigns written.
    counted=lambda read, written: (
        sum(r["recipients"] for r in written) if read.per_recipient else len(written)
    ),
)


def phishing_report_import(**arguments) -> ToolReport:
    """Store phishing-simulation results and their campaigns, on the natural key contract +
    campaign + day sent (the arguments of tool_report_import but `rows`)."""
    return tool_report_import(rows=PHISHING_ROWS, **arguments)


def phishing_report_undo(*, report: ToolReport, actor, source: str) -> None:
    """Take phishing results back (newest first): their campaigns go, the campaigns they
    overwrote come back as they were, and the commitments are judged again."""
    tool_report_undo(rows=PHISHING_ROWS, report=report, actor=actor, source=source)


def contract_campaigns(contract_id: int) -> list[Campaign]:
    return [
        Campaign(r.campaign, r.sent_on, r.recipients, r.clicked, r.reported, r.submitted)
        for r in PhishingRow.objects.filter(contract_id=contract_id)
    ]


def phishing_rule(commitment: Commitment) -> PhishingRule:
    return PhishingRule(
        limit_percent=commitment.limit_percent, target_percent=commitment.target_percent
    )


def occurrence_phishing_measure(occurrence: CommitmentOccurrence) -> PhishingMeasure:
    """The measure of one occurrence's period, with the campaigns behind it (the drill-down)."""
    commitment = occurrence.commitment
    return phishing_measure(
        contract_campaigns(commitment.contract_id),
        phishing_rule(commitment),
        occurrence.period_start,
        occurrence.due_date,
    )


def phishing_measures_refresh(*, client_id: int) -> int:
    """Store the measure of every occurrence of the client's phishing-measured commitments
    that a report covers (the latest is dated on or after the period's last day: it lists
    every campaign of the period), each contract's from its own campaigns. Returns how many
    were measured."""
    return sum(
        _phishing_contract_refresh(contract_id, commitments)
        for contract_id, commitments in commitments_by_contract(client_id, "phishing").items()
    )


def _phishing_contract_refresh(contract_id: int, commitments: list[Commitment]) -> int:
    campaigns = contract_campaigns(contract_id)
    return occurrence_measures_store(
        commitments,
        latest_report_date(contract_id, ToolReport.Kind.PHISHING),
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
    progress: Progress | None = None,
) -> ToolReport:
    """Store a technician MFA attestation: the list as of `report_date` and the MSP's
    statement (required: the attestation is the MSP's word). Each attestation is a whole list:
    its rows are its own. The same file attested again on the same day with the same words
    changes nothing (the existing attestation of the contract is returned)."""
    statement = (statement or "").strip()
    if not statement:
        raise ValidationError(
            "Statement: the attestation needs the MSP's statement, in its own words, e.g. "
            "“Every technician with access to your systems signs in with MFA.”"
        )
    said = progress or progress_unheard
    report_date_checked(contract, report_date)
    said(READING, 0, None)
    sha256, read = report_upload_read(upload, MFA_LAYOUT, preset, mfa_report_read, mapping)
    with transaction.atomic():
        contract_reports_locked(contract.pk)
        same = report_already_imported(
            contract,
            ToolReport.Kind.MFA,
            sha256,
            report_date,
            preset,
            read,
            statement=statement[:2000],
        )
        if same is not None:
            return same
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
        said(STORING, 0, len(read.rows))  # a list of technicians: stored in one go
        TechnicianMfaRow.objects.bulk_create(
            TechnicianMfaRow(
                client_id=contract.client_id,
                contract_id=contract.pk,
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
        said(JUDGING, len(read.rows), len(read.rows))
        _measured_again(contract.client_id, mfa_measures_refresh)
    return report


def mfa_report_undo(*, report: ToolReport, actor, source: str) -> None:
    """Take an attestation back (newest first): it and its list go; the commitments are judged
    again."""
    client_id = report.client_id
    with transaction.atomic():
        contract_reports_locked(report.contract_id)
        report_undo_checked(report)
        report_removed(report, actor=actor, source=source, noun="MFA attestation")
        _measured_again(client_id, mfa_measures_refresh)


def contract_attestations(contract_id: int) -> list[Attestation]:
    reports = ToolReport.objects.filter(contract_id=contract_id, kind=ToolReport.Kind.MFA)
    rows: dict[int, list[TechnicianMfa]] = {r.pk: [] for r in reports}
    for row in TechnicianMfaRow.objects.filter(contract_id=contract_id):
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
    contract_id = occurrence.commitment.contract_id
    measure = mfa_measure(
        contract_attestations(contract_id), occurrence.period_start, occurrence.due_date
    )
    report = None
    if measure.attestation is not None:
        report = (
            ToolReport.objects.select_related("uploaded_by")
            .filter(contract_id=contract_id, pk=measure.attestation.order)
            .first()
        )
    return measure, report


def mfa_measures_refresh(*, client_id: int) -> int:
    """Store the measure of every occurrence of the client's MFA-measured commitments: a
    period with an attestation dated in it is judged by it at once; a period without one is
    missed once a later attestation shows the period passed without one, and waits (Due, then
    Overdue) while none is dated after it. Each contract is judged by its own attestations
    only. Returns how many were measured."""
    measured = 0
    for contract_id, commitments in commitments_by_contract(client_id, "mfa").items():
        measured += _mfa_contract_refresh(contract_id, commitments)
    return measured


def _mfa_contract_refresh(contract_id: int, commitments: list[Commitment]) -> int:
    attestations = contract_attestations(contract_id)
    covered_until = max((a.attested_on for a in attestations), default=None)
    measured = 0
    for commitment in commitments:
        commitment_occurrences_ensure(commitment=commitment)
        for occ in commitment.occurrences.all():
            measure = mfa_measure(attestations, occ.period_start, occ.due_date)
            covered = measure.attestation is not None or (
                covered_until is not None and occ.due_date <= covered_until
            )
            measured += occurrence_measure_save(occ, measure.summary() if covered else None)
    return measured
