"""The staff inbox, the audit list of reminders and escalations, and the notification lists.

Alerts and inbox entries are written by the deadline sweep (services/alerts.py); the admin
only shows them. The inbox is personal: every staff user sees their own entries and nobody
else's, superusers included.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Count, F
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import action, display

from ..checks import empty_list_message
from ..messages import render
from ..models import DeadlineAlert, Notification, NotificationList
from ..search import REFERENCE_RE
from ..selectors import sees_all, visible_complaints
from ..services import alerts
from ..services.audiences import empty_lists
from .bilingual import BilingualNameMixin
from .complaints import ReceivedDateRangeFilter
from .pagination import EstimatedCountPaginator

Delivery = DeadlineAlert.Delivery
DELIVERY_COLOURS = {
    Delivery.PENDING: "info",
    Delivery.SENDING: "primary",
    Delivery.SENT: "success",
    Delivery.FAILED: "danger",
    Delivery.NONE: None,
    Delivery.DIGEST: "info",
}
LEVEL_COLOURS = {0: "info", 1: "warning", 2: "danger"}


def _is_staff(request) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def _complaint_url(complaint_id) -> str:
    return reverse("admin:complaints_complaint_change", args=[complaint_id])


# -- sidebar callbacks (config/settings.py UNFOLD) --------------------------------------------


def unread_count(request) -> int:
    """The user's unread inbox entries: one COUNT on a partial index, once per request."""
    if not _is_staff(request):
        return 0
    cached = getattr(request, "_redress_unread", None)
    if cached is None:
        cached = Notification.objects.filter(user=request.user, read_at__isnull=True).count()
        request._redress_unread = cached
    return cached


def unread_badge(request) -> str | None:
    """The number next to "Inbox" in the sidebar; nothing when all is read."""
    count = unread_count(request)
    return str(count) if count else None


def can_view_alerts(request) -> bool:
    return request.user.has_perm("complaints.view_deadlinealert") or request.user.has_perm(
        "complaints.change_deadlinealert"
    )


def can_view_lists(request) -> bool:
    return request.user.has_perm("complaints.view_notificationlist") or request.user.has_perm(
        "complaints.change_notificationlist"
    )


# -- the inbox -------------------------------------------------------------------------------


class ReadFilter(admin.SimpleListFilter):
    title = gettext_lazy("read")
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return [("unread", gettext_lazy("Unread")), ("read", gettext_lazy("Read"))]

    def queryset(self, request, queryset):
        if self.value() == "unread":
            return queryset.filter(read_at__isnull=True)
        if self.value() == "read":
            return queryset.filter(read_at__isnull=False)
        return queryset


