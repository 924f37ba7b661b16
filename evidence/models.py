import uuid

from django.conf import settings
from django.db import models

from contracts.models import Contract, Organisation


def report_path(instance: "ToolReport", filename: str) -> str:
    # The stored name is random: the uploaded name is kept in a field and never touches the disk.
    return f"tool-reports/{instance.client_id}/{uuid.uuid4().hex}"


class ToolReport(models.Model):
    """A report exported from the MSP's own tool (patches, backup jobs, restore tests, a
    phishing simulation, the technicians' MFA), as uploaded, with what reading it found."""

    class Kind(models.TextChoices):
        PATCHES = "patches", "Patch report"
        BACKUPS = "backups", "Backup job report"
        RESTORES = "restores", "Restore test report"
        PHISHING = "phishing", "Phishing simulation results"
        MFA = "mfa", "Technician MFA attestation"

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
    # What the MSP attests with the report, in its own words (the technician MFA attestation:
    # "every technician with access to your systems signs in with MFA"); blank for the others.
    statement = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-report_date", "-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.report_date:%Y-%m-%d}"


class PatchRow(models.Model):
    """One (device, patch) pair of a contract's client as the latest report listing it says."""

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    # Rows are the contract's: two MSPs of one client report on their own contracts, and
    # neither's report may judge, show or overwrite the other's (docs/evidence.md).
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
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
                fields=["contract", "device", "patch"], name="one_patch_row_per_device_and_patch"
            )
        ]

    def __str__(self) -> str:
        return f"{self.patch} on {self.device}"


class BackupJobRow(models.Model):
    """One run of a backup job on a device, as the latest report listing it says."""

    class Result(models.TextChoices):
        SUCCESS = "success", "Succeeded"
        WARNING = "warning", "Succeeded with warnings"
        FAILED = "failed", "Failed"

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    # Rows are the contract's: two MSPs of one client report on their own contracts, and
    # neither's report may judge, show or overwrite the other's (docs/evidence.md).
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    report = models.ForeignKey(ToolReport, on_delete=models.CASCADE, related_name="backup_rows")
    job = models.CharField(max_length=255)
    device = models.CharField(max_length=255)
    # When the run started, as the tool wrote it (its wall clock).
    started = models.DateTimeField()
    result = models.CharField(max_length=10, choices=Result.choices)
    # The tool's own word for the result, kept as exported.
    raw_result = models.CharField(max_length=100, blank=True, default="")
    last_seen = models.DateField()

    class Meta:
        ordering = ["device", "job", "started"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "job", "device", "started"], name="one_backup_run_per_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} on {self.device} at {self.started:%Y-%m-%d %H:%M}"


class RestoreTestRow(models.Model):
    """One restore test of a protected system, as the latest report listing it says."""

    class Result(models.TextChoices):
        SUCCESS = "success", "Restored"
        FAILED = "failed", "Failed"

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    # Rows are the contract's: two MSPs of one client report on their own contracts, and
    # neither's report may judge, show or overwrite the other's (docs/evidence.md).
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    report = models.ForeignKey(ToolReport, on_delete=models.CASCADE, related_name="restore_rows")
    system = models.CharField(max_length=255)
    tested_on = models.DateField()
    result = models.CharField(max_length=10, choices=Result.choices)
    raw_result = models.CharField(max_length=100, blank=True, default="")
    # What was restored (files, a whole machine, a database), in the tool's words.
    scope = models.CharField(max_length=255, blank=True, default="")
    last_seen = models.DateField()

    class Meta:
        ordering = ["system", "tested_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "system", "tested_on"], name="one_restore_test_per_system_day"
            )
        ]

    def __str__(self) -> str:
        return f"Restore test of {self.system} on {self.tested_on:%Y-%m-%d}"


