from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """Who changed what in a contract, SLA, matrix or commitment, when, and from what to what."""

    class Source(models.TextChoices):
        WEB = "web", "Web"
        API = "api", "API"
        COMMAND = "command", "Command"
        ADMIN = "admin", "Admin"

    class Kind(models.TextChoices):
        """What part of the agreement an event is about: the trail's filter."""

        TERMS = "terms", "Contract terms"
        SLA = "sla", "SLA"
        MATRIX = "matrix", "Responsibility matrix"
        COMMITMENTS = "commitments", "Commitments"
        IMPORTS = "imports", "Imports"
        APPROVALS = "approvals", "Approvals"
        PEOPLE = "people", "People"
        REVIEWS = "reviews", "Reviews"
        OUTAGES = "outages", "Outages"
        DISPUTES = "disputes", "Disputes"
        MSP_REPORTS = "reports", "The MSP's reports"
        OTHER = "other", "Other"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    client = models.ForeignKey(
        "contracts.Organisation", on_delete=models.CASCADE, null=True, related_name="+"
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    action = models.CharField(max_length=30)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.OTHER)
    # The changed model ("contracts.slatarget"), so the trail can name its fields in words.
    object_model = models.CharField(max_length=100, blank=True, default="")
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40, blank=True, default="")
    object_repr = models.CharField(max_length=300)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["contract", "-at"]),
            models.Index(fields=["contract", "kind", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_repr}"
