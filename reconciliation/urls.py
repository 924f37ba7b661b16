from django.urls import path

from . import views

urlpatterns = [
    path(
        "clients/<slug:slug>/reconciliation/",
        views.reconciliation_page,
        name="client_reconciliation",
    ),
    path("clients/<slug:slug>/reported/", views.reported_figures, name="reported_figures"),
    path("clients/<slug:slug>/reported/<int:pk>/file/", views.reported_file, name="reported_file"),
]
