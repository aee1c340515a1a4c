"""Views of the complaint list: built-in ones every user has ("My open", "My department
overdue") and the ones a user saved (the list's filters, search and order under a name).
A saved view is its owner's alone: others neither see nor delete it (404). Opening a view is
opening the list with its query string, so the list's isolation and masking apply as always.

The tabs come from services/saved_views.py (cached per user).
"""

from urllib.parse import parse_qsl, urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import SavedListView
from ..services.saved_views import MAX_VIEWS, user_views

# Parameters that are not part of a view: the page, "show all", the error flag, popups.
NOT_SAVED = {"p", "all", "e", "_popup", "_to_field", "_changelist_filters"}
BUILTIN = [
    ("my-open", gettext_lazy("My open"), "mine=assigned"),
    (
        "my-department-overdue",
        gettext_lazy("My department overdue"),
        "deadline=overdue&mine=departments",
    ),
]


class SaveViewForm(forms.Form):
    name = forms.CharField(max_length=60, strip=True)
    query = forms.CharField(max_length=2000, required=False)


def normalize(query: str) -> str:
    """The view's query string: without page and popup parameters, in a stable order."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in NOT_SAVED]
    return urlencode(sorted(pairs))


def changelist_url(query: str = "") -> str:
    url = reverse("admin:complaints_complaint_changelist")
    return f"{url}?{query}" if query else url


def toolbar_context(request) -> dict:
    """The tabs above the list: built-in views, the user's saved views, the current one."""
    current = normalize(request.GET.urlencode())
    tabs = [
        {
            "key": key,
            "name": name,
            "url": changelist_url(query),
            "active": current == normalize(query),
            "builtin": True,
        }
        for key, name, query in BUILTIN
    ]
    for pk, name, query in user_views(request.user):
        tabs.append(
            {
                "key": f"saved-{pk}",
                "name": name,
                "url": changelist_url(query),
                "active": current == query,
                "builtin": False,
                "delete_url": reverse("admin:complaints_complaint_view_delete", args=[pk]),
            }
        )
    query = request.GET.urlencode()
    export = reverse("admin:complaints_complaint_export", args=["csv"])
    return {
        "list_views": tabs,
        "list_all_url": changelist_url(),
        "list_view_active": any(tab["active"] for tab in tabs),
        "list_current_query": current,
        "save_view_url": reverse("admin:complaints_complaint_view_save"),
        "export_csv_url": f"{export}?{query}" if query else export,
        "export_xlsx_url": reverse("admin:complaints_complaint_export", args=["xlsx"])
        + (f"?{query}" if query else ""),
    }


def save_view(model_admin, request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    form = SaveViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the view a name (at most 60 characters)."))
        return HttpResponseRedirect(changelist_url(normalize(request.POST.get("query", ""))))
    name, query = form.cleaned_data["name"], normalize(form.cleaned_data["query"])
    if len(query) > SavedListView._meta.get_field("query").max_length:
        # normalize() percent-encodes: a long non-ASCII search grows past the column.
        messages.error(request, _("This view's filters are too long to save."))
        return HttpResponseRedirect(changelist_url(query))
    existing = SavedListView.objects.filter(user=request.user, name=name).first()
    if existing is not None:
        existing.query = query
        existing.save(update_fields=["query"])
        messages.success(request, _("View “%(name)s” updated.") % {"name": name})
        return HttpResponseRedirect(changelist_url(query))
    if SavedListView.objects.filter(user=request.user).count() >= MAX_VIEWS:
        messages.error(
            request,
            _("You have %(count)d saved views already; delete one first.") % {"count": MAX_VIEWS},
        )
        return HttpResponseRedirect(changelist_url(query))
    try:
        with transaction.atomic():
            SavedListView.objects.create(user=request.user, name=name, query=query)
    except IntegrityError:  # saved twice at once: the other request won
        pass
    messages.success(request, _("View “%(name)s” saved.") % {"name": name})
    return HttpResponseRedirect(changelist_url(query))


def delete_view(model_admin, request, view_id):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    view = SavedListView.objects.filter(user=request.user, pk=view_id).first()
    if view is None:
        raise Http404  # another user's view does not exist for this one
    view.delete()
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return HttpResponseRedirect(changelist_url())
