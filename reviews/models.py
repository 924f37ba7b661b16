"""Quarterly business reviews: a review per client and quarter (draft → published, corrections
as new versions), its action items and comments, the board PDF and read-only share links."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from contracts.models import Contract, Organisation


def review_pdf_path(instance: Review, filename: str) -> str:
    name = f"{instance.quarter}-v{instance.version}-{uuid.uuid4().hex}.pdf"
    return f"reviews/{instance.client_id}/{name}"


def logo_path(instance: ReviewBranding, filename: str) -> str:
    # The stored name is random; the uploaded name never touches the disk.
    return f"review-logos/{instance.client_id}/{uuid.uuid4().hex}"


class ReviewBranding(models.Model):
    """How a client's board PDFs look: paper size and the logo on the cover."""

    class Paper(models.TextChoices):
        # Letter in the US and Canada, A4 elsewhere (reviews/board.py paper_for).
        AUTO = "auto", "From the client's country"
        A4 = "A4", "A4"
        LETTER = "Letter", "US Letter"

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    # Each MSP sets the look of its own reviews' PDFs; a row without a contract is the
    # client's default (set by the command line or the admin), used where a contract has none.
    contract = models.OneToOneField(
        Contract, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    paper = models.CharField(max_length=6, choices=Paper.choices, default=Paper.AUTO)
    logo = models.FileField(upload_to=logo_path, blank=True)
    logo_type = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(contract__isnull=True),
                name="one_default_branding_per_client",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.paper}"


class Review(models.Model):
    """One version of a client's quarterly business review. A draft reads live figures; publishing
    freezes everything it shows into `frozen`, so later imports never change it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    class PdfStatus(models.TextChoices):
        NONE = "", "Not generated"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Generating"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="reviews")
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="reviews")
    quarter = models.CharField(max_length=7)  # 2025-Q3
    version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    correction_note = models.TextField(
        blank=True, default="", help_text="What this version corrects (versions after the first)"
    )

    msp_commentary = models.TextField(blank=True, default="")
    advisor_commentary = models.TextField(blank=True, default="")
    recommendations = models.TextField(
        blank=True, default="", help_text="The advisor's recommendations, one per line"
    )
    attendees = models.TextField(blank=True, default="", help_text="One person per line")
    next_review_on = models.DateField(null=True, blank=True)

    frozen = models.JSONField(null=True, blank=True)  # the whole review as published
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    pdf = models.FileField(upload_to=review_pdf_path, blank=True)
    pdf_status = models.CharField(
        max_length=10, choices=PdfStatus.choices, blank=True, default=PdfStatus.NONE
    )
    pdf_phase = models.CharField(max_length=60, blank=True, default="")
    pdf_progress = models.PositiveSmallIntegerField(default=0)  # percent
    pdf_message = models.TextField(blank=True, default="")
    pdf_generated_at = models.DateTimeField(null=True, blank=True)
    pdf_pages = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["client", "-quarter", "-version"]
        constraints = [
            # Per contract: two MSPs of one client each review the quarter with it.
            models.UniqueConstraint(
                fields=["contract", "quarter", "version"], name="review_version_per_quarter"
            ),
            models.UniqueConstraint(
                fields=["contract", "quarter"],
                condition=models.Q(status="draft"),
                name="one_draft_per_quarter",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.quarter} v{self.version} ({self.get_status_display()})"

    @property
    def published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class ActionItem(models.Model):
    """Something a side agreed to do. It is raised in one quarter's review and shows in every later
    review of the client until it is closed."""

    class Side(models.TextChoices):
        CLIENT = "client", "Client"
        MSP = "msp", "MSP"
        ADVISOR = "advisor", "Advisor"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        CLOSED = "closed", "Closed"

    client = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="action_items")
    # The contract whose review raised it (shown in that contract's reviews only); items from
    # before contracts were recorded on them have none and show in every review of the client.
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    raised_in = models.CharField(max_length=7)  # the quarter of the review it was raised in
    title = models.CharField(max_length=300)
    owner_side = models.CharField(max_length=10, choices=Side.choices)
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["client", "raised_in", "due_on", "pk"]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_owner_side_display()}, {self.get_status_display()})"


class ReviewComment(models.Model):
    """A remark on a review by anyone who may see it (owners included)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.author} on {self.review}"


class ShareLink(models.Model):
    """A read-only link to a published review for people without an account. The URL carries a
    signed token naming this row; the row holds the expiry and can be revoked."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="share_links")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"link to {self.review} until {self.expires_at:%Y-%m-%d}"
