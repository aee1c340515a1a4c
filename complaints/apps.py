from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self):
        from django.core import checks

        from .checks import sla_data_check

        checks.register(sla_data_check)

        from .api import schema  # noqa: F401  (OpenAPI extensions register on import)
