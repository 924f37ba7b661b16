from django.apps import AppConfig


class DisputesConfig(AppConfig):
    """Disputes the client side raises against a measured figure, the MSP's answers, and the
    adjustments accepted disputes make to the agreed figures (issue 22)."""

    name = "disputes"
    verbose_name = "Disputes"
