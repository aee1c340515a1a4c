"""The admin's own change log (who changed which policy, calendar, user... and when),
read-only: the audit trail cannot be edited from the admin. Complaint changes are on each
complaint's timeline."""

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from ..models import Complaint, Customer


@admin.register(LogEntry)
class LogEntryAdmin(ModelAdmin):
    list_display = ("action_time", "user", "content_type", "object_repr", "action", "message")
    list_filter = ("action_flag", "content_type", "user")
    list_select_related = ("user", "content_type")
    search_fields = ("object_repr", "change_message", "user__username")
    date_hierarchy = None
    ordering = ("-action_time", "-id")
    readonly_fields = [f.name for f in LogEntry._meta.fields]

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        user = request.user
        if user.is_superuser or (
            user.has_perm("complaints.view_all_complaints") and user.has_perm("complaints.view_pii")
        ):
            return rows
        # Entries about customers and complaints name people and subjects: only for those
        # who may read every complaint and personal data (auditors).
        private = ContentType.objects.get_for_models(Customer, Complaint).values()
        return rows.exclude(content_type__in=list(private))

    @display(description=_("action"))
    def action(self, obj):
        return {1: _("added"), 2: _("changed"), 3: _("deleted"), 4: _("exported")}.get(
            obj.action_flag, "?"
        )

    @display(description=_("what changed"))
    def message(self, obj):
        from .export import describe  # an export of the complaint list (admin/export.py)

        return describe(obj) or obj.get_change_message()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
