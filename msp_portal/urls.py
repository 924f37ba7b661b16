"""Top-level URLs: pages, the API under /api/v1/, its schema and docs, log-in, admin."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

handler404 = "msp_portal.api.not_found"

urlpatterns = [
    path("", include("portfolio.urls")),
    path("", include("contracts.urls")),
    path("", include("kpis.urls")),
    path("", include("reviews.urls")),
    path("", include("disputes.urls")),
    path("", include("reconciliation.urls")),
    path("", include("scorecard.urls")),
    path("", include("evidence.urls")),
    path("api/v1/", include("contracts.api.urls")),
    path("api/v1/", include("kpis.api_urls")),
    path("api/v1/", include("reviews.api_urls")),
    path("api/v1/", include("disputes.api_urls")),
    path("api/v1/", include("reconciliation.api_urls")),
    path("api/v1/", include("evidence.api_urls")),
    path("api/v1/", include("scorecard.api_urls")),
    # The schema documents tenant-shaped endpoints: only for a logged-in caller (401 otherwise;
    # SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]). The docs page sends a visitor to log in.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("accounts/", include("allauth.urls")),
    path("profile/", include("accounts.urls")),
    path("", include("accounts.people_urls")),
    path("admin/", admin.site.urls),
]
