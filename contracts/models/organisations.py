import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

LOGO_MAX_BYTES = 2 * 1024 * 1024


def organisation_logo_path(instance: "Organisation", filename: str) -> str:
    # The stored name is random; the uploaded name never touches the disk.
    return f"organisation-logos/{instance.slug}/{uuid.uuid4().hex}"


def logo_kind(head: bytes) -> str | None:
    """The image type of a logo from its first bytes: only PNG and JPEG are accepted."""
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def validate_logo(upload) -> None:
    """A logo is a real PNG or JPEG of at most 2 MB (its bytes are checked, not its name)."""
    head = upload.read(8)
    upload.seek(0)
    if upload.size > LOGO_MAX_BYTES or logo_kind(head) is None:
        raise ValidationError("The logo must be a PNG or JPEG file of at most 2 MB.")


class Organisation(models.Model):
    """A client business, a managed service provider, or an advisory firm."""

    class Kind(models.TextChoices):
        CLIENT = "client", "Client"
        MSP = "msp", "Managed service provider"
        ADVISOR = "advisor", "Advisory firm"

    slug = models.SlugField(unique=True, max_length=80)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Where the organisation is (ISO 3166 code, e.g. US, GB): the board PDF's paper follows it.
    country = models.CharField(
        max_length=2, blank=True, default="", help_text="Two-letter country code, e.g. US or GB"
    )
    # Optional: the board PDF's cover sets the name in type where there is no logo.
    logo = models.FileField(
        upload_to=organisation_logo_path,
        blank=True,
        validators=[validate_logo],
        help_text="PNG or JPEG, at most 2 MB: shown on the cover of review PDFs",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's role in one organisation; a person may hold several."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        READ_ONLY = "readonly", "Read-only"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="one_membership_per_org")
        ]
        ordering = ["organisation__name"]

    def __str__(self) -> str:
        return f"{self.user} – {self.organisation} ({self.get_role_display()})"
