"""What the MSP reported for a period, entered from its own report (attached as evidence), to be
set beside the figures the portal measured (reconciliation/)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


def report_file_path(instance: MspReport, filename: str) -> str:
    # A random stored name: the uploaded name is kept in a field and never touches the disk.
    return f"msp-reports/{instance.contract_id}/{uuid.uuid4().hex}"


class MspReport(models.Model):
    """The MSP's own report for one period of a contract: the figures it states, and the file."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="msp_reports"
    )
    client = models.ForeignKey(
        "contracts.Organisation", on_delete=models.PROTECT, related_name="msp_reports"
    )
    period_label = models.CharField(max_length=10)  # 2025-07 | 2025-Q3 | 2025
    file = models.FileField(upload_to=report_file_path, blank=True)
    original_name = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    note = models.TextField(blank=True, default="")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client", "-period_label"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "period_label"], name="one_msp_report_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.period_label}"


class ReportedFigure(models.Model):
    """One figure as the MSP's report states it, under the KPI key it claims to measure
    (`resolution.compliance` as a fraction, `resolution.mean` in business minutes, counts)."""

    report = models.ForeignKey(MspReport, on_delete=models.CASCADE, related_name="figures")
    key = models.CharField(max_length=60)
    value = models.FloatField()

    class Meta:
        ordering = ["report", "key"]
        constraints = [
            models.UniqueConstraint(fields=["report", "key"], name="one_reported_value_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"
