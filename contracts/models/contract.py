from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone

from .organisations import Organisation


class Contract(models.Model):
    """The agreement between a client and its MSP: term, price, scope and service-credit terms."""

    class Pricing(models.TextChoices):
        PER_USER = "per_user", "Per user"
        PER_DEVICE = "per_device", "Per device"
        FLAT_FEE = "flat_fee", "Flat fee"

    class UnansweredDispute(models.TextChoices):
        ACCEPTED = "accepted", "Accepted as raised"
        ESCALATED = "escalated", "Escalated"

    class CreditPeriod(models.TextChoices):
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"

    client = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="client_contracts",
        limit_choices_to={"kind": Organisation.Kind.CLIENT},
    )
    msp = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="msp_contracts",
        limit_choices_to={"kind": Organisation.Kind.MSP},
    )
    advisor = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="advised_contracts",
        limit_choices_to={"kind": Organisation.Kind.ADVISOR},
    )
    name = models.CharField(max_length=200)
    starts = models.DateField()
    ends = models.DateField(null=True, blank=True)
    timezone = models.CharField(max_length=64, help_text="IANA time zone, e.g. America/Chicago")

    pricing_model = models.CharField(max_length=12, choices=Pricing.choices)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    flat_monthly_fee = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    seats_users = models.PositiveIntegerField(default=0)
    seats_devices = models.PositiveIntegerField(default=0)

    in_scope = models.JSONField(default=list, blank=True)
    exclusions = models.JSONField(default=list, blank=True)

    credit_measure = models.CharField(max_length=60, blank=True, default="")
    credit_period = models.CharField(
        max_length=10, choices=CreditPeriod.choices, default=CreditPeriod.MONTH
    )
    credit_tiers = models.JSONField(
        default=list, blank=True, help_text='e.g. [{"below": 0.95, "credit_percent": 5}]'
    )
    credit_cap_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    # The contract's own targets for other measures (contract file `contract.targets`), a KPI
    # key → a fraction or business minutes; which way is better comes from the KPI registry.
    kpi_targets = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"first_time_fix_rate": 0.7}'
    )

    # Disputes (issue 22): the MSP side's window to answer one, in business days of the
    # contract's calendar, and what an unanswered dispute becomes when the window ends.
    dispute_window_days = models.PositiveSmallIntegerField(default=10)
    dispute_unanswered = models.CharField(
        max_length=10, choices=UnansweredDispute.choices, default=UnansweredDispute.ACCEPTED
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client__name", "-starts"]
        constraints = [
            models.UniqueConstraint(fields=["client", "msp", "name"], name="contract_natural_key"),
            models.CheckConstraint(
                condition=models.Q(ends__isnull=True) | models.Q(ends__gte=models.F("starts")),
                name="contract_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} ← {self.msp}: {self.name}"

    @property
    def seats(self) -> int:
        """Seats the price is counted on (users for per-user pricing, else devices)."""
        if self.pricing_model == self.Pricing.PER_DEVICE:
            return self.seats_devices
        return self.seats_users

    @property
    def monthly_fee(self) -> Decimal | None:
        """What the client pays a month: unit price × seats, or the flat fee."""
        if self.pricing_model == self.Pricing.FLAT_FEE:
            return self.flat_monthly_fee
        if self.unit_price is None:
            return None
        return (self.unit_price * self.seats).quantize(Decimal("0.01"))

    def today(self):
        """Today's date in the contract's time zone."""
        return timezone.now().astimezone(ZoneInfo(self.timezone)).date()

    def current_policy(self, on=None):
        """The agreed SLA policy version in force on a date (default: today in the contract's
        zone): approved by both sides, not replaced by a correction."""
        from .agreement import Agreed

        on = on or self.today()
        # Through the reverse relation: the SLA module imports this one, not the other way.
        return (
            self.sla_versions.filter(Agreed.in_force_q(), effective_from__lte=on)
            .order_by("-effective_from", "-id")
            .first()
        )

    def matrix_in_force(self, on=None):
        """The agreed responsibility-matrix version in force on a date (default: today)."""
        from .agreement import Agreed

        on = on or self.today()
        return (
            self.matrix_versions.filter(Agreed.in_force_q(), effective_from__lte=on)
            .order_by("-effective_from", "-number")
            .first()
        )

    def current_matrix(self):
        """The newest responsibility-matrix version that is agreed or waiting for approval
        (withdrawn proposals and replaced versions are history)."""
        return (
            self.matrix_versions.filter(withdrawn_at__isnull=True, superseded_at__isnull=True)
            .order_by("-number")
            .first()
        )
