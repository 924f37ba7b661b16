from django.urls import path

from . import views

urlpatterns = [
    path(
        "clients/<slug:slug>/contracts/<int:pk>/patch-reports/",
        views.patch_reports,
        name="patch_reports",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/patch-reports/<int:report>/undo/",
        views.patch_report_undo_view,
        name="patch_report_undo",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/patches/",
        views.occurrence_patches,
        name="occurrence_patches",
    ),
]
