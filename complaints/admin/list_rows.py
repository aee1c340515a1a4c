"""The complaint list's rows, rendered without a template per cell (issue 15).

unfold renders every row through `items_for_result` and its template: per row a `reverse()`
for each link, the action checkbox's widget template, a `display_label.html` include for
every label cell and the row template's own tags, ~2.5 ms a row. Here everything that is the
same for every row is worked out once per page:

- the change link: one `reverse()` and one `add_preserved_filters()` for a placeholder key,
  which every row then replaces with its own;
- the action checkbox: its widget rendered once with a placeholder value;
- label cells: `display_label.html` rendered once per label colour with a placeholder text,
  which every row replaces with its own escaped text;
- each column's classes, its field or display method, its empty value.

The markup is unfold's own (`items_for_result` and `change_list_results.html`), so the list
looks and behaves the same; tests/complaints/test_admin_list_rows.py compares the two
renderers cell by cell. Lists this renderer does not cover (popups, list_editable, sortable
rows, row sections, row actions) are left to unfold.
"""

import datetime
from collections.abc import Callable

from django.contrib.admin.templatetags.admin_list import _coerce_field_name
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    lookup_field,
    quote,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from unfold.templatetags.unfold_list import (
    LINK_CLASSES,
    TABLE_ACTION_CELL_CLASSES,
    TABLE_CELL_CLASSES,
)
from unfold.utils import display_for_field, display_for_label, display_for_value

PK = "__redress_pk__"  # stands for a row's key in the link and checkbox rendered once
TEXT = "\x00"  # stands for a label's text (escaping leaves it as it is)


def supported(cl, actions_row) -> bool:
    """Whether this renderer covers the list (else unfold renders it)."""
    admin = cl.model_admin
    return not (
        cl.is_popup
        or getattr(cl, "formset", None)
        or actions_row
        or getattr(admin, "ordering_field", None)
        or len(getattr(admin, "list_sections", None) or ()) > 0
        or cl.to_field
    )


