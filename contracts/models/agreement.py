"""What a version of the rules is while the two sides agree on it: proposed, agreed, withdrawn,
or replaced by a correction. SLA versions and responsibility-matrix versions share it.

A version decides verdicts only once both the client's side and the MSP's side approved it
(kpis.md; issue 24): one side never changes the rules alone. Its content is fixed from the moment
it is proposed; a change is a new proposal. The database refuses edits of the content (the
migration's triggers), so the Django admin or a shell cannot rewrite an agreed version either.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AgreementState(models.TextChoices):
    PROPOSED = "proposed", "Waiting for approval"
    AGREED = "agreed", "Agreed by both sides"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SUPERSEDED = "superseded", "Replaced by a correction"


class Agreed(models.Model):
    """Both sides' approvals of a version, and how it ended if it did not stay in force."""

    client_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    client_approved_at = models.DateTimeField(null=True, blank=True)
    msp_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    msp_approved_at = models.DateTimeField(null=True, blank=True)
    # Why the change is proposed; required for a correction, which says which results it changes.
    reason = models.TextField(blank=True, default="")
    is_correction = models.BooleanField(
        default=False,
        help_text="Corrects an error in agreed terms: it changes verdicts already given",
    )
    # The results a correction changes, computed when it is proposed and again when approved:
    # {"tickets": N, "months": {"2026-03": n, ...}}.
    changes_results = models.JSONField(default=dict, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_agreed(self) -> bool:
        return self.client_approved_at is not None and self.msp_approved_at is not None

    @property
    def state(self) -> str:
        if self.withdrawn_at is not None:
            return AgreementState.WITHDRAWN
        if self.superseded_at is not None:
            return AgreementState.SUPERSEDED
        if self.is_agreed:
            return AgreementState.AGREED
        return AgreementState.PROPOSED

    def get_state_display(self) -> str:
        return AgreementState(self.state).label

    get_state_display.short_description = "state"  # type: ignore[attr-defined]

    @classmethod
    def in_force_q(cls) -> models.Q:
        """The versions that decide verdicts: approved by both sides, not replaced."""
        return models.Q(
            client_approved_at__isnull=False,
            msp_approved_at__isnull=False,
            withdrawn_at__isnull=True,
            superseded_at__isnull=True,
        )

    @classmethod
    def pending_q(cls) -> models.Q:
        """Proposals still waiting for one side or both."""
        return models.Q(withdrawn_at__isnull=True, superseded_at__isnull=True) & (
            models.Q(client_approved_at__isnull=True) | models.Q(msp_approved_at__isnull=True)
        )
