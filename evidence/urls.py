from django.urls import path

from . import hygiene_views, views

urlpatterns = [
    path(
        "clients/<slug:slug>/contracts/<int:pk>/saved-columns/<int:saved>/forget/",
        views.saved_columns_forget,
        name="saved_columns_forget",
    ),
    # One upload of any kind, imported in the background: its progress, then what it did.
    path(
        "clients/<slug:slug>/contracts/<int:pk>/tool-report-imports/<int:job>/",
        views.tool_report_job,
        name="tool_report_job",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/tool-report-imports/<int:job>/file/",
        views.tool_report_job_file,
        name="tool_report_job_file",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/tool-report-imports/<int:job>/status/",
        views.tool_report_job_status,
        name="tool_report_job_status",
    ),
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
    # ---- Security hygiene: phishing simulation results, technician MFA attestations ----
    path(
        "clients/<slug:slug>/contracts/<int:pk>/phishing-reports/",
        views.tool_reports,
        {"kind": "phishing"},
        name="phishing_reports",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/phishing-reports/<int:report>/undo/",
        views.tool_report_undo,
        {"kind": "phishing"},
        name="phishing_report_undo",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/phishing/",
        hygiene_views.occurrence_phishing,
        name="occurrence_phishing",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/mfa-attestations/",
        views.tool_reports,
        {"kind": "mfa"},
        name="mfa_reports",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/mfa-attestations/<int:report>/undo/",
        views.tool_report_undo,
        {"kind": "mfa"},
        name="mfa_report_undo",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/mfa-attestations/<int:report>/file/",
        views.tool_report_file,
        {"kind": "mfa"},
        name="mfa_report_file",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/mfa/",
        hygiene_views.occurrence_mfa,
        name="occurrence_mfa",
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
