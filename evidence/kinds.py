"""Every kind of tool report the portal measures commitments from, in one table: its layout,
how to import and undo one, how its measure is judged, said and drilled into, and its page.
The pages (evidence/views.py), the command (import_tool_report), the API and the commitments
page work from this table, so a new kind is one entry here plus its own modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .layouts import Layout
from .patches import summary_words as patch_words
from .presets import PATCH_LAYOUT
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
    # (contract, upload, preset, report_date, actor, source, mapping[, statement]) → ToolReport
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
    # (occurrence) → the rows behind a measured occurrence as plain dicts, for the API; None
    # where a kind has none yet (the API answers 404 for its occurrences).
    rows: Callable[..., list[dict]] | None = None


def _patch_share(measure: dict) -> float | None:
    return measure["on_time"] / measure["counted"] if measure["counted"] else None


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
            rows=_patch_rows,
        ),
    ]
}
