"""The command palette (Ctrl+K) finds complaints: Unfold's COMMAND search_callback.

Only complaints the user may see (department isolation), newest first, at most RESULTS of
them; titles carry no personal data (the palette is shown to everyone with admin access)."""

from django.urls import reverse
from django.utils.translation import gettext as _
from unfold.dataclasses import SearchResult

from ..models import Complaint
from ..privacy import can_read
from ..search import pin_search_rows, search_complaints, search_page_ids
from ..selectors import visible_complaints

RESULTS = 10


def search_callback(request, search_term: str) -> list[SearchResult]:
    user = request.user
    if not (
        user.has_perm("complaints.view_complaint") or user.has_perm("complaints.change_complaint")
    ):
        return []
    complaints = search_complaints(
        visible_complaints(user, Complaint.objects.all()), search_term, pii=can_read(user)
    )
    rows = complaints.order_by("-received_at", "-id").only(
        "pk", "reference", "subject", "status", "received_at"
    )
    # A search's first rows part by part (search.py), else the first rows of the whole.
    ids = search_page_ids(rows, 0, RESULTS)
    if ids is None or not pin_search_rows(rows, ids):
        rows = rows[:RESULTS]
    return [
        SearchResult(
            title=f"{c.reference} · {c.subject[:80]}",
            description=_("Complaint · %(status)s") % {"status": c.get_status_display()},
            link=reverse("admin:complaints_complaint_change", args=[c.pk]),
            icon="report",
        )
        for c in rows
    ]
