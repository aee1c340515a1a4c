"""URLs of the benchmark suite: the product's own, plus a plain, uncustomized ModelAdmin on a
separate AdminSite and a plain ModelViewSet, on the same data, as the baseline the product's
admin list and API page are compared with. Used only by bench_suite.py (never by the product).
"""

from django.urls import include, path
from rest_framework import permissions, routers, serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from unfold.admin import ModelAdmin
from unfold.sites import UnfoldAdminSite

from complaints.models import Complaint
from config.urls import urlpatterns as product_urlpatterns

# The project's admin theme (unfold) overrides the admin templates for every site, so the
# baseline is unfold's ModelAdmin with no options at all, on a site of its own.
plain_site = UnfoldAdminSite(name="plain_admin")
plain_site.register(Complaint, ModelAdmin)


class PlainSerializer(serializers.ModelSerializer):
    class Meta:
        model = Complaint
        fields = "__all__"


class PlainPagination(PageNumberPagination):
    page_size = 100


class PlainComplaintViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Complaint.objects.order_by("-received_at", "-id")
    serializer_class = PlainSerializer
    pagination_class = PlainPagination
    authentication_classes = [SessionAuthentication]
    permission_classes = [permissions.IsAdminUser]
    throttle_classes = []


router = routers.SimpleRouter()
router.register("complaints", PlainComplaintViewSet, basename="plain-complaint")

urlpatterns = [
    path("bench-plain/admin/", plain_site.urls),
    path("bench-plain/api/", include(router.urls)),
    *product_urlpatterns,
]
