from django.conf import settings
from django.db import models

from .agreement import Agreed
from .contract import Contract


class ResponsibilityMatrixVersion(Agreed):
    """One version of who owns which area. It decides which tickets are customer-owned (no SLA
    verdict) only once both sides approved it, and only for tickets created from its effective
    date; a change is a new version, whose content never changes once written."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="matrix_versions")
    number = models.PositiveIntegerField()
    effective_from = models.DateField()
    content_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["contract", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="matrix_version_number")
        ]
        verbose_name = "responsibility matrix version"

    def __str__(self) -> str:
        return f"{self.contract.name}: matrix v{self.number}"


class ResponsibilityAssignment(models.Model):
    """One area of the matrix and who owns it; a shared area says how it is split."""

    class Owner(models.TextChoices):
        MSP = "msp", "MSP"
        SHARED = "shared", "Shared"
        CUSTOMER = "customer", "Customer"
        UNASSIGNED = "unassigned", "Unassigned"

    version = models.ForeignKey(
        ResponsibilityMatrixVersion, on_delete=models.CASCADE, related_name="assignments"
    )
    area = models.CharField(max_length=200)
    owner = models.CharField(max_length=10, choices=Owner.choices, default=Owner.UNASSIGNED)
    split = models.TextField(blank=True, default="")
    # Ticket categories that belong to this area: a customer-owned area's tickets get no SLA
    # verdict (kpis.md), so the MSP is not measured on what it does not own.
    categories = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["version", "position", "area"]
        constraints = [
            models.UniqueConstraint(fields=["version", "area"], name="area_once_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.area}: {self.get_owner_display()}"
