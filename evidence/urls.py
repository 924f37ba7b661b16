from django.urls import path

from . import views

urlpatterns = [
    path(
        "clients/<slug:slug>/contracts/<int:pk>/patch-reports/",
        views.tool_reports,
        {"kind": "patches"},
        name="patch_reports",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/patch-reports/<int:report>/undo/",
        views.tool_report_undo,
        {"kind": "patches"},
        name="patch_report_undo",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/patches/",
        views.occurrence_patches,
        name="occurrence_patches",
    ),
]