class _Labels:
    """display_label.html rendered once per colour, with the text put in per row."""

    def __init__(self):
        self.shells: dict = {}

    def render(self, value, empty_value_display, label) -> str:
        original = value
        if not isinstance(label, dict):
            return display_for_label(value, empty_value_display, label)
        label_type = None
        if isinstance(value, tuple):
            try:
                label_type = label[value[0]]
                value = value[1]
            except KeyError:
                value = value[0]
        elif _hashable(value) and value in label:
            label_type = label[value]
        if isinstance(value, Promise):
            value = str(value)
        if not isinstance(value, str) or not value or TEXT in value or not _hashable(label_type):
            # Lists, numbers (localized by the template), empty ("-"): the template itself.
            return display_for_label(original, empty_value_display, label)
        shell = self.shells.get(label_type)
        if shell is None:
            shell = self.shells[label_type] = display_for_label(
                (0, TEXT), empty_value_display, {0: label_type}
            )
        return shell.replace(TEXT, conditional_escape(value))


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class RowRenderer:
    """Renders the list's rows for one page (one request)."""

    def __init__(self, cl):
        self.cl = cl
        self.admin = cl.model_admin
        self.labels = _Labels()
        self.empty = self.admin.get_empty_value_display()
        self.link_url = self._link_url()
        self.columns = self._columns()

    def _link_url(self) -> str | None:
        cl = self.cl
        try:
            url = reverse(
                f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
                args=(PK,),
                current_app=self.admin.admin_site.name,
            )
        except NoReverseMatch:
            return None
        return add_preserved_filters(
            {"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url
        )

    def _columns(self) -> list[Callable]:
        cl = self.cl
        links = cl.list_display_links
        first = True
        columns = []
        for index, name in enumerate(cl.list_display):
            if links is None:
                link = False
            elif first and not links:
                link = True
            else:
                link = name in links
            tag = None
            if link:
                tag = "th" if first else "td"
                first = False
            columns.append(self._column(index, name, tag))
        return columns

    def _column(self, index: int, name, tag: str | None) -> Callable:
        admin, opts = self.admin, self.cl.opts
        classes = [f"field-{_coerce_field_name(name, index)}", *TABLE_CELL_CLASSES]
        field = attr = None
        if not callable(name):
            try:
                field = _get_non_gfk_field(opts, name)
            except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
                field = None
        if field is not None and not field.auto_created:
            return self._field_column(name, field, classes, tag)
        if callable(name):
            attr = name
        elif hasattr(admin, name) and name != "__str__":
            attr = getattr(admin, name)
        if name == "action_checkbox" and _unfold_checkbox(admin):
            from unfold import admin as unfold_admin  # not at import: unfold.admin imports tags

            cell = (
                f'<td class="{" ".join(TABLE_ACTION_CELL_CLASSES)}">'
                f"{unfold_admin.checkbox.render('_selected_action', PK)}</td>"
            )
            return lambda obj: cell.replace(PK, quote(str(obj.pk)))
        if attr is None or field is not None:
            return self._generic_column(name, classes, tag)
        return self._method_column(attr, classes, tag)

    def _wrap(self, tag, classes: list[str], html: str, obj) -> str:
        row_class = " ".join(classes)
        if tag is None:
            return f'<td class="{row_class}">{html}</td>'
        if self.link_url is None:
            return f'<{tag} class="{row_class}">{html}</{tag}>'
        url = escape(self.link_url.replace(PK, quote(str(obj.pk))))
        link = f'<a href="{url}" class="{" ".join(LINK_CLASSES)}" >{html}</a>'
        return f'<{tag} class="{row_class}">{link}</{tag}>'

    def _field_column(self, name, field, classes, tag) -> Callable:
        if isinstance(field, models.DateField | models.TimeField | models.ForeignKey):
            classes = [*classes, "nowrap"]
        empty = self.empty
        related = isinstance(field.remote_field, models.ManyToOneRel)
        attname = field.name

        def cell(obj):
            try:
                value = getattr(obj, attname)
            except ObjectDoesNotExist:
                html = conditional_escape(empty)
            else:
                if related:
                    html = conditional_escape(empty if value is None else value)
                else:
                    html = conditional_escape(display_for_field(value, field, empty))
            return self._wrap(tag, classes, html, obj)

        return cell

    def _method_column(self, attr, classes, tag) -> Callable:
        empty = getattr(attr, "empty_value_display", self.empty)
        boolean = getattr(attr, "boolean", False)
        label = getattr(attr, "label", False)
        if getattr(attr, "formatting", None) == "price":
            classes = [*classes, "!text-end"]
        if getattr(attr, "dropdown", False) or getattr(attr, "header", False):
            return self._generic_column(attr.__name__, classes, tag)
        labels = self.labels

        def cell(obj):
            row_classes = classes
            try:
                value = attr(obj)
            except ObjectDoesNotExist:
                html = conditional_escape(self.empty)
            else:
                if label:
                    html = labels.render(value, empty, label)
                else:
                    html = conditional_escape(display_for_value(value, empty, boolean))
                if isinstance(value, datetime.date | datetime.time):
                    row_classes = [*classes, "nowrap"]
            return self._wrap(tag, row_classes, html, obj)

        return cell

    def _generic_column(self, name, classes, tag) -> Callable:
        """Anything else, as unfold's items_for_result renders it."""
        from unfold.templatetags.unfold_list import display_for_dropdown, display_for_header

        admin, empty = self.admin, self.empty

        def cell(obj):
            row_classes = classes
            try:
                f, attr, value = lookup_field(name, obj, admin)
            except ObjectDoesNotExist:
                html = empty
            else:
                own_empty = getattr(attr, "empty_value_display", empty)
                if f is None or f.auto_created:
                    if getattr(attr, "label", False):
                        html = display_for_label(value, own_empty, attr.label)
                    elif getattr(attr, "dropdown", False):
                        html = display_for_dropdown(obj, name, value, own_empty)
                    elif getattr(attr, "header", False):
                        html = display_for_header(value, own_empty)
                    else:
                        html = display_for_value(value, own_empty, getattr(attr, "boolean", False))
                    if isinstance(value, datetime.date | datetime.time):
                        row_classes = [*classes, "nowrap"]
                else:
                    if isinstance(f.remote_field, models.ManyToOneRel):
                        value = getattr(obj, f.name)
                        html = own_empty if value is None else value
                    else:
                        html = display_for_field(value, f, own_empty)
                    if isinstance(f, models.DateField | models.TimeField | models.ForeignKey):
                        row_classes = [*classes, "nowrap"]
            return self._wrap(tag, row_classes, conditional_escape(html), obj)

        return cell

    def rows(self, results) -> list[str]:
        shades = ("", "bg-base-50 dark:bg-white/[.02]")
        columns = self.columns
        # Every cell's text is escaped above; the rest is this module's own markup.
        return [
            mark_safe(  # noqa: S308
                f'<tbody class="relative {shades[i % 2]}" x-data="{{rowOpen: false}}" >'
                '<tr class="data-row relative">'
                + "".join(column(obj) for column in columns)
                + "</tr></tbody>"
            )
            for i, obj in enumerate(results)
        ]


def _unfold_checkbox(admin) -> bool:
    from unfold import admin as unfold_admin

    return type(admin).action_checkbox is unfold_admin.ModelAdmin.action_checkbox
