from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    """Reports from the MSP's own tools (patch reports first) that measure its commitments."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "evidence"
    verbose_name = "Tool reports"
