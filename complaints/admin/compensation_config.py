"""Admin of the authority matrix, tier guidance, root causes and approval notices."""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from ..compensation_selectors import (
    visible_compensations,
)
from ..models import (
    ApprovalAlert,
    ApprovalLimit,
    RootCause,
    TierGuidance,
)

# -- configuration: the matrix, guidance, root causes -----------------------------------------


@admin.register(ApprovalLimit)
class ApprovalLimitAdmin(ModelAdmin):
    list_display = (
        "group",
        "department",
        "currency",
        "max_per_compensation",
        "max_per_complaint",
        "active",
        "updated_at",
    )
    list_filter = ("active", "currency", "group")
    list_select_related = ("group", "department")
    autocomplete_fields = ("department",)
    fields = (
        "group",
        "department",
        "currency",
        "max_per_compensation",
        "max_per_complaint",
        "active",
        "note",
    )
    ordering = ("currency", "max_per_compensation", "pk")

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate a row instead: the record of who could approve stays


@admin.register(TierGuidance)
class TierGuidanceAdmin(ModelAdmin):
    list_display = ("kind", "tier", "currency", "suggested_amount", "note")
    list_filter = ("tier", "kind", "currency")
    ordering = ("kind", "tier")


@admin.register(RootCause)
class RootCauseAdmin(ModelAdmin):
    list_display = ("code", "name", "name_en", "sort_order", "active")
    list_filter = ("active",)
    search_fields = ("code", "name", "name_en")
    ordering = ("sort_order", "code")

    def has_delete_permission(self, request, obj=None):
        return False  # complaints keep their root cause: deactivate instead


@admin.register(ApprovalAlert)
class ApprovalAlertAdmin(ModelAdmin):
    list_display = ("compensation", "level", "created_at", "delivery", "attempts", "sent_at")
    list_filter = ("level", "delivery")
    list_select_related = ("compensation",)
    readonly_fields = (
        "compensation",
        "level",
        "created_at",
        "recipients",
        "emails",
        "delivery",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    fields = readonly_fields

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        visible = visible_compensations(request.user).values("pk")
        return rows.filter(compensation__in=visible)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
