from rest_framework.routers import SimpleRouter

from .api import MeasuredOccurrenceViewSet, ToolReportViewSet

router = SimpleRouter()
router.register("tool-reports", ToolReportViewSet, basename="tool-report")
router.register("measured-occurrences", MeasuredOccurrenceViewSet, basename="measured-occurrence")

urlpatterns = router.urls
