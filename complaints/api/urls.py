from rest_framework.routers import DefaultRouter

from . import compensation, views

router = DefaultRouter()
router.register("complaints", views.ComplaintViewSet, basename="complaint")
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("compensations", compensation.CompensationViewSet, basename="compensation")

urlpatterns = router.urls
