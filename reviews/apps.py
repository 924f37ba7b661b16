from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Quarterly business reviews: frozen figures, narrative and the PDF (issue #6 builds it out)."""

    name = "reviews"
    verbose_name = "Quarterly business reviews"
