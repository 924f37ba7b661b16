from django.urls import path

from . import history_views, rules_views, setup_views, views

urlpatterns = [
    path("organisations/switch/", views.organisation_switch, name="organisation_switch"),
    path("clients/new/", setup_views.setup_client_new, name="setup_client_new"),
    path("clients/<slug:slug>/", views.client_home, name="client_home"),
    path("clients/<slug:slug>/contracts/<int:pk>/", views.contract_detail, name="contract_detail"),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/history/",
        history_views.contract_history,
        name="contract_history",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/history.csv",
        history_views.contract_history_csv,
        name="contract_history_csv",
    ),
    path("clients/<slug:slug>/contracts/<int:pk>/matrix/", views.matrix, name="contract_matrix"),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/matrix/<int:version>/approve/<str:side>/",
        views.matrix_approve_view,
        name="contract_matrix_approve",
    ),
    path("clients/<slug:slug>/contracts/<int:pk>/rules/", rules_views.rules, name="contract_rules"),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/rules/<str:kind>/<int:version>/approve/<str:side>/",
        rules_views.rules_approve,
        name="contract_rules_approve",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/rules/<str:kind>/<int:version>/withdraw/",
        rules_views.rules_withdraw,
        name="contract_rules_withdraw",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/commitments/",
        views.commitments,
        name="contract_commitments",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/complete/",
        views.occurrence_complete_view,
        name="occurrence_complete",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/answer/",
        views.occurrence_answer_view,
        name="occurrence_answer",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/evidence/",
        views.evidence_upload_view,
        name="evidence_upload",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/evidence/<int:evidence>/",
        views.evidence_download,
        name="evidence_download",
    ),
    *[
        path(f"clients/<slug:slug>/contracts/<int:pk>/{route}", view, name=name)
        for route, view, name in (
            ("setup/", setup_views.setup_guide, "contract_setup"),
            ("setup/contract/", setup_views.setup_contract, "contract_setup_terms"),
            ("setup/calendars/", setup_views.setup_calendars, "contract_setup_calendars"),
            ("setup/sla/", setup_views.setup_sla, "contract_setup_sla"),
            ("setup/matrix/", setup_views.setup_matrix, "contract_setup_matrix"),
            ("setup/commitments/", setup_views.setup_commitments, "contract_setup_commitments"),
            ("setup/upload/", setup_views.contract_file_upload, "contract_file_upload"),
            ("contract-file/", setup_views.contract_file_download, "contract_file_download"),
        )
    ],
]
