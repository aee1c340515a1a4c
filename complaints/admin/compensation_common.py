"""Shared pieces of the compensation and incident admin pages."""

import re

from django.template.response import TemplateResponse
from django.urls import reverse

from ..models import Compensation

S = Compensation.Status
STATUS_COLOURS = {
    S.PROPOSED: "warning",
    S.APPROVED: "info",
    S.REJECTED: "danger",
    S.FULFILLED: "success",
    S.CANCELLED: None,
}
REFERENCE_RE = re.compile(r"C-\d{4}-\d{6,}")


def complaint_url(complaint_id: int, anchor: str = "") -> str:
    return reverse("admin:complaints_complaint_change", args=[complaint_id]) + anchor


def action_page(
    request,
    admin_site,
    *,
    title,
    form,
    submit_label,
    back_url,
    back_label,
    subtitle="",
    error=None,
    extra=None,
):
    context = {
        **admin_site.each_context(request),
        "title": title,
        "subtitle": subtitle,
        "form": form,
        "submit_label": submit_label,
        "error": error,
        "back_url": back_url,
        "back_label": back_label,
        **(extra or {}),
    }
    return TemplateResponse(request, "complaints/admin/compensation_action.html", context)
