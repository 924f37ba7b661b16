from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from msp_portal.units import duration

from .agreement import Agreed
from .contract import Contract


class SlaPolicyVersion(Agreed):
    """The SLA from a date on: targets, calendars, pause states, repeat window, uptime.

    Proposed by one side, in force once both sides approved it (Agreed), and only for tickets
    created from its effective date. Its content never changes once written (the database
    refuses it): a ticket's clock stores the version it used, so a later change of terms never
    rewrites an earlier figure, and a correction of an error is a new, agreed version.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="sla_versions")
    effective_from = models.DateField()
    pause_states = models.JSONField(default=list, blank=True)
    repeat_window_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(30), MaxValueValidator(60)]
    )
    content_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["contract", "-effective_from"]
        constraints = [
            # Proposals may share a day (one replaces another); among the versions in force,
            # one per day: a correction replaces the version of its day (superseded_at).
            models.UniqueConstraint(
                fields=["contract", "effective_from"],
                condition=models.Q(
                    client_approved_at__isnull=False,
                    msp_approved_at__isnull=False,
                    withdrawn_at__isnull=True,
                    superseded_at__isnull=True,
                ),
                name="one_sla_version_in_force_per_day",
            ),
            models.CheckConstraint(
                condition=models.Q(repeat_window_days__gte=30, repeat_window_days__lte=60),
                name="repeat_window_30_to_60_days",
            ),
        ]
        verbose_name = "SLA policy version"

    def __str__(self) -> str:
        return f"{self.contract.name}: SLA from {self.effective_from:%Y-%m-%d}"


class Calendar(models.Model):
    """When an SLA clock runs: 24x7, or weekly windows in a time zone minus holidays."""

    WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

    policy = models.ForeignKey(SlaPolicyVersion, on_delete=models.CASCADE, related_name="calendars")
    key = models.SlugField(max_length=40, help_text="The name targets refer to, e.g. business")
    timezone = models.CharField(max_length=64, blank=True, default="")
    is_24x7 = models.BooleanField(default=False)
    weekly_hours = models.JSONField(
        default=dict,
        blank=True,
        help_text='Windows per weekday, e.g. {"mon": [["08:00", "17:00"]]}; '
        "an overnight window is split at midnight, 24:00 is a valid end",
    )
    holiday_country = models.CharField(max_length=2, blank=True, default="")
    holiday_subdivision = models.CharField(max_length=10, blank=True, default="")
    extra_holidays = models.JSONField(default=list, blank=True, help_text="ISO dates")

    class Meta:
        ordering = ["policy", "key"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "key"], name="calendar_key_per_policy")
        ]

    def __str__(self) -> str:
        return "24x7" if self.is_24x7 else f"{self.key} ({self.timezone})"

    def describe_hours(self) -> list[tuple[str, str]]:
        """(weekday, "08:00–17:00, 18:00–20:00") rows for display; closed days are left out."""
        if self.is_24x7:
            return [("Every day", "00:00–24:00")]
        rows = []
        for day in self.WEEKDAYS:
            windows = self.weekly_hours.get(day) or []
            if windows:
                rows.append((day.title(), ", ".join(f"{a}–{b}" for a, b in windows)))
        return rows


class SlaTarget(models.Model):
    """Response and resolution targets for one priority, in minutes of its calendar's time."""

    class Priority(models.TextChoices):
        P1 = "P1", "P1 – critical"
        P2 = "P2", "P2 – high"
        P3 = "P3", "P3 – medium"
        P4 = "P4", "P4 – low"

    policy = models.ForeignKey(SlaPolicyVersion, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=2, choices=Priority.choices)
    response_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="targets")

    class Meta:
        ordering = ["policy", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority"], name="one_target_per_priority"),
            models.CheckConstraint(
                condition=models.Q(response_minutes__gt=0, resolution_minutes__gt=0),
                name="targets_positive",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.priority}: respond within {duration(self.response_minutes)}, "
            f"resolve within {duration(self.resolution_minutes)}"
        )


class UptimeTarget(models.Model):
    """The availability promised for one monitored service, as a fraction (0.999 = 99.9%)."""

    policy = models.ForeignKey(
        SlaPolicyVersion, on_delete=models.CASCADE, related_name="uptime_targets"
    )
    service = models.CharField(max_length=200)
    target = models.DecimalField(
        max_digits=6,
        decimal_places=5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )

    class Meta:
        ordering = ["policy", "service"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "service"], name="uptime_service_per_policy")
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.target:%}"
