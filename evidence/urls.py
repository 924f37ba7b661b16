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
    # Backup job reports and restore test reports.
    path(
        "clients/<slug:slug>/contracts/<int:pk>/backup-reports/",
        views.tool_reports,
        {"kind": "backups"},
        name="backup_reports",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/backup-reports/<int:report>/undo/",
        views.tool_report_undo,
        {"kind": "backups"},
        name="backup_report_undo",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/backups/",
        views.occurrence_backups,
        name="occurrence_backups",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/restore-reports/",
        views.tool_reports,
        {"kind": "restores"},
        name="restore_reports",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/restore-reports/<int:report>/undo/",
        views.tool_report_undo,
        {"kind": "restores"},
        name="restore_report_undo",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/restores/",
        views.occurrence_restores,
        name="occurrence_restores",
    ),
]
