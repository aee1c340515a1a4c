"""{% cached_filter_field %}: the complaint list's form filters (status and severity
checkboxes, channel dropdown, department / category / assignee autocompletes, the received
date range) rendered once per process and language while nothing is chosen in them, the
usual case.

unfold renders each through unfold/filters/filters_field.html, one template per widget and
per option: ~1-2 ms a filter on every list page. With nothing chosen, the HTML depends only
on the filter (class, field, title, its choices) and the language, which make the key; a
filter with a value, or with facet counts in its choices, is rendered as before.
"""

import hashlib

from django import template
from django.utils.translation import get_language

from ..process_cache import ProcessCache
from .sidebar_cache import _freeze

register = template.Library()

TEMPLATE = "unfold/filters/filters_field.html"
MAX_ENTRIES = 256
_cache = ProcessCache(MAX_ENTRIES)


def clear() -> None:
    _cache.clear()


def _choices(field):
    queryset = getattr(field, "queryset", None)
    if queryset is not None:  # an autocomplete: no options rendered, never the whole table
        return queryset.model._meta.label
    return _freeze(list(getattr(field, "choices", ())))


def _template(context) -> str:
    """The filter's own template: unfold's filters_field.html, or the one a filter names as
    `cached_template` (the date range)."""
    return getattr(context.get("spec"), "cached_template", TEMPLATE)


# What a form filter's choice may hold besides its form (the date range's; its template
# reads only the form).
_UNREAD = {"request", "parameter_name"}


def _key(context) -> str | None:
    choices = context.get("choices") or []
    if len(choices) != 1 or "form" not in choices[0] or set(choices[0]) - {"form"} - _UNREAD:
        return None
    form = choices[0]["form"]
    if any(value not in (None, "", [], ()) for value in (form.data or {}).values()):
        return None  # something chosen: the widgets show it
    spec = context.get("spec")
    fields = tuple(
        (name, type(field).__name__, type(field.widget).__name__, _choices(field))
        for name, field in form.fields.items()
    )
    frozen = repr(
        (
            get_language(),
            _template(context),
            f"{type(spec).__module__}.{type(spec).__qualname__}",
            getattr(spec, "field_path", None),
            str(context.get("title")),
            _freeze(context.get("label")),
            bool(context.get("has_label")),
            bool(context.get("horizontal")),
            str(form.prefix),
            _freeze(fields),
        )
    )
    return hashlib.sha256(frozen.encode()).hexdigest()


def _cached(key: str | None, render) -> str:
    """The HTML kept under `key` in this process, else render() kept there (None: no cache)."""
    if key is not None:
        html = _cache.get(key)
        if html is not None:
            return html
    html = render()
    if key is not None:
        _cache.set(key, html)
    return html


@register.simple_tag(takes_context=True)
def cached_filter_field(context):
    return _cached(
        _key(context),
        lambda: context.template.engine.get_template(_template(context)).render(context),
    )


ACTION_FORM_TEMPLATE = template.Template(
    "{% for field in action_form %}{% if field.label %}<label>{{ field.label }}{% endif %}"
    "{{ field }}{% if field.label %}</label>{% endif %}{% endfor %}"
)


def _action_form_key(form) -> str | None:
    """The admin's action form is never bound on a list page: its HTML depends only on its
    fields (the action choices the user has) and the language."""
    if form is None or form.is_bound or form.initial:
        return None
    fields = tuple(
        (
            name,
            type(field).__name__,
            type(field.widget).__name__,
            str(field.label),
            field.initial,
            _freeze(field.widget.attrs),
            _freeze(list(getattr(field, "choices", ()))),
        )
        for name, field in form.fields.items()
    )
    frozen = repr(("action-form", get_language(), type(form).__qualname__, form.prefix, fields))
    return hashlib.sha256(frozen.encode()).hexdigest()


@register.simple_tag(takes_context=True)
def cached_action_form(context, form):
    """unfold's admin/actions.html `actions-form` block, once per language and choices."""

    def render():
        with context.push(action_form=form):
            return ACTION_FORM_TEMPLATE.render(context)

    return _cached(_action_form_key(form), render)
