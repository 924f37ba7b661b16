"""The responsibility matrix: gaps of a version, and each side's approval."""

from __future__ import annotations

from contracts.models import ResponsibilityMatrixVersion
from contracts.rules import AreaRow, Gap, matrix_gaps

from .agreement import version_approve


def matrix_version_gaps(version: ResponsibilityMatrixVersion | None) -> list[Gap]:
    """The gaps of a stored version (no version at all: every standard area is a gap)."""
    if version is None:
        return matrix_gaps([], client_approved=False, msp_approved=False)
    rows = [AreaRow(a.area, a.owner, a.split) for a in version.assignments.all()]
    return matrix_gaps(
        rows,
        client_approved=version.client_approved_at is not None,
        msp_approved=version.msp_approved_at is not None,
    )


def matrix_approve(*, version: ResponsibilityMatrixVersion, side: str, actor, source: str):
    """Record one side's approval of a proposed version (refused while it has gaps)."""
    return version_approve(version=version, side=side, actor=actor, source=source)
