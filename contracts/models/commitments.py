import uuid
from datetime import date, timedelta

from django.conf import settings
from django.db import models

from .contract import Contract


class Commitment(models.Model):
    """A recurring promise ("backups restore-tested quarterly") with a cadence and an owner."""

    class Cadence(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"
        SEMIANNUAL = "semiannual", "Every six months"
        ANNUAL = "annual", "Annually"

    class Owner(models.TextChoices):
        MSP = "msp", "MSP"
        CUSTOMER = "customer", "Customer"
        SHARED = "shared", "Shared"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="commitments")
    name = models.CharField(max_length=200)
    cadence = models.CharField(max_length=12, choices=Cadence.choices)
    owner = models.CharField(max_length=10, choices=Owner.choices, default=Owner.MSP)
    evidence_required = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # Measured from the MSP's tool reports instead of recorded by hand (docs/evidence.md):
    # "patches" = the listed severities installed within `within_days` of release, kept when
    # the on-time share reaches `target_percent` (blank: every pair); "backups" = backup job
    # reports (success rate at least `target_percent`, no device `within_days` without a
    # successful backup); "restores" = every protected system restore-tested each period;
    # "phishing" = a simulation run each period, its click rate at most `limit_percent`;
    # "mfa" = every technician signs in with MFA, as attested in the period.
    measured_by = models.CharField(
        max_length=12,
        choices=[
            ("", "Recorded by hand"),
            ("patches", "Patch reports"),
            ("backups", "Backup job reports"),
            ("restores", "Restore test reports"),
            ("phishing", "Phishing simulation results"),
            ("mfa", "Technician MFA attestation"),
        ],
        blank=True,
        default="",
    )
    within_days = models.PositiveSmallIntegerField(null=True, blank=True)
    severities = models.CharField(
        max_length=200,
        blank=True,
        default="critical",
        help_text="The patch severities that count, separated by commas",
    )
    target_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    # An upper bound, where less is better (the phishing click rate).
    limit_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    # A missed occurrence credits this share of the monthly fee in the contract's credit period
    # in which it fell due, added to the tiers' credit under the same cap (kpis/metrics/credits.py).
    credit_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["contract", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "name"], name="commitment_name_per_contract"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_cadence_display().lower()})"


class CommitmentOccurrence(models.Model):
    """One period's instance of a commitment: due at the period's end, fulfilled or not."""

    class Status(models.TextChoices):
        KEPT = "kept", "Kept"
        LATE = "late", "Done late"
        MISSING_EVIDENCE = "missing_evidence", "Done, evidence missing"
        OVERDUE = "overdue", "Overdue"
        DUE = "due", "Due"
        AWAITING = "awaiting", "Done, awaiting confirmation"
        DISPUTED = "disputed", "Disputed"
        MISSED = "missed", "Missed (measured)"
        # A measured period over, its report not in yet: the MSP exports after the period ends.
        AWAITING_REPORT = "awaiting_report", "Over, awaiting the report"

    class Answer(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        DISPUTED = "disputed", "Disputed"

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="occurrences")
    period_start = models.DateField()
    due_date = models.DateField()
    completed_on = models.DateField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True, default="")
    # When the recording side said it was done: the other side's window to answer runs from here
    # (completed_on may be backdated to the day the work happened).
    recorded_at = models.DateTimeField(null=True, blank=True)
    # The other side's answer: it confirms or disputes what was recorded (contracts/rules.py).
    answer = models.CharField(max_length=10, choices=Answer.choices, blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answer_note = models.TextField(blank=True, default="")
    # A measured commitment's figures for the period, computed from the imported reports
    # (evidence/services.py), never entered: {"on_time", "counted", "median_days", "p90_days",
    # "kept"}; null until a report has been imported.
    measure = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["commitment", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["commitment", "period_start"], name="one_occurrence_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.commitment.name}, due {self.due_date:%Y-%m-%d}"

    def status_on(self, today: date, evidence_count: int, answer_days: int | None = None) -> str:
        """Kept means done by the due date, with evidence where the commitment requires it, and
        confirmed by the other side or left unanswered for `answer_days` after it was recorded
        (COMMITMENT_ANSWER_DAYS): the side that records cannot make its own promise kept.
        A measured commitment's occurrence is kept or missed by its measure alone."""
        if self.commitment.measured_by:
            return self._measured_status(today)
        if self.completed_on is None:
            return self.Status.OVERDUE if today > self.due_date else self.Status.DUE
        if self.commitment.evidence_required and evidence_count == 0:
            return self.Status.MISSING_EVIDENCE
        if self.answer == self.Answer.DISPUTED:
            return self.Status.DISPUTED
        if self.completed_on > self.due_date:
            return self.Status.LATE
        if self.answer == self.Answer.CONFIRMED:
            return self.Status.KEPT
        if answer_days is None:
            answer_days = settings.COMMITMENT_ANSWER_DAYS
        if today > self.answer_window_starts + timedelta(days=answer_days):
            return self.Status.KEPT
        return self.Status.AWAITING

    def _measured_status(self, today: date) -> str:
        # The period is judged once it is over. A report covering it can only be exported
        # after it: for COMMITMENT_REPORT_GRACE_DAYS the occurrence awaits it (not kept, not
        # yet missed, no credit); with none imported by then, nothing shows it kept.
        if today <= self.due_date:
            return self.Status.DUE
        if self.measure is None:
            if today <= self.due_date + timedelta(days=settings.COMMITMENT_REPORT_GRACE_DAYS):
                return self.Status.AWAITING_REPORT
            return self.Status.OVERDUE
        return self.Status.KEPT if self.measure["kept"] else self.Status.MISSED

    @property
    def answer_window_starts(self) -> date:
        """The day the other side's window to answer opened (rows recorded before the window
        existed count from their completion date)."""
        if self.recorded_at is not None:
            return self.recorded_at.date()
        return self.completed_on or self.due_date


def evidence_path(instance: "Evidence", filename: str) -> str:
    # The stored name is random: the uploaded name is kept in a field and never touches the disk.
    return f"evidence/{instance.occurrence.commitment.contract_id}/{uuid.uuid4().hex}"


class Evidence(models.Model):
    """A file proving an occurrence was fulfilled (a restore-test report, a patch summary)."""

    occurrence = models.ForeignKey(
        CommitmentOccurrence, on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.FileField(upload_to=evidence_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return self.original_name
