"""The rows behind a measured occurrence of each kind but patches, as plain data for the API
(`ReportKind.rows`; the drill-down pages show the same measures)."""

from __future__ import annotations

from .backup_services import occurrence_backup_measure, occurrence_restore_measure
from .hygiene_services import occurrence_mfa_measure, occurrence_phishing_measure


def backup_rows(occurrence) -> list[dict]:
    """The devices behind a backup-measured occurrence, late ones first, with their runs."""
    return [
        {
            "device": d.device,
            "runs": len(d.runs),
            "failed": d.failed,
            "warnings": d.warnings,
            "last_success": d.last_success,
            "longest_gap_days": d.longest_gap,
            "gap_from": d.gap_from,
            "gap_to": d.gap_to,
            "late": d.late,
            "retired_after": d.retired_after,
        }
        for d in occurrence_backup_measure(occurrence).devices
    ]


def restore_rows(occurrence) -> list[dict]:
    """The protected systems behind a restore-measured occurrence, with their tests."""
    return [
        {
            "system": s.system,
            "owed": s.owed,
            "why_not_owed": s.why_not_owed,
            "tested": s.tested,
            "tests": [
                {"tested_on": t.tested_on, "result": t.result_words, "scope": t.scope}
                for t in s.tests
            ],
            "last_test": s.last_test.tested_on if s.last_test else None,
        }
        for s in occurrence_restore_measure(occurrence).systems
    ]


def phishing_rows(occurrence) -> list[dict]:
    """The campaigns behind a phishing-measured occurrence."""
    return [
        {
            "campaign": c.campaign,
            "sent_on": c.sent_on,
            "recipients": c.recipients,
            "clicked": c.clicked,
            "reported": c.reported,
            "submitted": c.submitted,
        }
        for c in occurrence_phishing_measure(occurrence).campaigns
    ]


def mfa_rows(occurrence) -> list[dict]:
    """The technicians of the attestation behind an MFA-measured occurrence, without MFA first."""
    measure, _report = occurrence_mfa_measure(occurrence)
    return [
        {"technician": t.technician, "mfa": t.mfa, "method": t.method} for t in measure.technicians
    ]