@admin.register(Notification)
class NotificationAdmin(ModelAdmin):
    list_display = ("when", "title_link", "reference", "read_label")
    list_display_links = None  # the title opens the complaint (and marks the entry read)
    list_filter = (ReadFilter,)
    list_per_page = 50
    ordering = ("-created_at", "-id")
    actions = ["mark_read", "mark_unread"]
    fields = ("created_at", "title_text", "reference", "body", "read_at")
    readonly_fields = fields

    def get_queryset(self, request):
        # Only the requesting user's own entries, whoever asks (superusers too).
        return (
            super()
            .get_queryset(request)
            .filter(user_id=request.user.pk)
            .annotate(_reference=F("complaint__reference"))
        )

    # Any active staff user has an inbox; it needs no permission of its own.
    def has_module_permission(self, request):
        return _is_staff(request)

    def has_view_permission(self, request, obj=None):
        return _is_staff(request) and (obj is None or obj.user_id == request.user.pk)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @display(description=gettext_lazy("when"), ordering="created_at")
    def when(self, obj):
        return obj.created_at

    @display(description=gettext_lazy("title"))
    def title_link(self, obj):
        url = reverse("admin:complaints_notification_open", args=[obj.pk])
        weight = "font-semibold" if obj.read_at is None else ""
        return format_html(
            '<a class="text-primary-600 {}" href="{}">{}</a>', weight, url, render(obj.title)
        )

    @display(description=gettext_lazy("complaint"), ordering="complaint__reference")
    def reference(self, obj):
        return obj._reference

    @display(description=gettext_lazy("title"))
    def title_text(self, obj):
        return render(obj.title)  # a stored message, in the reader's language

    @display(description=gettext_lazy("status"), label={"unread": "warning", "read": None})
    def read_label(self, obj):
        if obj.read_at is None:
            return "unread", _("unread")
        return "read", _("read")

    @action(description=gettext_lazy("Mark as read"))
    def mark_read(self, request, queryset):
        count = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        self.message_user(
            request,
            ngettext(
                "%(count)d notification marked as read.",
                "%(count)d notifications marked as read.",
                count,
            )
            % {"count": count},
        )

    @action(description=gettext_lazy("Mark as unread"))
    def mark_unread(self, request, queryset):
        count = queryset.filter(read_at__isnull=False).update(read_at=None)
        self.message_user(
            request,
            ngettext(
                "%(count)d notification marked as unread.",
                "%(count)d notifications marked as unread.",
                count,
            )
            % {"count": count},
        )

    def get_urls(self):
        return [
            path(
                "<int:notification_id>/open/",
                self.admin_site.admin_view(self.open_view),
                name="complaints_notification_open",
            ),
            *super().get_urls(),
        ]

    def open_view(self, request, notification_id):
        """Mark the entry read and go to its complaint."""
        row = (
            Notification.objects.filter(pk=notification_id, user_id=request.user.pk)
            .values("complaint_id", "read_at")
            .first()
        )
        if row is None or not _is_staff(request):
            raise Http404
        if row["read_at"] is None:
            Notification.objects.filter(pk=notification_id, read_at__isnull=True).update(
                read_at=timezone.now()
            )
        return HttpResponseRedirect(_complaint_url(row["complaint_id"]))


# -- reminders and escalations (read-only audit trail) ---------------------------------------


