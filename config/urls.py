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


# Styled, translated error pages in the admin frame; JSON under /api/.
handler403 = "complaints.admin.errors.forbidden"
handler404 = "complaints.admin.errors.not_found"
handler500 = "complaints.admin.errors.server_error"
