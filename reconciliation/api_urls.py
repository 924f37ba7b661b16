from rest_framework.routers import SimpleRouter

from .api import ReportedFiguresViewSet

router = SimpleRouter()
router.register("reported-figures", ReportedFiguresViewSet, basename="reported-figure")

urlpatterns = router.urls
