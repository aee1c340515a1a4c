"""Background recomputations of deadlines: progress and errors, read-only."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import display

from ..messages import render
from ..models import RecomputeJob

# Who changes what starts a job may follow it.
CONFIG_PERMS = (
    "complaints.change_slapolicy",
    "complaints.change_businesscalendar",
    "complaints.change_calendarexception",
    "complaints.change_category",
    "complaints.change_customer",
    "complaints.view_slapolicy",
)


def can_view_jobs(request) -> bool:
    return any(request.user.has_perm(perm) for perm in CONFIG_PERMS)


def report_jobs(model_admin, request, jobs) -> None:
    """The message after a save: the deadlines move in the background, follow the job here."""
    jobs = [job for job in jobs if job is not None]
    if not jobs:
        return
    links = format_html_join(
        ", ",
        '<a href="{}">#{}</a>',
        ((reverse("admin:complaints_recomputejob_change", args=[job.pk]), job.pk) for job in jobs),
    )
    model_admin.message_user(
        request,
        format_html(
            "{} {}",
            _(
                "The deadlines of the affected open complaints are being recomputed in the "
                "background:"
            ),
            links,
        ),
        messages.INFO,
    )


@admin.register(RecomputeJob)
class RecomputeJobAdmin(ModelAdmin):
    list_display = (
        "pk",
        "created_at",
        "reason_text",
        "status",
        "progress",
        "moved",
        "failed",
        "created_by",
    )
    list_display_links = ("pk", "reason_text")
    list_filter = ("status",)
    list_select_related = ("created_by",)
    ordering = ("-created_at", "-pk")
    show_full_result_count = False
    fields = (
        "reason_text",
        "scope",
        "status",
        "progress",
        "moved",
        "failed",
        "error_list",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields

    @display(description=gettext_lazy("reason"))
    def reason_text(self, obj):
        return render(obj.reason)  # a stored message, in the reader's language

    @display(description=gettext_lazy("progress"))
    def progress(self, obj):
        return f"{obj.done} / {'?' if obj.total is None else obj.total}"

    @display(description=gettext_lazy("errors"))
    def error_list(self, obj):
        if not obj.errors:
            return "—"
        return format_html_join(
            "\n",
            '<div><a href="{}">#{}</a>: {}</div>',
            (
                (
                    reverse("admin:complaints_complaint_change", args=[e["complaint"]]),
                    e["complaint"],
                    e["error"],
                )
                for e in obj.errors
            ),
        )

    def has_view_permission(self, request, obj=None):
        return any(
            request.user.has_perm(perm) for perm in CONFIG_PERMS
        ) or super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
