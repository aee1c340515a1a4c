"""Daily work in the complaint list and on the complaint page: "Take it" (assign to me),
assigning and closing many complaints at once. Presentation only: every change goes through
`services.assignment` (which goes through `lifecycle`)."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from unfold.decorators import action
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextareaWidget

from ..models import OPEN_STATUSES, Complaint, Status
from ..services import assignment
from ..services.errors import ServiceError
from . import export, views_saved


class BulkAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("assign to"),
        queryset=None,
        widget=UnfoldAdminSelectWidget,
        help_text=gettext_lazy(
            "Only staff who are members of the responsible department of every selected "
            "open complaint."
        ),
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = candidates
        self.fields["assignee"].label_from_instance = _person


class BulkCloseForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("note on the timeline (optional)"),
        required=False,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
    )


def _person(user) -> str:
    name = user.get_full_name()
    return f"{name} ({user.get_username()})" if name else user.get_username()


class DailyWorkMixin:
    """Mixed into ComplaintAdmin (before ModelAdmin)."""

    daily_work_actions = ("assign_to_me", "assign_selected", "close_selected")
    list_before_template = "complaints/admin/list_toolbar.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "export/<str:fmt>/",
                wrap(partial(export.export_view, self)),
                name="complaints_complaint_export",
            ),
            path(
                "views/save/",
                wrap(partial(views_saved.save_view, self)),
                name="complaints_complaint_view_save",
            ),
            path(
                "views/<int:view_id>/delete/",
                wrap(partial(views_saved.delete_view, self)),
                name="complaints_complaint_view_delete",
            ),
            path("<path:object_id>/take/", wrap(self.take_view), name="complaints_complaint_take"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), **views_saved.toolbar_context(request)}
        return super().changelist_view(request, extra_context)

    def has_close_permission(self, request, obj=None):
        return request.user.has_perm("complaints.close_complaint")

    # -- take it (the change page's button) ---------------------------------------------------

    def take_context(self, request, complaint) -> dict:
        """What the complaint page needs for its "Take it" button."""
        return {
            "can_take": assignment.can_take(request.user, complaint),
            "take_url": reverse("admin:complaints_complaint_take", args=[complaint.pk]),
        }

    def take_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        complaint = self._get_changeable(request, object_id)  # 404 for others' complaints
        version = request.POST.get("version")
        try:
            assignment.take(
                complaint.pk,
                user=request.user,
                expected_version=int(version) if str(version).isdigit() else None,
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("%(reference)s is now assigned to you.") % {"reference": complaint.reference},
            )
        return HttpResponseRedirect(self._change_url(complaint))

    # -- list actions ----------------------------------------------------------------------------

    def _selected_ids(self, queryset) -> tuple[list[int], bool]:
        """The selected complaints' ids, at most one run's worth (select-across on a long
        list is cut at the limit, never loaded whole), and whether it was cut."""
        limit = assignment.MAX_BATCH
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[: limit + 1])
        return ids[:limit], len(ids) > limit

    def _warn_cut(self, request, cut: bool) -> None:
        if cut:
            messages.warning(
                request,
                _(
                    "Only the first %(limit)d selected complaints were processed; run the "
                    "action again for the rest."
                )
                % {"limit": assignment.MAX_BATCH},
            )

    def _report(self, request, result, done_label: str) -> None:
        level = messages.SUCCESS if result.done and not result.skipped else messages.WARNING
        if not result.done and not result.skipped:
            level = messages.INFO
        self.message_user(request, result.summary(done_label), level)
        for line in result.detail_lines():
            self.message_user(request, line, messages.WARNING)

    @action(description=gettext_lazy("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        ids, cut = self._selected_ids(queryset)
        result = assignment.bulk_take(ids, user=request.user)
        self._warn_cut(request, cut)
        self._report(request, result, _("assigned to you"))

    @action(description=gettext_lazy("Assign to…"), permissions=["change"])
    def assign_selected(self, request, queryset):
        ids, cut = self._selected_ids(queryset)
        selection = Complaint.objects.filter(pk__in=ids)
        open_selected = selection.filter(status__in=OPEN_STATUSES)
        departments = set(
            open_selected.filter(department__isnull=False)
            .order_by()
            .values_list("department_id", flat=True)
            .distinct()[:50]
        )
        candidates = assignment.assignee_candidates(departments)
        form = BulkAssignForm(
            request.POST if "apply" in request.POST else None, candidates=candidates
        )
        if "apply" in request.POST and form.is_valid():
            result = assignment.bulk_assign(
                ids, user=request.user, assignee=form.cleaned_data["assignee"]
            )
            self._warn_cut(request, cut)
            self._report(request, result, _("assigned"))
            return None
        counts = _status_counts(selection)
        return self._confirm_page(
            request,
            cut=cut,
            title=_("Assign selected complaints"),
            action_name="assign_selected",
            form=form,
            submit_label=_("Assign"),
            counts=counts,
            will_do=counts["open_with_department"],
            will_do_label=_("open complaints with a responsible department will be assigned."),
            skipped=[
                (counts["finished"], pgettext("bulk selection", "already finished")),
                (counts["no_department"], _("without a responsible department")),
            ],
            no_candidates=not candidates.exists(),
            departments=len(departments),
        )

    @action(description=gettext_lazy("Close selected resolved complaints…"), permissions=["close"])
    def close_selected(self, request, queryset):
        ids, cut = self._selected_ids(queryset)
        form = BulkCloseForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            result = assignment.bulk_close(ids, user=request.user, note=form.cleaned_data["note"])
            self._warn_cut(request, cut)
            self._report(request, result, _("closed"))
            return None
        counts = _status_counts(Complaint.objects.filter(pk__in=ids))
        return self._confirm_page(
            request,
            cut=cut,
            title=_("Close selected complaints"),
            action_name="close_selected",
            form=form,
            submit_label=_("Close them"),
            counts=counts,
            will_do=counts["resolved"],
            will_do_label=_(
                "resolved complaints will be closed if their closing rules are met (e.g. the "
                "required return visit done or waived)."
            ),
            skipped=[
                (counts["open"], pgettext("bulk selection", "not resolved yet")),
                (counts["closed"], pgettext("bulk selection", "already closed")),
                (counts["invalid_or_merged"], _("invalid or merged")),
            ],
        )

    def _confirm_page(self, request, *, title, action_name, form, submit_label, **extra):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "action_name": action_name,
            "submit_label": submit_label,
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "index": request.POST.get("index", "0"),
            "back_url": request.get_full_path(),
            "limit": assignment.MAX_BATCH,
            **extra,
        }
        return TemplateResponse(request, "complaints/admin/bulk_confirm.html", context)


def _status_counts(queryset) -> dict:
    """How many of the selection are open / resolved / closed / finished (one query)."""
    finished = ~Q(status__in=OPEN_STATUSES)
    counts = queryset.order_by().aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        open_with_department=Count(
            "pk", filter=Q(status__in=OPEN_STATUSES, department__isnull=False)
        ),
        no_department=Count("pk", filter=Q(status__in=OPEN_STATUSES, department__isnull=True)),
        resolved=Count("pk", filter=Q(status=Status.RESOLVED)),
        closed=Count("pk", filter=Q(status=Status.CLOSED)),
        finished=Count("pk", filter=finished),
        invalid_or_merged=Count("pk", filter=Q(status__in=[Status.INVALID, Status.MERGED])),
    )
    return counts
