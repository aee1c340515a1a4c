"""{% sidebar_apps %}: unfold's sidebar navigation list (unfold/helpers/app_list.html, with
its "All applications" panel), rendered once per distinct content and reused.

Rendering it took ~10 ms of every admin page (some forty entries, a template include per
badge). The cache key is a digest of everything the template shows: the language and the
navigation and app list *as already computed for this request* (each entry's permission
result, active state, link, title, evaluated badge; each app's models, names and URLs). Two
requests share an entry only when the HTML would be the same, so one user's menu is never
shown to another, and a permission or group change shows at once (it changes the input, so
the key). The cache is per process (no Redis: nothing to fail, nothing shared) and bounded.
"""

import hashlib
import secrets
from collections import OrderedDict
from threading import Lock

from django import template
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()

TEMPLATE = "unfold/helpers/app_list.html"
MAX_ENTRIES = 256  # ~55 KB each: at most ~14 MB a process
_cache: OrderedDict[str, str] = OrderedDict()
_lock = Lock()
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
    with _lock:
        _cache.clear()


@register.simple_tag(takes_context=True)
def sidebar_apps(context):
    navigation, badges = _evaluated(context.get("sidebar_navigation") or [])
    apps = context.get("available_apps") or []
    show_all = context.get("sidebar_show_all_applications")
    key = cache_key(get_language(), navigation, apps, show_all)
    with _lock:
        html = _cache.get(key)
        if html is not None:
            _cache.move_to_end(key)
    if html is None:
        with context.push(sidebar_navigation=navigation, app_list=apps):
            html = context.template.engine.get_template(TEMPLATE).render(context)
        with _lock:
            _cache[key] = html
            while len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
    for token, value in badges.items():
        html = html.replace(token, conditional_escape(value))
    return mark_safe(html)  # noqa: S308 (the template's output, badge values escaped)
