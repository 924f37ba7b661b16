import uuid

from django.conf import settings
from django.db import models

from contracts.models import Contract, Organisation


def report_path(instance: "ToolReport", filename: str) -> str:
    # The stored name is random: the uploaded name is kept in a field and never touches the disk.
    return f"tool-reports/{instance.client_id}/{uuid.uuid4().hex}"


class ToolReport(models.Model):
    """A report exported from the MSP's own tool (a patch report), as uploaded, with what
    reading it found."""

    class Kind(models.TextChoices):
        PATCHES = "patches", "Patch report"

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="tool_reports")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PATCHES)
    preset = models.CharField(max_length=40)
    file = models.FileField(upload_to=report_path)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    # The day the tool exported the report: a device absent from the latest report has been
    # retired since the last report that listed it (evidence/patches.py).
    report_date = models.DateField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    # [{"row", "column", "value", "reason"}]: rows left out, each named.
    problems = models.JSONField(default=list)
    # The rows this report overwrote, as they were (with the report that had written them):
    # undoing the report puts them back (evidence/services.py patch_report_undo).
    replaced = models.JSONField(default=list)

    class Meta:
        ordering = ["-report_date", "-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.report_date:%Y-%m-%d}"


class PatchRow(models.Model):
    """One (device, patch) pair of a client as the latest report listing it says."""

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    report = models.ForeignKey(ToolReport, on_delete=models.CASCADE, related_name="patch_rows")
    device = models.CharField(max_length=255)
    patch = models.CharField(max_length=255)
    severity = models.CharField(max_length=100)
    released = models.DateField()
    installed = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=100, blank=True, default="")
    # The report date of the latest report that listed the pair.
    last_seen = models.DateField()

    class Meta:
        ordering = ["device", "patch"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "device", "patch"], name="one_patch_row_per_device_and_patch"
            )
        ]

    def __str__(self) -> str:
        return f"{self.patch} on {self.device}"
