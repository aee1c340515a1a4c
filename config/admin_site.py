from django.conf import settings
from django.utils.translation import gettext_lazy as _


def environment_callback(request):
    """Label shown in the admin header so nobody mistakes the demo for production."""
    if settings.PRODUCTION:
        return None
    return [_("Development"), "warning"]
