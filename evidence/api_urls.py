from rest_framework.routers import SimpleRouter

from .api import MeasuredOccurrenceViewSet, ToolReportJobViewSet, ToolReportViewSet

router = SimpleRouter()
router.register("tool-reports", ToolReportViewSet, basename="tool-report")
router.register("tool-report-imports", ToolReportJobViewSet, basename="tool-report-import")
router.register("measured-occurrences", MeasuredOccurrenceViewSet, basename="measured-occurrence")

urlpatterns = router.urls
