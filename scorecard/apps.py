from django.apps import AppConfig


class ScorecardConfig(AppConfig):
    """A provider scorecard: the incumbent MSP and newcomers scored side by side on weighted
    criteria, from measured figures where the portal has them and answers where it has not
    (issue 23, section 2)."""

    name = "scorecard"
    verbose_name = "Provider scorecard"
