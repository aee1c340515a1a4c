"""Shared pieces of the follow-ups admin: department isolation, CSV export, action pages."""

from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from complaints.privacy import can_read
from complaints.selectors import sees_all, visible_complaints

from ..api import export as exports


def isolated(request, queryset, field: str = "complaint"):
    """Rows whose complaint the user may see (complaints.selectors.visible_complaints)."""
    if sees_all(request.user):
        return queryset
    return queryset.filter(**{f"{field}__in": visible_complaints(request.user).values("pk")})


def complaint_url(complaint_id: int, anchor: str = "#followups") -> str:
    return reverse("admin:complaints_complaint_change", args=[complaint_id]) + anchor


def action_page(
    model_admin, request, *, complaint, title, form, submit_label, error=None, extra=None
):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "complaint": complaint,
        "form": form,
        "submit_label": submit_label,
        "error": error,
        "change_url": complaint_url(complaint.pk),
        **(extra or {}),
    }
    return TemplateResponse(request, "followups/admin/action_form.html", context)


def csv_export(request, queryset, table) -> StreamingHttpResponse:
    """The selected rows as the API's CSV export (followups/api/export.py): one query per
    chunk of rows, personal data masked for staff without the right to read it. `queryset`
    is the admin's own (isolated by department)."""
    return exports.response(queryset, table, "csv", pii=can_read(request.user))


def export_description() -> str:
    return _("Export selected as CSV")