@admin.register(DeadlineAlert)
class DeadlineAlertAdmin(ModelAdmin):
    def changelist_view(self, request, extra_context=None):
        warn_empty_lists(request)
        return super().changelist_view(request, extra_context)

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    list_filter_submit = True
    list_display = (
        "complaint_link",
        "kind",
        "level_label",
        "deadline",
        "created_at",
        "delivery_label",
        "attempts",
        "short_error",
    )
    list_display_links = ("kind",)
    list_select_related = ("complaint",)
    list_filter = (
        ("delivery", ChoicesDropdownFilter),
        ("level", ChoicesDropdownFilter),
        ("kind", ChoicesDropdownFilter),
        ("created_at", ReceivedDateRangeFilter),
    )
    search_fields = ("complaint__reference",)  # the search itself is get_search_results
    search_help_text = gettext_lazy("Complaint reference, e.g. C-2026-000123 or 000123.")
    ordering = ("-created_at", "-id")
    actions = ["retry_email"]
    fields = (
        "complaint_link",
        "kind",
        "level",
        "deadline",
        "created_at",
        "recipient_names",
        "email_addresses",
        "delivery",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # Only alerts about complaints the user may see (department isolation).
        rows = super().get_queryset(request)
        if sees_all(request.user):
            return rows
        return rows.filter(complaint__in=visible_complaints(request.user).values("pk"))

    def get_search_results(self, request, queryset, search_term):
        term = " ".join(search_term.split()).upper()
        if not term:
            return queryset, False
        if REFERENCE_RE.fullmatch(term):
            return queryset.filter(complaint__reference=term), False
        return queryset.filter(complaint__reference__contains=term), False

    # The audit trail cannot be edited: view only, plus the retry action.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm("complaints.change_deadlinealert")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @display(description=gettext_lazy("complaint"), ordering="complaint__reference")
    def complaint_link(self, obj):
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            _complaint_url(obj.complaint_id),
            obj.complaint.reference,
        )

    @display(description=gettext_lazy("level"), ordering="level", label=LEVEL_COLOURS)
    def level_label(self, obj):
        return obj.level, obj.get_level_display()

    @display(
        description=gettext_lazy("email delivery"), ordering="delivery", label=DELIVERY_COLOURS
    )
    def delivery_label(self, obj):
        return obj.delivery, obj.get_delivery_display()

    @display(description=gettext_lazy("last error"))
    def short_error(self, obj):
        if not obj.last_error:
            return ""
        return format_html(
            '<span title="{}">{}</span>', obj.last_error, Truncator(obj.last_error).chars(60)
        )

    @display(description=gettext_lazy("staff told"))
    def recipient_names(self, obj):
        ids = [pk for pk in obj.recipients if isinstance(pk, int)]
        if not ids:
            return "—"
        users = get_user_model().objects.filter(pk__in=ids)
        names = {u.pk: u.get_full_name() or u.get_username() for u in users}
        return ", ".join(names.get(pk, f"#{pk}") for pk in ids)

    @display(description=gettext_lazy("email addresses"))
    def email_addresses(self, obj):
        """Each address, with how its copy went when the alert goes by digest."""
        if obj.delivery != Delivery.DIGEST and not obj.digest_entries.exists():
            return ", ".join(obj.emails) or "—"
        entries = obj.digest_entries.order_by("email")
        return format_html_join(
            ", ",
            "{} ({})",
            ((entry.email, entry.get_delivery_display()) for entry in entries),
        )

    @action(description=gettext_lazy("Retry email now"), permissions=["retry"])
    def retry_email(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        count = alerts.retry_deliveries(selected)
        skipped = len(selected) - count
        self.message_user(
            request,
            _(
                "%(count)d queued for sending now, %(skipped)d skipped (sent, being sent or "
                "without email recipients)."
            )
            % {"count": count, "skipped": skipped},
        )


# -- notification lists ------------------------------------------------------------------------


class NotificationListForm(forms.ModelForm):
    class Meta:
        model = NotificationList
        fields = ("name", "name_en", "code", "users", "extra_emails")

    def clean_extra_emails(self):
        lines = [line.strip() for line in self.cleaned_data["extra_emails"].splitlines()]
        lines = [line for line in lines if line]
        bad = []
        for line in lines:
            try:
                validate_email(line)
            except ValidationError:
                bad.append(line)
        if bad:
            raise ValidationError(_("Not an email address: %(lines)s") % {"lines": ", ".join(bad)})
        return "\n".join(dict.fromkeys(lines))


def warn_empty_lists(request) -> None:
    """Level-2 escalations and crisis notices to an empty list reach nobody: say so where
    alerts and lists are managed (also reported by `manage.py check`, W003)."""
    if request.method != "GET":
        return
    for empty in empty_lists():
        messages.warning(request, empty_list_message(empty))


@admin.register(NotificationList)
class NotificationListAdmin(BilingualNameMixin, ModelAdmin):
    form = NotificationListForm
    list_display = ("display_name", "code", "staff_count", "email_count")
    search_fields = ("name", "name_en", "code")
    autocomplete_fields = ("users",)
    fields = ("name", "name_en", "code", "users", "extra_emails")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_staff=Count("users"))

    def changelist_view(self, request, extra_context=None):
        warn_empty_lists(request)
        return super().changelist_view(request, extra_context)

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        # The sweep looks the built-in lists up by code; empty them instead of deleting.
        if obj is not None and obj.code in (NotificationList.CRISIS, NotificationList.MANAGERS):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @display(description=gettext_lazy("staff"), ordering="_staff")
    def staff_count(self, obj):
        return obj._staff

    @display(description=gettext_lazy("other email addresses"))
    def email_count(self, obj):
        return len(obj.emails())
