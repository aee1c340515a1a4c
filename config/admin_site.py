from django.conf import settings
from django.utils.translation import gettext_lazy as _


def environment_callback(request):
    """Label shown in the admin header so nobody mistakes the demo for production."""
    if settings.PRODUCTION:
        return None
    return [_("Development"), "warning"]


def sidebar_permission(link):
    """The sidebar shows an entry only to those who may open it (defect: handlers saw SLA
    policies, calendars, staff users... and got a 403). For an admin list the check is that
    list's own (`has_view_or_change_permission`), so menu and page never disagree."""

    def may_open(request) -> bool:
        from django.contrib import admin
        from django.urls import Resolver404, resolve

        try:
            match = resolve(str(link))
        except Resolver404:
            return False
        name = match.url_name or ""
        if match.namespace != "admin" or not name.endswith("_changelist"):
            return request.user.is_active and request.user.is_staff
        for model, model_admin in admin.site._registry.items():
            if name == f"{model._meta.app_label}_{model._meta.model_name}_changelist":
                return model_admin.has_view_or_change_permission(request)
        return False

    return may_open


def memoize_app_list(site) -> None:
    """Build the admin's app list once per request: every admin page's context (the
    sidebar's "all applications") and the index view each built it (permission checks and
    sorting translated names for every registered model) — a large share of the landing
    page's time."""
    build = site.get_app_list

    def get_app_list(request, app_label=None):
        memo = request.__dict__.setdefault("_admin_app_lists", {})
        if app_label not in memo:
            memo[app_label] = build(request, app_label)
        return memo[app_label]

    site.get_app_list = get_app_list
