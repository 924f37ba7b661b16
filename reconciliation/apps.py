from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    """The MSP's own reported figures and verdicts beside the portal's measured ones, and why
    they differ (issue 22)."""

    name = "reconciliation"
    verbose_name = "Reconciliation"
