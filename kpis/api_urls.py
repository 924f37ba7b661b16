from django.urls import path
from rest_framework.routers import SimpleRouter

from kpis.imports import api
from kpis.read_api import views as read

router = SimpleRouter()
router.register("imports", api.ImportJobViewSet, basename="import")
router.register("kpi-snapshots", read.KpiSnapshotViewSet, basename="kpi-snapshot")
router.register("tickets", read.TicketViewSet, basename="ticket")
router.register("outages", read.OutageViewSet, basename="outage")

urlpatterns = [
    path("imports/upload/", api.ImportUploadView.as_view(), name="import-upload"),
    path("tickets/batch/", api.TicketBatchView.as_view(), name="ticket-batch"),
    *router.urls,
]
