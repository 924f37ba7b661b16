from rest_framework.routers import SimpleRouter

from reviews import api

router = SimpleRouter()
router.register("reviews", api.ReviewViewSet, basename="review")

urlpatterns = router.urls