class PhishingRow(models.Model):
    """One phishing-simulation campaign's results, as the latest report listing it says."""

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    # Rows are the contract's: two MSPs of one client report on their own contracts, and
    # neither's report may judge, show or overwrite the other's (docs/evidence.md).
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    report = models.ForeignKey(ToolReport, on_delete=models.CASCADE, related_name="phishing_rows")
    campaign = models.CharField(max_length=255)
    sent_on = models.DateField()
    recipients = models.PositiveIntegerField()
    clicked = models.PositiveIntegerField()
    reported = models.PositiveIntegerField()
    # Credentials or data entered on the fake page, where the tool reports it.
    submitted = models.PositiveIntegerField(null=True, blank=True)
    last_seen = models.DateField()

    class Meta:
        ordering = ["sent_on", "campaign"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "campaign", "sent_on"], name="one_phishing_campaign_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign} ({self.sent_on:%Y-%m-%d})"


class TechnicianMfaRow(models.Model):
    """One technician of the MSP with access to the client's systems, and whether they sign in
    with MFA, as the attestation report says."""

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    # Rows are the contract's: two MSPs of one client report on their own contracts, and
    # neither's report may judge, show or overwrite the other's (docs/evidence.md).
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    report = models.ForeignKey(ToolReport, on_delete=models.CASCADE, related_name="mfa_rows")
    technician = models.CharField(max_length=255)
    mfa = models.BooleanField()
    # The method (authenticator app, hardware key, SMS), in the tool's words.
    method = models.CharField(max_length=100, blank=True, default="")
    last_seen = models.DateField()

    class Meta:
        ordering = ["technician"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "technician"], name="one_mfa_row_per_report_and_technician"
            )
        ]

    def __str__(self) -> str:
        return f"{self.technician}: {'MFA' if self.mfa else 'no MFA'}"


def report_job_path(instance: "ToolReportJob", filename: str) -> str:
    # Random, as for ToolReport: the uploaded name is kept in a field and never touches the disk.
    return f"tool-report-imports/{instance.client_id}/{uuid.uuid4().hex}"


class ToolReportJob(models.Model):
    """One upload of a tool report, imported in the background (evidence/jobs.py): the file as
    uploaded and what the import was asked to do with it, its progress, and what became of it.
    The report it made (or the same report imported before) is a ToolReport."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        REJECTED = "rejected", "Not imported: the file cannot be used"
        FAILED = "failed", "Failed"

    class Via(models.TextChoices):
        WEB = "web", "Web"
        API = "api", "API"

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="tool_report_jobs"
    )
    kind = models.CharField(max_length=12, choices=ToolReport.Kind.choices)
    preset = models.CharField(max_length=40)
    # Field → the file's column for it, where the file differs from the preset's layout.
    mapping = models.JSONField(default=dict, blank=True)
    report_date = models.DateField()
    statement = models.TextField(blank=True, default="")
    file = models.FileField(upload_to=report_job_path)
    original_name = models.CharField(max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    via = models.CharField(max_length=10, choices=Via.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=40, blank=True, default="")
    message = models.TextField(blank=True, default="")
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    # The report imported; the earlier one when the same file was imported again. Null until
    # done, and again once that report is taken back (undo).
    report = models.ForeignKey(
        ToolReport, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import of {self.original_name} ({self.get_kind_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.REJECTED, self.Status.FAILED)


class ToolReportMapping(models.Model):
    """A named set of columns (and the layout they refine) for one kind of tool report, reused
    at the next upload of an export of the same shape (evidence/saved_mappings.py).

    Without a client it is the MSP's own, for all its clients, and only the MSP's writers save
    it; with one it was saved by someone else who uploads for that client (an advisor) and is
    offered for that client's uploads only, never the MSP's other clients."""

    msp = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the MSP's own columns, for all its clients",
    )
    kind = models.CharField(max_length=12, choices=ToolReport.Kind.choices)
    name = models.CharField(max_length=100)
    preset = models.CharField(max_length=40)
    # Field → the file's column for it, where the export differs from the layout.
    mapping = models.JSONField(default=dict)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["msp", "kind", "name"],
                condition=models.Q(client__isnull=True),
                name="one_report_mapping_name_per_msp_kind",
            ),
            models.UniqueConstraint(
                fields=["msp", "client", "kind", "name"],
                condition=models.Q(client__isnull=False),
                name="one_report_mapping_name_per_msp_client_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name
