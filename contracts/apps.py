from django.apps import AppConfig


class ContractsConfig(AppConfig):
    """Organisations, contracts, SLA policies, calendars, the responsibility matrix, commitments."""

    name = "contracts"
    verbose_name = "Contracts"
