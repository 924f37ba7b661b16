from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People: the user model, log-in policy and the MFA requirement for MSP and advisor staff."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from . import signals  # noqa: F401 - connects the audit receivers
