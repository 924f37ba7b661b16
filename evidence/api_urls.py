from rest_framework.routers import SimpleRouter

from .api import (
    MeasuredOccurrenceViewSet,
    ToolReportColumnsViewSet,
    ToolReportJobViewSet,
    ToolReportViewSet,
)

router = SimpleRouter()
router.register("tool-reports", ToolReportViewSet, basename="tool-report")
router.register("tool-report-imports", ToolReportJobViewSet, basename="tool-report-import")
router.register("tool-report-columns", ToolReportColumnsViewSet, basename="tool-report-columns")
router.register("measured-occurrences", MeasuredOccurrenceViewSet, basename="measured-occurrence")

urlpatterns = router.urls
