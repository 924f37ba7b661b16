from django.urls import path

from . import history_views, rules_views, views

urlpatterns = [
    path("organisations/switch/", views.organisation_switch, name="organisation_switch"),
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
]
