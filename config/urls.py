from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("attachments/", include("complaints.urls")),
    path("", include("followups.urls")),  # the public survey page, /s/<token>/
    path("admin/dashboard/", include("reporting.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/reports/", include("reporting.api_urls")),
    path("api/v1/", include("complaints.api.urls")),
    path("api/v1/", include("followups.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]


def _not_found(request, exception):
    """JSON 404 under /api/ (API clients parse JSON, even for URLs no route matches)."""
    from django.http import JsonResponse
    from django.utils.translation import gettext
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    return page_not_found(request, exception)


handler404 = _not_found
