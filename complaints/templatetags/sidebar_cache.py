"""{% sidebar_apps %}: unfold's sidebar navigation list (unfold/helpers/app_list.html, with
its "All applications" panel), rendered once per distinct content and reused.

Rendering it took ~10 ms of every admin page (some forty entries, a template include per
badge). The cache key is a digest of everything the template shows: the language and the
navigation and app list *as already computed for this request* (each entry's permission
result, active state, link, title, evaluated badge; each app's models, names and URLs). Two
requests share an entry only when the HTML would be the same, so one user's menu is never
shown to another, and a permission or group change shows at once (it changes the input, so
the key). The cache is per process (no Redis: nothing to fail, nothing shared) and bounded.

Building those inputs (the app list, the navigation with its links and permission checks,
their digest) cost ~10 ms itself, so a second, cheaper key finds the rendering first: the
answers of the permission checks they are made of (each model admin's module and model
permissions, each entry's permission callback), whether each badge shows, the language, the
URLconf and the path (the active entry). The app list and navigation are functions of exactly
these, so the two keys name the same HTML; `config.admin_site` makes both lists lazy, and a
page whose rendering is found never builds them.
"""

import hashlib
import secrets

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from ..process_cache import ProcessCache

register = template.Library()

TEMPLATE = "unfold/helpers/app_list.html"
MAX_ENTRIES = 256  # ~55 KB each: at most ~14 MB a process
_cache = ProcessCache(MAX_ENTRIES)
# Permission-answers key -> (content key, number of badge placeholders).
_answers = ProcessCache(MAX_ENTRIES)
# Not shown by the template (the permission callback's result is `has_permission`).
_SKIPPED = frozenset({"permission"})
# Stands for a badge's value in the cached HTML (letters and digits: never escaped).
_TOKEN = f"sidebarbadge{secrets.token_hex(8)}n"


def _freeze(value):
    """A plain, comparable form of a navigation / app-list value, lazy texts and
    callbacks evaluated in the current language."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items() if k not in _SKIPPED))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Promise):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


def _evaluated(navigation):
    """The navigation with each badge evaluated once (unfold's badge is a lazy call that
    would run its query again on each use) and replaced by a placeholder, so users whose
    menus differ only in their counts (the inbox's unread) share the rendering; returns it
    and the placeholders' values."""
    badges: dict[str, str] = {}

    def badge(value) -> str:
        value = str(value)
        if not value or value == "None":  # app_list_badge.html shows no badge then
            return value
        token = f"{_TOKEN}{len(badges)}x"
        badges[token] = value
        return token

    groups = []
    for group in navigation:
        group = dict(group)
        if "badge_callback" in group:
            group["badge_callback"] = badge(group["badge_callback"])
        items = []
        for item in group.get("items", []):
            item = dict(item)
            if "badge_callback" in item:
                item["badge_callback"] = badge(item["badge_callback"])
            if "link_callback" in item:
                item["link_callback"] = str(item["link_callback"])
            items.append(item)
        group["items"] = items
        groups.append(group)
    return groups, badges


def cache_key(language, navigation, apps, show_all) -> str:
    frozen = repr((language, show_all, _freeze(navigation), _freeze(apps)))
    return hashlib.sha256(frozen.encode()).hexdigest()


def clear() -> None:
    _cache.clear()
    _answers.clear()


def _badge(path, request) -> str:
    """A badge's text as the sidebar shows it ("" or "None": no badge)."""
    return str(import_string(path)(request))


def answers_key(context) -> tuple[str, list[str]] | None:
    """The cheap key (see the module's text) and the badges' texts, in the order `_evaluated`
    numbers their placeholders; None where the navigation is not the plain kind it covers."""
    from unfold.settings import get_config

    request, site = context.get("request"), context.get("sidebar_site")
    if request is None or site is None or not context.get("has_permission"):
        return None
    config = get_config(site.settings_name)
    navigation = (config.get("SIDEBAR") or {}).get("navigation")
    if config.get("TABS") or not isinstance(navigation, list | tuple):
        return None  # tabs mark entries active by the query string too
    answers, badges = [], []
    try:
        for group in navigation:
            if isinstance(group.get("badge"), str):
                badges.append(_badge(group["badge"], request))
            for item in group.get("items", ()):
                link = item.get("link")
                # As unfold's `if not link`, without evaluating a lazy reverse() for it.
                if not (link if isinstance(link, str | None) else True):
                    continue
                if "active" in item or "items" in item:
                    return None
                answers.append(site._call_permission_callback(item.get("permission"), request))
                if callable(link):
                    answers.append(str(link(request)))
                if isinstance(item.get("badge"), str):
                    badges.append(_badge(item["badge"], request))
    except (ImportError, ValueError):
        return None  # unfold skips such a badge: the full inputs decide
    models = [
        (
            model._meta.label,
            model_admin.has_module_permission(request)
            and tuple(model_admin.get_model_perms(request).values()),
        )
        for model, model_admin in site._registry.items()
    ]
    shown = [value for value in badges if value and value != "None"]
    frozen = repr(
        (
            get_language(),
            site.name,
            getattr(request, "urlconf", None) or get_urlconf(),
            settings.ROOT_URLCONF,
            get_script_prefix(),
            request.path,
            bool(context.get("sidebar_show_all_applications")),
            id(navigation),
            answers,
            models,
            [value in shown for value in badges],
        )
    )
    return hashlib.sha256(frozen.encode()).hexdigest(), shown


def _filled(html: str, values) -> str:
    for index, value in enumerate(values):
        html = html.replace(f"{_TOKEN}{index}x", conditional_escape(value))
    return mark_safe(html)  # noqa: S308 (the template's output, badge values escaped)


@register.simple_tag(takes_context=True)
def sidebar_apps(context):
    fast = answers_key(context)
    if fast is not None:
        found = _answers.get(fast[0])
        html = _cache.get(found[0]) if found else None
        if html is not None and found[1] == len(fast[1]):
            return _filled(html, fast[1])
    if not context.get("sidebar_navigation"):  # unfold's navigation.html shows this then
        with context.push(app_list=context.get("available_apps"), show_changelinks=False):
            return context.template.engine.get_template("admin/app_list.html").render(context)
    navigation, badges = _evaluated(context.get("sidebar_navigation"))
    apps = context.get("available_apps") or []
    show_all = context.get("sidebar_show_all_applications")
    key = cache_key(get_language(), navigation, apps, show_all)
    html = _cache.get(key)
    if html is None:
        with context.push(sidebar_navigation=navigation, app_list=apps):
            html = context.template.engine.get_template(TEMPLATE).render(context)
        _cache.set(key, html)
    if fast is not None and list(badges.values()) == fast[1]:
        _answers.set(fast[0], (key, len(badges)))
    return _filled(html, badges.values())
