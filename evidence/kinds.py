"""Every kind of tool report the portal measures commitments from, in one table: its layout,
how to import and undo one, how its measure is judged, said and drilled into, and its page.
The pages (evidence/views.py), the command (import_tool_report), the API and the commitments
page work from this table, so a new kind is one entry here plus its own modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .backup_presets import BACKUP_LAYOUT, RESTORE_LAYOUT
from .backup_services import (
    backup_measures_refresh,
    backup_report_import,
    backup_report_undo,
    restore_measures_refresh,
    restore_report_import,
    restore_report_undo,
)
from .backups import backup_words, restore_words
from .hygiene import mfa_words, phishing_rule_words, phishing_words
from .hygiene_presets import MFA_LAYOUT, PHISHING_LAYOUT
from .hygiene_services import (
    mfa_measures_refresh,
    mfa_report_import,
    mfa_report_undo,
    phishing_measures_refresh,
    phishing_report_import,
    phishing_report_undo,
)
from .layouts import Layout
from .patches import summary_words as patch_words
from .presets import PATCH_LAYOUT
from .rows import backup_rows, mfa_rows, phishing_rows, restore_rows
from .services import (
    occurrence_patch_measure,
    patch_measures_refresh,
    patch_report_import,
    patch_report_undo,
)


@dataclass(frozen=True)
class ReportKind:
    kind: str  # ToolReport.Kind, and the measured_by of the commitments it measures
    title: str  # "Patch reports": the page's heading
    noun: str  # "patch report"
    about: str  # what the report holds, for the page and the command's help
    layout: Layout
    # (contract, upload, preset, report_date, actor, source, mapping[, statement][, progress])
    # → ToolReport; `progress` hears its phases (evidence/progress.py)
    import_report: Callable[..., object]
    # (report, actor, source) → None; the newest of a kind first
    undo_report: Callable[..., None]
    # (client_id) → occurrences measured; judges the commitments measured by this kind
    refresh: Callable[..., int]
    # a stored measure (CommitmentOccurrence.measure) in words
    words: Callable[[dict | None], str]
    # the measure's headline rate for the trend (0..1, or None) and its column's words
    headline: Callable[[dict], float | None]
    headline_words: str
    page: str  # URL name of the kind's page (slug, contract)
    undo: str  # URL name of the undo of one report (slug, contract, report)
    drilldown: str  # URL name of the rows behind an occurrence (slug, contract, occurrence)
    drilldown_words: str  # "The patches behind it"
    # The upload asks for the MSP's statement (the technician MFA attestation).
    statement: bool = False
    # (commitment) → its rule in words for the commitments page ("at most 10% clicking");
    # None: the page says only what it is measured from.
    rule_words: Callable[..., str] | None = None
    # (occurrence) → the rows behind a measured occurrence as plain dicts, for the API; None
    # where a kind has none yet (the API answers 404 for its occurrences).
    rows: Callable[..., list[dict]] | None = None


def _patch_share(measure: dict) -> float | None:
    return measure["on_time"] / measure["counted"] if measure["counted"] else None


def _patch_rule(commitment) -> str:
    return (
        f"severity {commitment.severities}, installed within {commitment.within_days} days of "
        "release"
    )


# ---- Security hygiene (phishing simulations, technician MFA): evidence/hygiene*.py --------


def _click_rate(measure: dict) -> float | None:
    return measure["click_rate"]


def _mfa_share(measure: dict) -> float | None:
    return measure["with_mfa"] / measure["technicians"] if measure["technicians"] else None


def _phishing_rule(commitment) -> str:
    return phishing_rule_words(commitment.limit_percent, commitment.target_percent)


def _mfa_rule(_commitment) -> str:
    return (
        "an attestation each period listing every technician with access, each signing in "
        "with MFA, with the MSP's statement"
    )


HYGIENE_KINDS = [
    ReportKind(
        kind="phishing",
        title="Phishing simulation results",
        noun="phishing simulation report",
        about="campaign, day sent, recipients, clicked, reported; or one row per recipient",
        layout=PHISHING_LAYOUT,
        import_report=phishing_report_import,
        undo_report=phishing_report_undo,
        refresh=phishing_measures_refresh,
        words=phishing_words,
        headline=_click_rate,
        headline_words="Click rate",
        page="phishing_reports",
        undo="phishing_report_undo",
        drilldown="occurrence_phishing",
        drilldown_words="The campaigns behind it",
        rule_words=_phishing_rule,
        rows=phishing_rows,
    ),
    ReportKind(
        kind="mfa",
        title="Technician MFA attestations",
        noun="technician MFA attestation",
        about="each technician with access to your systems, whether they sign in with MFA, how",
        layout=MFA_LAYOUT,
        import_report=mfa_report_import,
        undo_report=mfa_report_undo,
        refresh=mfa_measures_refresh,
        words=mfa_words,
        headline=_mfa_share,
        headline_words="Technicians with MFA",
        page="mfa_reports",
        undo="mfa_report_undo",
        drilldown="occurrence_mfa",
        drilldown_words="The technicians behind it",
        statement=True,
        rule_words=_mfa_rule,
        rows=mfa_rows,
    ),
]


def _backup_rule(commitment) -> str:
    days = commitment.within_days or 0
    target = commitment.target_percent
    share = f"{float(target):g}%" if target is not None else "100%"
    return (
        f"every device backed up successfully at least every {days} day{'s' if days != 1 else ''}"
        f", at least {share} of the runs successful"
    )


def _restore_rule(_commitment) -> str:
    return "a successful restore test of every protected system in each period"


def _backup_rate(measure: dict) -> float | None:
    return measure["succeeded"] / measure["runs"] if measure["runs"] else None


def _restore_share(measure: dict) -> float | None:
    return measure["tested"] / measure["systems"] if measure["systems"] else None


def _patch_rows(occurrence) -> list[dict]:
    """The (device, patch) pairs behind a patch-measured occurrence, late ones first."""
    return [
        {
            "device": v.pair.device,
            "patch": v.pair.patch,
            "severity": v.pair.severity,
            "released": v.pair.released,
            "due": v.due,
            "installed": v.pair.installed,
            "days": v.days,
            "on_time": v.on_time,
        }
        for v in occurrence_patch_measure(occurrence).verdicts
    ]


KINDS: dict[str, ReportKind] = {
    k.kind: k
    for k in [
        ReportKind(
            kind="patches",
            title="Patch reports",
            noun="patch report",
            about=(
                "device, patch or KB id, severity or classification, release date, install "
                "date or status"
            ),
            layout=PATCH_LAYOUT,
            import_report=patch_report_import,
            undo_report=patch_report_undo,
            refresh=patch_measures_refresh,
            words=patch_words,
            headline=_patch_share,
            headline_words="On time",
            page="patch_reports",
            undo="patch_report_undo",
            drilldown="occurrence_patches",
            drilldown_words="The patches behind it",
            rule_words=_patch_rule,
            rows=_patch_rows,
        ),
        # Backups and restore tests (issue 23): the restore tests' protected systems are the
        # backup reports' devices, so importing either judges both (evidence/backup_services.py).
        ReportKind(
            kind="backups",
            title="Backup job reports",
            noun="backup job report",
            about="backup job or plan, device, start time, end time, result",
            layout=BACKUP_LAYOUT,
            import_report=backup_report_import,
            undo_report=backup_report_undo,
            refresh=backup_measures_refresh,
            words=backup_words,
            headline=_backup_rate,
            headline_words="Runs succeeded",
            page="backup_reports",
            undo="backup_report_undo",
            drilldown="occurrence_backups",
            drilldown_words="The backups behind it",
            rule_words=_backup_rule,
            rows=backup_rows,
        ),
        ReportKind(
            kind="restores",
            title="Restore test reports",
            noun="restore test report",
            about="protected system, test date, result, what was restored",
            layout=RESTORE_LAYOUT,
            import_report=restore_report_import,
            undo_report=restore_report_undo,
            refresh=restore_measures_refresh,
            words=restore_words,
            headline=_restore_share,
            headline_words="Systems tested",
            page="restore_reports",
            undo="restore_report_undo",
            drilldown="occurrence_restores",
            drilldown_words="The restore tests behind it",
            rule_words=_restore_rule,
            rows=restore_rows,
        ),
        *HYGIENE_KINDS,
    ]
}
