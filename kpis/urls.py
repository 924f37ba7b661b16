from django.urls import path

from kpis.dashboard import views as dashboard_views
from kpis.imports import undo_views, views
from kpis.outages import views as outage_views

urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/status/", views.import_status, name="import_status"),
    path("imports/<int:pk>/problems.csv", views.import_problems_csv, name="import_problems_csv"),
    path("imports/<int:pk>/file/", views.import_file, name="import_file"),
    path("imports/<int:pk>/rerun/", views.import_rerun, name="import_rerun"),
    path("imports/<int:pk>/overlap/", undo_views.import_overlap, name="import_overlap"),
    path("imports/<int:pk>/undo/", undo_views.import_undo_view, name="import_undo"),
    path("clients/<slug:slug>/dashboard/", dashboard_views.dashboard, name="client_dashboard"),
    path("clients/<slug:slug>/tickets/", dashboard_views.ticket_list, name="client_tickets"),
    path(
        "clients/<slug:slug>/tickets/<int:pk>/", dashboard_views.ticket_detail, name="client_ticket"
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/outages/",
        outage_views.outages,
        name="contract_outages",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/outages/<int:outage>/remove/",
        outage_views.outage_remove,
        name="outage_remove",
    ),
]
