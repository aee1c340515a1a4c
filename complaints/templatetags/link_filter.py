"""{% link_filter %}: a list filter of links (a SimpleListFilter: "mine", "deadline",
"dashboard figure"...) as unfold's admin/filter.html renders it, without the template.

The template costs ~0.5-1 ms a filter (a `for` over the choices with a blocktranslate and
three lookups per link) on every complaint list page, and the list has six such filters. The
markup here is the template's, tag for tag (tests/complaints/test_admin_list_cache.py
compares the two); what the template does not cover here (the horizontal layout, boolean
fields' buttons) it renders itself.
"""

from django import template
from django.template.loader import get_template
from django.utils.encoding import iri_to_uri
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

register = template.Library()

TEMPLATE = "admin/filter.html"
SELECTED = "font-semibold text-primary-600 dark:text-primary-500 "
UNSELECTED = "hover:text-base-700 dark:hover:text-base-200"


def supported(context) -> bool:
    spec = context.get("spec")
    return not context.get("horizontal") and not (
        type(spec).__name__ == "BooleanFieldListFilter" or getattr(spec, "horizontal", False)
    )


def render(context) -> str:
    spec, choices = context.get("spec"), context.get("choices") or []
    if context.get("has_label"):
        label = context.get("label")
        heading = conditional_escape(label) if label else ""
    else:
        title = conditional_escape(context.get("title"))
        heading = gettext(" By %(filter_title)s ") % {"filter_title": title}
    parts = [
        '<div class="flex gap-2 flex-col">',
        f'<h3 class="font-semibold text-important">{heading}</h3>',
    ]
    lookup_val = getattr(spec, "lookup_val", None)
    first = lookup_val[0] if lookup_val else None
    if first:
        name = escape(getattr(spec, "lookup_kwarg", ""))
        for choice in choices:
            if choice.get("selected"):
                parts.append(
                    f'<input type="hidden" name="{name}" value="{conditional_escape(first)}" />'
                )
    parts.append(
        '<ul class="border border-base-200 flex rounded-default shadow-xs '
        'dark:border-base-700 dark:bg-base-900 flex-col">'
    )
    for choice in choices:
        state = SELECTED if choice.get("selected") else UNSELECTED
        display = conditional_escape(choice.get("display"))
        href = escape(iri_to_uri(choice.get("query_string")))
        parts.append(
            f'<li class="border-base-200 dark:border-base-700 border-b last:border-b-0 {state}">'
            f'<a href="{href}" title="{display}" class="block px-3 py-2 truncate '
            f'hover:text-primary-600 dark:hover:text-primary-500">{display}</a></li>'
        )
    parts.append("</ul></div>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


@register.simple_tag(takes_context=True)
def link_filter(context):
    if supported(context):
        return render(context)
    return get_template(TEMPLATE).template.render(context)
