from rest_framework.routers import SimpleRouter

from .api import ScorecardViewSet

router = SimpleRouter()
router.register("scorecards", ScorecardViewSet, basename="scorecard")

urlpatterns = router.urls
