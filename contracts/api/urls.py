from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("sla-policies", views.SlaPolicyVersionViewSet, basename="sla-policy")
router.register("matrix-versions", views.MatrixVersionViewSet, basename="matrix-version")
router.register("commitments", views.CommitmentViewSet, basename="commitment")
router.register("occurrences", views.OccurrenceViewSet, basename="occurrence")
router.register("evidence", views.EvidenceViewSet, basename="evidence")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("contract-files/", views.ContractFileView.as_view(), name="contract-file-apply"),
    *router.urls,
]
