"""Shared pieces of the follow-ups admin: department isolation, CSV export, action pages."""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.api.export import formula_safe
from complaints.selectors import sees_all, visible_complaints


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


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        if hasattr(value, "tzinfo") and value.tzinfo is not None:
            value = timezone.localtime(value)
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return formula_safe(str(value))


def csv_response(
    filename: str, header: list[str], rows: Iterable[Iterable]
) -> StreamingHttpResponse:
    """A streamed CSV (UTF-8 with BOM for spreadsheet programs); free text defused against
    formula injection as in the complaint export."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_description() -> str:
    return _("Export selected as CSV")
