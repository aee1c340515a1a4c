from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from complaints.api.auth import AddressRateThrottle
from config.admin_site import cached_sidebar_navigation, fast_permission_callbacks, memoize_app_list

memoize_app_list(admin.site)
fast_permission_callbacks(admin.site)
cached_sidebar_navigation(admin.site)


class SchemaView(SpectacularAPIView):
    """Public (it documents the interface, holds no data), throttled per address."""

    throttle_classes = [AddressRateThrottle]


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
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves its script as a file: no inline script under the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]


# Error pages: JSON under /api/ (complaints.api.errors: API clients parse JSON, even for
# URLs no route matches and for failures before a view runs); elsewhere styled, translated
# pages inside the admin frame (complaints.admin.errors).
handler400 = "complaints.api.errors.bad_request"
handler403 = "complaints.admin.errors.forbidden"
handler404 = "complaints.admin.errors.not_found"
handler500 = "complaints.admin.errors.server_error"
