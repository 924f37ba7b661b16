from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Quarterly business reviews: frozen figures, narrative and the PDF (built out in #6)."""

    name = "reviews"
    verbose_name = "Quarterly business reviews"
