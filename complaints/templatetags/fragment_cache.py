"""{% cached_include "template.html" key... %}: an admin page fragment that depends only on
what the tag names, rendered once per process and reused.

Every admin page renders the same few pieces through unfold's templates: the user menu (theme
switch, one language form per language, account links, avatar), the command palette and the
shortcuts dialog, the theme's colour variables (~110 template variables). Together some 10k
Python calls, a fifth of a short list page's template work, for HTML that only changes with
the user, the language and the site's settings.

The key is the template's name, the language, the URLconf and script prefix (for its `{% url
%}` tags), whether the browser is a Mac's (shortcuts.html shows ⌘ or Ctrl by it) and the
values the caller lists: every context variable the template (and what it includes) reads.
Templates that print the CSRF token are rendered with a placeholder in its place and the
request's token filled in on each use; without a token the fragment is rendered normally.
The cache is per process and bounded, like the sidebar's (sidebar_cache).
"""

import hashlib
import secrets

from django import template
from django.urls import get_script_prefix, get_urlconf
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from ..process_cache import ProcessCache
from .sidebar_cache import _freeze

register = template.Library()

MAX_ENTRIES = 512
_cache = ProcessCache(MAX_ENTRIES)
# Stands for the CSRF token in the cached HTML (letters and digits: never escaped).
_CSRF = f"csrftoken{secrets.token_hex(8)}x"
ENABLED = True  # tests compare the page with and without the cache


def clear() -> None:
    _cache.clear()
    _media.clear()


def _key(context, name: str, values) -> str:
    request = context.get("request")
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    frozen = repr(
        (
            name,
            get_language(),
            getattr(request, "urlconf", None) or get_urlconf(),
            get_script_prefix(),
            "Macintosh" in agent,
            _freeze(list(values)),
        )
    )
    return hashlib.sha256(frozen.encode()).hexdigest()


@register.simple_tag(takes_context=True)
def cached_include(context, name, *values):
    return _render(context, name, values)


# What unfold/helpers/navigation_user.html and its includes (theme_switch, language_switch,
# language_form, account_links, avatar) read from the context, besides the user.
USER_MENU_CONTEXT = (
    "theme",
    "show_languages",
    "languages_list",
    "language_flags",
    "languages_action",
    "redirect_to",
    "extra_userlinks",
    "site_url",
    "account_links",
    "size",
    "circle",
)
AVATAR = ("avatar_url", "avatar_badge_count", "avatar_badge_variant", "avatar_badge_url")


def _user(user) -> tuple:
    if user is None:
        return (None,)
    return (
        type(user).__qualname__,
        user.pk,
        user.get_full_name() if hasattr(user, "get_full_name") else None,
        user.get_username(),
        getattr(user, "email", None),
        user.has_usable_password() if hasattr(user, "has_usable_password") else None,
        *(getattr(user, name, None) for name in AVATAR),
    )


@register.simple_tag(takes_context=True)
def cached_user_menu(context):
    """unfold/helpers/navigation_user.html (the sidebar's user menu)."""
    request = context.get("request")
    values = [
        *(context.get(name) for name in USER_MENU_CONTEXT),
        _user(getattr(request, "user", None)),
        _user(context.get("user")),
    ]
    return _render(context, "unfold/helpers/navigation_user.html", values)


@register.simple_tag(takes_context=True)
def cached_filter_actions(context):
    """unfold/helpers/change_list_filter_actions.html (the filter panel's Apply button and
    its facet / clear links): its `component` tags copy the whole page context for each
    button. It reads these (the links only where it shows them)."""
    cl = context.get("cl")
    if cl is None:
        return _render(context, "unfold/helpers/change_list_filter_actions.html", None)
    model_admin = cl.model_admin
    facets, active = bool(cl.is_facets_optional), bool(cl.has_active_filters)
    add_facets = bool(cl.add_facets) if facets else None
    values = [
        bool(getattr(model_admin, "list_filter_submit", False)),
        bool(getattr(model_admin, "list_filter_sheet", False)),
        facets,
        active,
        add_facets,
        (str(cl.remove_facet_link) if add_facets else str(cl.add_facet_link)) if facets else None,
        str(cl.clear_all_filters_qs) if active else None,
    ]
    return _render(context, "unfold/helpers/change_list_filter_actions.html", values)


def _render(context, name, values):
    engine = context.template.engine
    token = context.get("csrf_token")
    token = None if token is None else str(token)
    if not ENABLED or values is None or token == "NOTPROVIDED":  # noqa: S105 (Django's "no token" value)
        return engine.get_template(name).render(context)
    key = _key(context, name, values)
    html = _cache.get(key)
    if html is None:
        with context.push(csrf_token=_CSRF if token is not None else None):
            html = engine.get_template(name).render(context)
        _cache.set(key, html)
    if token is not None:
        html = html.replace(_CSRF, conditional_escape(token))
    return mark_safe(html)  # noqa: S308 (the template's own output, the token escaped)


_media = ProcessCache(MAX_ENTRIES)


@register.simple_tag
def cached_media(media, kind: str):
    """`{{ media.js }}` / `{{ media.css }}` of a page, once per list of files: merging the
    forms' and filters' lists (Media's ordering sort) and the static() look-ups cost ~2,000
    Python calls a list page. Only lists of plain paths are kept (others render each time)."""
    lists = getattr(media, f"_{kind}_lists", None)
    if kind == "js":
        key = tuple(tuple(paths) for paths in lists or ()) if lists is not None else None
        plain = key is not None and all(isinstance(p, str) for paths in key for p in paths)
    else:
        key = (
            tuple(tuple((m, tuple(p)) for m, p in sorted(d.items())) for d in lists)
            if lists is not None
            else None
        )
        plain = key is not None and all(
            isinstance(p, str) for d in key for _m, paths in d for p in paths
        )
    if not ENABLED or not plain:
        return media[kind]
    key = (kind, *key)
    html = _media.get(key)
    if html is None:
        html = str(media[kind])
        _media.set(key, html)
    return mark_safe(html)  # noqa: S308 (Media's own rendering)
