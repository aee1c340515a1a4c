from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("followups", views.FollowUpViewSet, basename="followup")
router.register("surveys", views.SurveyViewSet, basename="survey")
router.register("repeats", views.RepeatLinkViewSet, basename="repeat")
router.register(
    "improvement-actions", views.ImprovementActionViewSet, basename="improvement-action"
)

urlpatterns = router.urls
