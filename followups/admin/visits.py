"""Admin of follow-up policies, return visits, waivers and reminders."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import action, display

from complaints.admin.bilingual import BilingualNameMixin
from complaints.selectors import visible_complaints
from complaints.services.errors import ServiceError

from ..api import export as exports
from ..models import FollowUp, FollowUpPolicy, FollowUpStep, FollowUpWaiver, Reminder, Status
from ..services import visits
from .common import action_page, complaint_url, csv_export, isolated


class StepInline(TabularInline):
    model = FollowUpStep
    extra = 0
    min_num = 1
    fields = ("kind", "amount", "unit", "working_time", "method", "required_before_close")


@admin.register(FollowUpPolicy)
class FollowUpPolicyAdmin(BilingualNameMixin, ModelAdmin):
    list_display = ("display_name", "severity", "category", "calendar", "active", "steps_text")
    list_filter = ("active", "severity")
    autocomplete_fields = ("category",)
    inlines = [StepInline]
    fields = ("name", "name_en", "severity", "category", "calendar", "active")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("category", "calendar")
            .prefetch_related("steps")
        )

    @display(description=gettext_lazy("steps"))
    def steps_text(self, obj):
        return "; ".join(str(step) for step in obj.steps.all())

    def save_model(self, request, obj, form, change):
        obj.changed_at = timezone.now()
        super().save_model(request, obj, form, change)


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("due")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("today", _("Due today")),
            ("mine", _("Mine, scheduled")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(status=Status.SCHEDULED, due_at__lt=now)
        if self.value() == "today":
            end = timezone.localtime(now).replace(hour=23, minute=59, second=59)
            return queryset.filter(status=Status.SCHEDULED, due_at__lte=end)
        if self.value() == "mine":
            return queryset.filter(status=Status.SCHEDULED, assignee=request.user)
        return queryset


class OutcomeForm(forms.Form):
    RESULT_CHOICES = [
        ("done", gettext_lazy("Done: customer reached")),
        ("not_reached", gettext_lazy("Customer not reached")),
        ("cancel", gettext_lazy("Cancel this follow-up")),
    ]
    result = forms.ChoiceField(label=gettext_lazy("result"), choices=RESULT_CHOICES)
    solved = forms.ChoiceField(
        label=gettext_lazy("problem really solved"),
        required=False,
        choices=[("", "—"), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))],
    )
    satisfaction = forms.TypedChoiceField(
        label=gettext_lazy("satisfaction (1-5)"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *[(i, str(i)) for i in range(5, 0, -1)]],
    )
    comment = forms.CharField(
        label=gettext_lazy("comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class FollowUpForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = ("assignee", "method", "due_at")


@admin.register(FollowUp)
class FollowUpAdmin(ModelAdmin):
    form = FollowUpForm
    list_display = (
        "complaint_ref",
        "kind",
        "due_marker",
        "assignee",
        "method",
        "status",
        "solved",
        "satisfaction",
    )
    list_select_related = ("complaint", "assignee")
    list_filter = (
        OverdueFilter,
        ("status", ChoicesDropdownFilter),
        ("kind", ChoicesDropdownFilter),
        "method",
    )
    search_fields = ("complaint__reference",)
    autocomplete_fields = ("assignee",)
    ordering = ("due_at", "id")
    date_hierarchy = None
    actions = ["export_csv"]
    readonly_fields = (
        "complaint_link",
        "round",
        "kind",
        "status",
        "required_before_close",
        "reached",
        "solved",
        "satisfaction",
        "comment",
        "done_at",
        "done_by",
        "reminded_at",
    )
    fields = (
        "complaint_link",
        "kind",
        "round",
        "status",
        "due_at",
        "assignee",
        "method",
        *readonly_fields[4:],
    )

    def get_queryset(self, request):
        return isolated(request, super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # scheduled from the policy when a complaint is resolved

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status == Status.SCHEDULED)

    @display(description=gettext_lazy("complaint"), ordering="complaint__reference")
    def complaint_ref(self, obj):
        return obj.complaint.reference

    @display(description=gettext_lazy("complaint"))
    def complaint_link(self, obj):
        from django.utils.html import format_html

        return format_html(
            '<a href="{}">{} {}</a>',
            complaint_url(obj.complaint_id),
            obj.complaint.reference,
            obj.complaint.subject,
        )

    @display(description=gettext_lazy("due"), ordering="due_at", label={"overdue": "danger"})
    def due_marker(self, obj):
        text = timezone.localtime(obj.due_at).strftime("%Y-%m-%d %H:%M")
        if obj.is_overdue():
            return "overdue", f"{text} · {_('Overdue')}"
        return text

    def save_model(self, request, obj, form, change):
        try:
            visits.reschedule(
                obj.pk,
                user=request.user,
                assignee=form.cleaned_data["assignee"],
                method=form.cleaned_data["method"],
                due_at=form.cleaned_data["due_at"],
            )
        except ServiceError as exc:
            messages.error(request, exc.message)

    @action(description=gettext_lazy("Export selected as CSV"))
    def export_csv(self, request, queryset):
        return csv_export(request, queryset, exports.FOLLOWUPS)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:followup_id>/record/",
                wrap(self.record_view),
                name="followups_followup_record",
            ),
            *super().get_urls(),
        ]

    def record_view(self, request, followup_id):
        followup = (
            self.get_queryset(request).select_related("complaint").filter(pk=followup_id).first()
        )
        if followup is None:
            raise Http404
        if not request.user.has_perm("followups.change_followup"):
            raise PermissionDenied
        title = f"{followup.complaint.reference} · {followup.get_kind_display()}"
        form = OutcomeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if data["result"] == "cancel":
                    visits.cancel(followup.pk, user=request.user, reason=data["comment"])
                else:
                    reached = data["result"] == "done"
                    visits.record_outcome(
                        followup.pk,
                        user=request.user,
                        reached=reached,
                        solved={"yes": True, "no": False}.get(data["solved"]) if reached else None,
                        satisfaction=data["satisfaction"] if reached else None,
                        comment=data["comment"],
                    )
            except ServiceError as exc:
                return action_page(
                    self,
                    request,
                    complaint=followup.complaint,
                    title=title,
                    form=form,
                    submit_label=_("Save"),
                    error=exc.message,
                )
            messages.success(request, _("Follow-up recorded."))
            return HttpResponseRedirect(complaint_url(followup.complaint_id))
        return action_page(
            self,
            request,
            complaint=followup.complaint,
            title=title,
            form=form,
            submit_label=_("Save"),
        )


class WaiveForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why may it be closed without the follow-ups?"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@admin.register(FollowUpWaiver)
class FollowUpWaiverAdmin(ModelAdmin):
    list_display = ("complaint", "round", "waived_by", "waived_at", "reason")
    list_select_related = ("complaint", "waived_by")
    search_fields = ("complaint__reference",)
    readonly_fields = ("complaint", "round", "reason", "waived_by", "waived_at")

    def get_queryset(self, request):
        return isolated(request, super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "waive/<int:complaint_id>/",
                wrap(self.waive_view),
                name="followups_followupwaiver_waive",
            ),
            *super().get_urls(),
        ]

    def waive_view(self, request, complaint_id):
        complaint = visible_complaints(request.user).filter(pk=complaint_id).first()
        if complaint is None:
            raise Http404
        if not request.user.has_perm("complaints.close_complaint"):
            raise PermissionDenied
        title = f"{complaint.reference} · {_('Waive follow-ups')}"
        form = WaiveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                visits.waive(complaint.pk, user=request.user, reason=form.cleaned_data["reason"])
            except ServiceError as exc:
                return action_page(
                    self,
                    request,
                    complaint=complaint,
                    title=title,
                    form=form,
                    submit_label=_("Waive"),
                    error=exc.message,
                )
            messages.success(request, _("Follow-ups waived: the complaint may be closed."))
            return HttpResponseRedirect(complaint_url(complaint.pk))
        return action_page(
            self, request, complaint=complaint, title=title, form=form, submit_label=_("Waive")
        )


@admin.register(Reminder)
class ReminderAdmin(ModelAdmin):
    list_display = ("created_at", "what", "due", "delivery", "attempts", "sent_at")
    list_filter = (("delivery", ChoicesDropdownFilter),)
    list_select_related = ("followup__complaint", "action")
    readonly_fields = [f.name for f in Reminder._meta.fields]

    def get_queryset(self, request):
        from django.db.models import Q

        from complaints.selectors import sees_all

        from ..services.actions import visible_actions

        rows = super().get_queryset(request)
        if sees_all(request.user):
            return rows
        complaints = visible_complaints(request.user).values("pk")
        return rows.filter(
            Q(followup__complaint__in=complaints)
            | Q(action__in=visible_actions(request.user).values("pk"))
        )

    @display(description=gettext_lazy("about"))
    def what(self, obj):
        from complaints.messages import render

        return render(obj.title)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
