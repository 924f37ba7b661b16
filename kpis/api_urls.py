from django.urls import path
from rest_framework.routers import SimpleRouter

from kpis.imports import api

router = SimpleRouter()
router.register("imports", api.ImportJobViewSet, basename="import")

urlpatterns = [
    path("imports/upload/", api.ImportUploadView.as_view(), name="import-upload"),
    path("tickets/batch/", api.TicketBatchView.as_view(), name="ticket-batch"),
    *router.urls,
]
