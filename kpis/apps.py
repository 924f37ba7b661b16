from django.apps import AppConfig


class KpisConfig(AppConfig):
    """Ticket import, the SLA clock and KPI computation (issues #3 and #4 build it out)."""

    name = "kpis"
    verbose_name = "KPIs"
