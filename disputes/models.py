"""A dispute: the client side contests one measured fact (a ticket's verdict, a paused interval,
a priority, an exclusion, a commitment occurrence) and the MSP side answers. An accepted dispute
is an adjustment: the recompute applies it to give every figure "as agreed" beside "as measured"
(docs/disputes.md). Nothing here is ever deleted: a dispute ends accepted, rejected, escalated
or withdrawn."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Dispute(models.Model):
    class Subject(models.TextChoices):
        VERDICT = "verdict", "A ticket's verdict"
        PAUSE = "pause", "A paused interval"
        PRIORITY = "priority", "A priority change"
        EXCLUSION = "exclusion", "An exclusion"
        OCCURRENCE = "occurrence", "A commitment occurrence"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        ESCALATED = "escalated", "Escalated"
        WITHDRAWN = "withdrawn", "Withdrawn"

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="disputes"
    )
    client = models.ForeignKey(
        "contracts.Organisation", on_delete=models.PROTECT, related_name="disputes"
    )
    subject = models.CharField(max_length=12, choices=Subject.choices)
    # A re-import may replace or undo a ticket; the dispute keeps its words (ticket_label).
    ticket = models.ForeignKey(
        "kpis.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="disputes",
        db_constraint=False,
    )
    ticket_label = models.CharField(max_length=200, blank=True, default="")
    occurrence = models.ForeignKey(
        "contracts.CommitmentOccurrence",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
    )
    # What is contested and what the client side asks instead, by subject:
    #   verdict:    {"clock": "response"|"resolution", "verdict": "met"|"breached"}
    #   pause:      {"start": ISO UTC, "end": ISO UTC} (an interval the clock should not pause)
    #               or {"exported_total": true} (the exported pause total should not count)
    #   priority:   {"priority": "P1".."P4"}
    #   exclusion:  {"counted": true|false} (count the ticket, or leave it out of the SLA)
    #   occurrence: {"status": "kept"|"missed"}
    requested = models.JSONField(default=dict)
    # The measured fact at opening, in the same shape: what the adjustment replaces.
    measured = models.JSONField(default=dict)
    reason = models.TextField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    # The end of the MSP side's window to answer (the contract's business days, default 10).
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    answer_reason = models.TextField(blank=True, default="")
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # Settled by the contract's rule for an unanswered dispute, not by a person.
    settled_by_rule = models.BooleanField(default=False)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["client", "status"]),
            models.Index(fields=["contract", "status"]),
        ]

    def __str__(self) -> str:
        what = self.ticket_label or (str(self.occurrence) if self.occurrence_id else "")
        return f"{self.get_subject_display()}: {what}"
