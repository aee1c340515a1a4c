"""{% complaint_result_list cl %}: the complaint list's table, its rows rendered by
admin/list_rows.py instead of a template per cell (unfold's tag where that does not apply)."""

from django import template
from django.contrib.admin.templatetags.admin_list import result_hidden_fields
from unfold.templatetags.unfold_list import result_headers
from unfold.templatetags.unfold_list import result_list as unfold_result_list

register = template.Library()


@register.simple_tag(takes_context=True)
def complaint_result_list(context, cl):
    # Not at import: template libraries load while unfold.admin (imported by ..admin) loads.
    from ..admin import list_headers
    from ..admin.list_rows import RowRenderer, supported

    actions_row = context.get("actions_row")
    if supported(cl, actions_row):
        headers = list(result_headers(cl))
        num_sorted_fields = sum(1 for h in headers if h["sortable"] and h["sorted"])
        values = {
            "cl": cl,
            "result_hidden_fields": list(result_hidden_fields(cl)),
            "result_headers": headers,
            "num_sorted_fields": num_sorted_fields,
            "headers_html": list_headers.render(cl, headers, num_sorted_fields)
            if list_headers.ENABLED
            else None,
            "rows": RowRenderer(cl).rows(cl.result_list),
            "has_add_permission": cl.model_admin.has_add_permission(context["request"]),
        }
        name = "complaints/admin/change_list_results.html"
    else:
        values = unfold_result_list(context, cl)
        name = "admin/change_list_results.html"
    # As an inclusion tag renders: a new context of these values (no context processors).
    new_context = context.new(values)
    if context.get("csrf_token") is not None:
        new_context["csrf_token"] = context["csrf_token"]
    return context.template.engine.get_template(name).render(new_context)
