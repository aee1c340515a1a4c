"""The complaint list's column headers (`<thead>`) written in Python with the markup of
unfold's unfold/helpers/change_list_headers.html.

The template costs ~3,000 Python calls a page (a `for` over ten headers with a dozen lookups,
`if`s and a `capfirst` each); the headers themselves are unfold's `result_headers(cl)`.
tests/complaints/test_admin_page_cache.py compares whole pages with the template's output in
both languages, sorted by one and by two columns.
"""

from django.template.defaultfilters import capfirst
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

ENABLED = True  # tests compare the page with and without

TOGGLE = (
    "flex items-center leading-none text-base-400 hover:text-base-500 dark:text-base-500 "
    "dark:hover:text-base-400 toggle"
)
REMOVE = (
    "sortremove flex items-center leading-none ms-1 text-base-400 dark:text-base-500 "
    "transition-all hover:text-red-700 dark:hover:text-red-500"
)


def _text(header) -> str:
    return conditional_escape(capfirst(header["text"]))


def _cell(header, first: bool, num_sorted_fields: int) -> str:
    toggle_column = first and "action-toggle" in header["text"]
    classes = conditional_escape(header.get("class_attrib", ""))
    spacing = "ps-3 w-px" if toggle_column else "px-3"
    price = "justify-end" if header.get("formatting") == "price" else ""
    parts = [
        f'<th class="align-middle font-semibold py-2 text-start text-important '
        f'whitespace-nowrap {classes} {spacing}" scope="col">'
        f'<div class="flex items-center {price}"><div class="text">'
    ]
    if header.get("sortable"):
        parts.append(f'<a href="{conditional_escape(header["url_primary"])}">{_text(header)}</a>')
    elif toggle_column:
        parts.append(f'<label class="flex flex-row items-center gap-2">{_text(header)}</label>')
    else:
        parts.append(f"<span>{_text(header)}</span>")
    parts.append("</div>")
    priority = header.get("sort_priority") or 0
    if header.get("sortable") and priority > 0:
        direction, icon = (
            ("ascending", "arrow_circle_down")
            if header.get("ascending")
            else ("descending", "arrow_circle_up")
        )
        # Django's admin catalog has these; the project's repeats its translations.
        toggle, remove = gettext("Toggle sorting"), gettext("Remove from sorting")
        parts.append(
            f'<div class="sortoptions flex items-center ms-2">'
            f'<a href="{conditional_escape(header["url_toggle"])}" class="{TOGGLE} {direction}" '
            f'title="{conditional_escape(toggle)}">'
            f'<span class="block material-symbols-outlined">{icon}</span></a>'
            f'<a class="{REMOVE}" href="{conditional_escape(header["url_remove"])}" '
            f'title="{conditional_escape(remove)}">'
            f'<span class="block material-symbols-outlined">cancel</span></a></div>'
        )
        if num_sorted_fields > 1:
            title = gettext("Sorting priority: %(priority_number)s") % {
                "priority_number": conditional_escape(priority)
            }
            parts.append(
                f'<span class="sortpriority font-medium ms-2 text-xs" title="{title}">'
                f"{conditional_escape(priority)}</span>"
            )
    parts.append("</div></th>")
    return "".join(parts)


def render(cl, headers: list[dict], num_sorted_fields: int) -> str:
    parts = ["<thead><tr>"]
    if getattr(cl.model_admin, "ordering_field", None):
        parts.append("<th></th>")
    if len(getattr(cl.model_admin, "list_sections", None) or ()) > 0:
        parts.append("<th></th>")
    parts += [_cell(header, index == 0, num_sorted_fields) for index, header in enumerate(headers)]
    parts.append("</tr></thead>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)
