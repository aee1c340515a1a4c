"""Reporting in the admin: the dashboard as the landing page, the monthly reports, the state
of the summary tables, and the list filters the dashboard's links use on the complaint list."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import RelatedDropdownFilter
from unfold.decorators import action, display

from complaints.models import Complaint
from complaints.services import reference_cache
from complaints.services.errors import ServiceError

from . import kpis
from .kpis import local_tz
from .models import MonthlyReport, ReportDelivery, SummaryState
from .services import reports


class FigureFilter(admin.SimpleListFilter):
    """The complaints behind a dashboard figure (definitions: reporting.kpis)."""

    template = "complaints/admin/filter_links.html"  # complaints.templatetags.link_filter
    title = gettext_lazy("dashboard figure")
    parameter_name = "kpi"

    def lookups(self, request, model_admin):
        return list(kpis.CONDITION_LABELS.items())

    def queryset(self, request, queryset):
        condition = kpis.condition(self.value(), timezone.now()) if self.value() else None
        return queryset.filter(condition) if condition is not None else queryset


class RootCauseFilter(RelatedDropdownFilter):
    """The root cause dropdown, its options from this process's copy while no root cause
    changed (complaints.services.reference_cache): no query on every list page."""

    def field_choices(self, field, request, model_admin):
        load = partial(super().field_choices, field, request, model_admin)
        return reference_cache.get(f"root-cause-choices-{get_language()}", lambda: list(load()))


def extend_complaint_list(site=admin.site) -> None:
    """Add the dashboard's filters to the complaint list (reporting depends on complaints,
    never the reverse, so the list is extended from here)."""
    complaint_admin = site._registry.get(Complaint)
    if complaint_admin is None or FigureFilter in complaint_admin.list_filter:
        return
    complaint_admin.list_filter = (
        *complaint_admin.list_filter,
        ("root_cause_category", RootCauseFilter),
        FigureFilter,
    )


extend_complaint_list()
admin.site.index_template = "reporting/admin/index.html"


class GenerateForm(forms.Form):
    month = forms.DateField(
        label=gettext_lazy("Month"),
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        help_text=gettext_lazy("Generating a month again replaces its report."),
    )

    def clean_month(self):
        return self.cleaned_data["month"].replace(day=1)


class DeliveryInline(TabularInline):
    model = ReportDelivery
    extra = 0
    can_delete = False
    fields = ("email", "user", "delivery", "attempts", "sent_at", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MonthlyReport)
class MonthlyReportAdmin(ModelAdmin):
    list_display = ("__str__", "generated_at", "generated_by", "departments", "downloads")
    readonly_fields = ("month", "generated_at", "generated_by")
    fields = readonly_fields
    inlines = [DeliveryInline]
    change_form_outer_after_template = "reporting/admin/report_table.html"
    actions_list = ["generate"]

    def has_add_permission(self, request):
        return False  # generated, never typed in: see the "Generate" button

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_inlines(self, request, obj):
        return self.inlines if request.user.has_perm("reporting.view_reportdelivery") else []

    def get_urls(self):
        return [
            path(
                "<int:pk>/download/<str:fmt>/",
                self.admin_site.admin_view(self.download_view),
                name="reporting_monthlyreport_download",
            ),
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="reporting_monthlyreport_generate",
            ),
            *super().get_urls(),
        ]

    def _departments(self, request):
        """None: every department; else the reader's departments (heads see only theirs)."""
        from .views import scope_for

        return scope_for(request.user)

    @display(description=gettext_lazy("departments"))
    def departments(self, obj):
        return len(obj.data.get("departments", []))

    @display(description=gettext_lazy("download"))
    def downloads(self, obj):
        return format_html(
            '<a class="text-primary-600" href="{}">CSV</a> · '
            '<a class="text-primary-600" href="{}">XLSX</a>',
            reverse("admin:reporting_monthlyreport_download", args=[obj.pk, "csv"]),
            reverse("admin:reporting_monthlyreport_download", args=[obj.pk, "xlsx"]),
        )

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            scope = self._departments(request)
            header, rows = reports.table(obj, None if scope is None else set(scope))
            context.update(
                report_header=header, report_rows=rows, report_downloads=self.downloads(obj)
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def download_view(self, request, pk: int, fmt: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = get_object_or_404(MonthlyReport, pk=pk)
        scope = self._departments(request)
        departments = None if scope is None else set(scope)
        if fmt == "csv":
            body, content_type = reports.as_csv(report, departments), "text/csv; charset=utf-8"
        elif fmt == "xlsx":
            body = reports.as_xlsx(report, departments)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            return HttpResponse(_("Unknown format: choose csv or xlsx."), status=400)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{reports.filename(report, fmt)}"'
        return response

    @action(
        description=gettext_lazy("Generate a month's report"),
        url_path="generate-report",
        permissions=["generate"],
    )
    def generate(self, request):
        return HttpResponseRedirect(reverse("admin:reporting_monthlyreport_generate"))

    def has_generate_permission(self, request):
        return request.user.has_perm("reporting.add_monthlyreport")

    def generate_view(self, request):
        if not request.user.has_perm("reporting.add_monthlyreport"):
            raise PermissionDenied
        last = reports.previous_month(timezone.localtime(timezone.now(), local_tz()).date())
        form = GenerateForm(request.POST or None, initial={"month": last})
        if request.method == "POST" and form.is_valid():
            try:
                report = reports.generate(form.cleaned_data["month"], user=request.user)
            except ServiceError as exc:
                form.add_error("month", str(exc))
            else:
                messages.success(
                    request, _("The report for %(month)s was generated.") % {"month": report}
                )
                return HttpResponseRedirect(
                    reverse("admin:reporting_monthlyreport_change", args=[report.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Generate a month's report"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "reporting/admin/generate.html", context)


@admin.register(SummaryState)
class SummaryStateAdmin(ModelAdmin):
    list_display = (
        "refreshed_at",
        "refreshed_days",
        "refresh_seconds",
        "rebuilt_at",
        "rebuild_seconds",
        "rebuild_progress",
    )
    readonly_fields = (
        "refreshed_at",
        "refreshed_days",
        "refresh_seconds",
        "rebuilt_at",
        "rebuild_seconds",
        "rebuild_progress",
    )
    fields = readonly_fields
    actions_list = ["rebuild"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description=gettext_lazy("rebuild in progress"))
    def rebuild_progress(self, obj):
        if obj.rebuild_started_at is None:
            return "-"
        return f"{obj.rebuild_months_done} / {obj.rebuild_months_total}"

    def has_rebuild_permission(self, request):
        return request.user.has_perm("reporting.rebuild_summaries")

    @action(
        description=gettext_lazy("Rebuild all summaries"),
        url_path="rebuild-summaries",
        permissions=["rebuild"],
    )
    def rebuild(self, request):
        return HttpResponseRedirect(reverse("admin:reporting_summarystate_rebuild"))

    def get_urls(self):
        return [
            path(
                "rebuild/",
                self.admin_site.admin_view(self.rebuild_view),
                name="reporting_summarystate_rebuild",
            ),
            *super().get_urls(),
        ]

    def rebuild_view(self, request):
        """Confirm, then queue the rebuild (a Celery task: months in short transactions)."""
        if not self.has_rebuild_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            from complaints.tasks import enqueue

            from .tasks import rebuild_summaries

            if enqueue(rebuild_summaries):
                messages.success(request, _("The rebuild was queued; its progress shows here."))
            else:
                messages.error(request, _("The task queue is unreachable; try again later."))
            return HttpResponseRedirect(reverse("admin:reporting_summarystate_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Rebuild all summaries"),
            "form": forms.Form(),
            "opts": self.model._meta,
            "explanation": _(
                "Recomputes every day of the dashboard's summary tables from the complaints, "
                "one month at a time. The dashboard stays usable meanwhile."
            ),
        }
        return TemplateResponse(request, "reporting/admin/generate.html", context)
