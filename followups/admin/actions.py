"""Admin of corrective and improvement actions (整改) with the effectiveness review."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import action, display

from complaints.models import Department, DepartmentMembership
from complaints.selectors import sees_all, visible_complaints
from complaints.services.errors import ServiceError

from ..api import export as exports
from ..models import OPEN_ACTION_STATUSES, ActionStatus, ImprovementAction
from ..services import actions as service
from .common import csv_export


class OverdueActionFilter(admin.SimpleListFilter):
    title = gettext_lazy("due")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(
                status__in=OPEN_ACTION_STATUSES, due_date__lt=timezone.localdate()
            )
        return queryset


class ReviewForm(forms.Form):
    effective = forms.TypedChoiceField(
        label=gettext_lazy("verdict"),
        choices=[("yes", gettext_lazy("Effective")), ("no", gettext_lazy("Ineffective"))],
        coerce=lambda v: v == "yes",
    )
    verdict = forms.CharField(
        label=gettext_lazy("reviewer's reasoning"), widget=forms.Textarea(attrs={"rows": 4})
    )


def _rate(value) -> str:
    return "—" if value is None else f"{value} %"


@admin.register(ImprovementAction)
class ImprovementActionAdmin(ModelAdmin):
    list_display = (
        "title",
        "root_cause",
        "department",
        "owner",
        "due_marker",
        "status",
        "completed_at",
    )
    list_select_related = ("root_cause", "department", "owner")
    list_filter = (
        OverdueActionFilter,
        ("status", ChoicesDropdownFilter),
        "department",
        "root_cause",
    )
    search_fields = ("title",)
    autocomplete_fields = ("category", "owner", "complaints")
    actions = ["start_selected", "complete_selected", "export_csv"]
    fieldsets = (
        (None, {"fields": ("title", "description", "root_cause", "category", "item_ref")}),
        (
            gettext_lazy("Responsibility"),
            {"fields": ("department", "owner", "due_date", "status", "complaints")},
        ),
        (
            gettext_lazy("Effectiveness review"),
            {
                "fields": (
                    "review_days",
                    "completed_at",
                    "effectiveness_text",
                    "verdict",
                    "reviewed_by",
                    "reviewed_at",
                    "review_link",
                )
            },
        ),
    )
    readonly_fields = (
        "status",
        "completed_at",
        "effectiveness_text",
        "verdict",
        "reviewed_by",
        "reviewed_at",
        "review_link",
    )

    def get_queryset(self, request):
        return service.visible_actions(request.user, super().get_queryset(request))

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department" and not sees_all(request.user):
            kwargs["queryset"] = Department.objects.filter(
                pk__in=DepartmentMembership.objects.filter(user=request.user).values(
                    "department_id"
                )
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "complaints":
            kwargs["queryset"] = visible_complaints(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    @display(description=gettext_lazy("due date"), ordering="due_date", label={"overdue": "danger"})
    def due_marker(self, obj):
        if obj.is_overdue():
            return "overdue", f"{obj.due_date:%Y-%m-%d} · {_('Overdue')}"
        return f"{obj.due_date:%Y-%m-%d}"

    @display(description=gettext_lazy("repeat rate before → after completion"))
    def effectiveness_text(self, obj):
        if obj is None or obj.completed_at is None:
            return _("Shown once the action is completed.")
        if obj.reviewed_at is not None:
            figures = service.Effectiveness(
                obj.before_complaints,
                obj.before_repeats,
                obj.after_complaints,
                obj.after_repeats,
                True,
            )
        else:
            figures = service.effectiveness(obj)
        text = _(
            "%(before)s (%(br)s of %(bc)s complaints were repeats) in the %(days)s days before "
            "→ %(after)s (%(ar)s of %(ac)s) in the %(days)s days after"
        ) % {
            "before": _rate(figures.before_rate),
            "br": figures.before_repeats,
            "bc": figures.before_complaints,
            "after": _rate(figures.after_rate),
            "ar": figures.after_repeats,
            "ac": figures.after_complaints,
            "days": obj.review_days,
        }
        if not figures.window_complete:
            text += " · " + _("the period after completion is not over yet")
        return text

    @display(description=gettext_lazy("review"))
    def review_link(self, obj):
        from django.utils.html import format_html

        if obj is None or obj.status != ActionStatus.DONE:
            return "—"
        url = reverse("admin:followups_improvementaction_review", args=[obj.pk])
        return format_html(
            '<a class="text-primary-600 underline" href="{}">{}</a>', url, _("Review…")
        )

    def _bulk(self, request, queryset, fn, done_message):
        count, errors = 0, []
        for action_id in queryset.values_list("pk", flat=True):
            try:
                fn(action_id, user=request.user)
                count += 1
            except ServiceError as exc:
                errors.append(exc.message)
        if count:
            messages.success(request, done_message(count))
        for error in sorted(set(errors)):
            messages.warning(request, error)

    @action(description=gettext_lazy("Start selected actions"))
    def start_selected(self, request, queryset):
        self._bulk(
            request,
            queryset,
            service.start,
            lambda n: ngettext("%(n)d action started.", "%(n)d actions started.", n) % {"n": n},
        )

    @action(description=gettext_lazy("Mark selected actions done"))
    def complete_selected(self, request, queryset):
        self._bulk(
            request,
            queryset,
            service.complete,
            lambda n: ngettext("%(n)d action done.", "%(n)d actions done.", n) % {"n": n},
        )

    @action(description=gettext_lazy("Export selected as CSV"))
    def export_csv(self, request, queryset):
        return csv_export(request, queryset, exports.IMPROVEMENT_ACTIONS)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:action_id>/review/",
                wrap(self.review_view),
                name="followups_improvementaction_review",
            ),
            *super().get_urls(),
        ]

    def review_view(self, request, action_id):
        obj = self.get_queryset(request).filter(pk=action_id).first()
        if obj is None:
            raise Http404
        if not request.user.has_perm("followups.review_improvementaction"):
            raise PermissionDenied
        change_url = reverse("admin:followups_improvementaction_change", args=[obj.pk])
        form = ReviewForm(request.POST or None)
        error = None
        if request.method == "POST" and form.is_valid():
            try:
                service.review(
                    obj.pk,
                    user=request.user,
                    effective=form.cleaned_data["effective"],
                    verdict=form.cleaned_data["verdict"],
                )
            except ServiceError as exc:
                error = exc.message
            else:
                messages.success(request, _("Review recorded."))
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{obj.title} · {_('Effectiveness review')}",
            "action": obj,
            "figure": self.effectiveness_text(obj),
            "form": form,
            "error": error,
            "change_url": change_url,
        }
        return TemplateResponse(request, "followups/admin/review_form.html", context)
