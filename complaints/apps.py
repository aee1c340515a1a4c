from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self):
        from django.core import checks

        from .checks import notification_lists_check, sla_data_check

        checks.register(sla_data_check)
        checks.register(notification_lists_check)

        from .api import schema  # noqa: F401  (OpenAPI extensions register on import)
        from .services import reference_cache

        reference_cache.connect_signals()

        from .services import saved_views

        saved_views.connect_signals()

        from . import pg_times

        pg_times.connect_signals()

        _people_by_full_name()
        _cache_wide_statements()


def _cache_wide_statements() -> None:
    """psycopg parses a statement's placeholders once and keeps the result, but only for
    statements of at most 50 parameters: the complaint INSERT (60) was parsed again on every
    intake. The cache is keyed by the statement text and bounded (128 entries)."""
    try:
        from psycopg import _queries
    except ImportError:  # SQLite only
        return
    if getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", 0) < 100:
        _queries.MAX_CACHED_STATEMENT_PARAMS = 100


def _people_by_full_name() -> None:
    """Staff appear by their full name (pickers, list columns, messages), the user name only
    when no name is set: people know their colleagues as 王芳, not as wangf."""
    from django.contrib.auth import get_user_model

    def __str__(user):
        return user.get_full_name() or user.get_username()

    get_user_model().__str__ = __str__
