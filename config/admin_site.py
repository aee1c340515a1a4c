from functools import partial

from django.conf import settings
from django.utils.functional import SimpleLazyObject
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

    # What the link points at depends only on the URLconf: found once per URLconf (the
    # sidebar asks for every entry on every admin page), the permission check stays per
    # request.
    targets = {}

    def target(urlconf):
        from django.contrib import admin
        from django.urls import Resolver404, resolve

        try:
            match = resolve(str(link), urlconf)
        except Resolver404:
            return "closed"
        name = match.url_name or ""
        if match.namespace != "admin" or not name.endswith("_changelist"):
            return "staff"
        for model, model_admin in admin.site._registry.items():
            if name == f"{model._meta.app_label}_{model._meta.model_name}_changelist":
                return model_admin
        return "closed"

    def may_open(request) -> bool:
        from django.urls import get_urlconf

        urlconf = getattr(request, "urlconf", None) or get_urlconf()
        if urlconf not in targets:
            targets[urlconf] = target(urlconf)
        found = targets[urlconf]
        if found == "closed":
            return False
        if found == "staff":
            return request.user.is_active and request.user.is_staff
        return found.has_view_or_change_permission(request)

    return may_open


def fast_permission_callbacks(site) -> None:
    """unfold asks each sidebar entry's permission callback through
    `django.utils.functional.lazy(callback)(request) == True`; `lazy()` builds a new proxy
    class on every call (~1 ms each on Python 3.13), and the sidebar has some thirty entries:
    a third of every admin page's time. The comparison evaluates the callback at once
    anyway, so calling it directly gives the same answer."""
    from django.utils.module_loading import import_string

    def call_permission_callback(callback, request) -> bool:
        if callback is None:
            return True
        if isinstance(callback, str):
            try:
                callback = import_string(callback)
            except (ImportError, ValueError):
                return False
        if callable(callback):
            return callback(request) == True  # noqa: E712 (unfold's own test)
        return False

    site._call_permission_callback = call_permission_callback


def memoize_app_list(site) -> None:
    """Build the admin's app list once per request: every admin page's context (the
    sidebar's "all applications") and the index view each built it (permission checks and
    sorting translated names for every registered model) — a large share of the landing
    page's time."""
    build = site.get_app_list

    def get_app_list(request, app_label=None):
        memo = request.__dict__.setdefault("_admin_app_lists", {})
        if app_label not in memo:
            # Built when first used: a page whose sidebar is found in its cache never does.
            memo[app_label] = SimpleLazyObject(partial(build, request, app_label))
        return memo[app_label]

    site.get_app_list = get_app_list


def cached_sidebar_navigation(site) -> None:
    """The sidebar's navigation list is rendered by complaints/admin/navigation.html's
    `{% sidebar_apps %}` (complaints.templatetags.sidebar_cache: once per distinct content).
    unfold's nav_sidebar.html includes `templates.navigation` when the context names one."""
    build = site.each_context
    build_navigation = site.get_sidebar_list

    def get_sidebar_list(request):
        # Built when first used, like the app list (memoize_app_list).
        return SimpleLazyObject(partial(build_navigation, request))

    def each_context(request):
        context = build(request)
        context.setdefault("templates", {"navigation": "complaints/admin/navigation.html"})
        context["sidebar_site"] = site  # whose permissions the sidebar's cache key asks
        return context

    site.get_sidebar_list = get_sidebar_list
    site.each_context = each_context
