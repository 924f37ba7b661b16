"""The responsibility matrix: gaps of a version, and each side's approval."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from contracts.models import ResponsibilityMatrixVersion
from contracts.rules import AreaRow, Gap, matrix_gaps

from .audit import audit_record

SIDES = ("client", "msp")


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
    """Record one side's approval of a version; only the newest version can be approved."""
    if side not in SIDES:
        raise ValueError(f"unknown side {side!r}")
    if version.contract.current_matrix().pk != version.pk:
        raise ValidationError("Only the newest version of the matrix can be approved.")
    if getattr(version, f"{side}_approved_at") is not None:
        return version
    setattr(version, f"{side}_approved_at", timezone.now())
    setattr(version, f"{side}_approved_by", actor)
    version.save(update_fields=[f"{side}_approved_at", f"{side}_approved_by"])
    audit_record(
        actor=actor,
        source=source,
        contract=version.contract,
        action=f"approve ({side})",
        obj=version,
        changes={f"{side}_approved_by": [None, str(actor)]},
    )
    return version
