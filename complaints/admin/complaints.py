import threading
from datetime import datetime, time, timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesCheckboxFilter,
    ChoicesDropdownFilter,
    RangeDateFilter,
)
from unfold.decorators import action, display
from unfold.utils import parse_date_str

from .. import hooks, workflow
from ..messages import render
from ..models import (
    AlertSchedule,
    Attachment,
    Complaint,
    ComplaintEvent,
    DeadlineAlert,
    Severity,
    Status,
)
from ..privacy import can_read, customer_label, mask_email, mask_name, mask_phone
from ..search import search_complaints
from ..selectors import visible_complaints, visible_customers
from ..services import lifecycle, reference_cache, severity, sla
from ..services.assignment import assignee_candidates
from ..services.attachments import add_attachment
from ..services.calendars import calendars_by_id, clock_for_policy
from ..services.errors import ServiceError, StaleVersion
from . import desk
from .bulk import DailyWorkMixin
from .compensation import complaint_panel_context
from .forms import (
    AttachmentForm,
    ComplaintForm,
    NoteForm,
    SeverityOverrideForm,
    TransitionForm,
)
from .pagination import EstimatedCountPaginator

STATUS_COLOURS = {
    Status.NEW: "info",
    Status.ACKNOWLEDGED: "info",
    Status.INVESTIGATING: "primary",
    Status.AWAITING_CUSTOMER: "warning",
    Status.SOLUTION_PROPOSED: "primary",
    Status.RESOLVED: "success",
    Status.CLOSED: "success",
    Status.REOPENED: "danger",
    Status.INVALID: None,
    Status.MERGED: None,
}
SEVERITY_COLOURS = {1: "danger", 2: "warning", 3: "info", 4: None}
# The list's label texts (lazy: translated when rendered). get_FOO_display() rebuilds the
# field's choices for every cell; these are built once.
STATUS_LABELS = dict(Status.choices)
SEVERITY_LABELS = dict(Severity.choices)


class NullsLast(F):
    """A list column's ordering with empty values (finished complaints have no next deadline)
    at the end in both directions; the admin calls asc()/desc() on it."""

    def asc(self, **kwargs):
        return super().asc(nulls_last=True)

    def desc(self, **kwargs):
        return super().desc(nulls_last=True)


# Filters of links rendered without unfold's admin/filter.html (templatetags/link_filter.py).
LINK_FILTER_TEMPLATE = "complaints/admin/filter_links.html"


class LinkFilter(admin.SimpleListFilter):
    template = LINK_FILTER_TEMPLATE


class MineFilter(LinkFilter):
    title = gettext_lazy("mine")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [
            ("assigned", gettext_lazy("Assigned to me")),
            ("assigned_all", gettext_lazy("Assigned to me, finished ones too")),
            ("departments", gettext_lazy("My departments")),
            ("recorded", gettext_lazy("Recorded by me")),
        ]

    def queryset(self, request, queryset):
        user = request.user
        if self.value() == "assigned":
            # Work on the desk: open ones and resolved ones (still to verify and close after
            # the return visit, DOMAIN step 9); closed, invalid and merged ones are done.
            done = [Status.CLOSED, Status.INVALID, Status.MERGED]
            return queryset.filter(assignee=user).exclude(status__in=done)
        if self.value() == "assigned_all":
            return queryset.filter(assignee=user)
        if self.value() == "departments":
            departments = list(user.department_memberships.values_list("department_id", flat=True))
            return queryset.filter(department_id__in=departments)
        if self.value() == "recorded":
            return queryset.filter(created_by=user)
        return queryset


class ResponsibilityFilter(LinkFilter):
    """Open complaints nobody answers for yet: no department, or no person."""

    title = gettext_lazy("responsibility")
    parameter_name = "responsibility"

    def lookups(self, request, model_admin):
        return [
            ("no_department", gettext_lazy("No department")),
            ("unassigned", gettext_lazy("Unassigned (no person)")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "no_department":
            return queryset.open().filter(department__isnull=True)
        if self.value() == "unassigned":
            return queryset.open().filter(assignee__isnull=True)
        return queryset


class DeadlineFilter(LinkFilter):
    title = gettext_lazy("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [
            ("overdue", gettext_lazy("Overdue")),
            ("24h", gettext_lazy("Due within 24 hours")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.overdue(now)
        if self.value() == "24h":
            return queryset.open().filter(due_at__gte=now, due_at__lt=now + timezone.timedelta(1))
        return queryset


def schedule_of(complaint) -> AlertSchedule | None:
    """The complaint's deadline sweep schedule (loaded with it by select_related)."""
    try:
        return complaint.alert_schedule
    except AlertSchedule.DoesNotExist:
        return None


def escalation_level(complaint) -> int:
    schedule = schedule_of(complaint)
    return schedule.escalation_level if schedule else 0


class EscalatedFilter(LinkFilter):
    title = gettext_lazy("escalation")
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [
            ("escalated", gettext_lazy("Escalated")),
            ("level2", gettext_lazy("Escalation level 2")),
        ]

    def queryset(self, request, queryset):
        # Both use the schedule's partial index on escalation_level > 0.
        if self.value() == "escalated":
            return queryset.filter(alert_schedule__escalation_level__gte=1)
        if self.value() == "level2":
            return queryset.filter(alert_schedule__escalation_level=2)
        return queryset


class AlertFailedFilter(LinkFilter):
    """Complaints the deadline sweep could not process (error on the complaint page)."""

    title = gettext_lazy("deadline sweep")
    parameter_name = "alert_failed"

    def lookups(self, request, model_admin):
        return [("yes", gettext_lazy("Failed (see the error on the complaint)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":  # the partial index on alert_failures > 0
            return queryset.filter(alert_failures__gt=0)
        return queryset


class ReceivedDateRangeFilter(RangeDateFilter):
    """Whole local days: "to" includes all of the end day (RangeDateFilter compares the
    datetime with midnight, which left out everything received on the end day). Rendered
    once per process and language while empty (templatetags.filter_cache)."""

    template = "complaints/admin/filter_field_cached.html"
    cached_template = RangeDateFilter.template

    def queryset(self, request, queryset):
        tz = timezone.get_current_timezone()
        filters = {}
        start = self.used_parameters.get(f"{self.parameter_name}_from")
        end = self.used_parameters.get(f"{self.parameter_name}_to")
        start = parse_date_str(start) if isinstance(start, str) else None
        end = parse_date_str(end) if isinstance(end, str) else None
        # Years at the edge of the calendar (0001, 9999) cannot be shifted to UTC: ignored.
        if start and datetime.min.date() + timedelta(days=2) < start:
            filters[f"{self.parameter_name}__gte"] = datetime.combine(start, time.min, tzinfo=tz)
        if end and end < datetime.max.date() - timedelta(days=2):
            filters[f"{self.parameter_name}__lt"] = datetime.combine(
                end + timedelta(days=1), time.min, tzinfo=tz
            )
        return queryset.filter(**filters)


# unfold's form filters, rendered once per process and language while nothing is chosen in
# them (complaints.templatetags.filter_cache).
CACHED_FILTER_TEMPLATE = "complaints/admin/filter_field_cached.html"


class CachedChoicesCheckboxFilter(ChoicesCheckboxFilter):
    template = CACHED_FILTER_TEMPLATE


class CachedChoicesDropdownFilter(ChoicesDropdownFilter):
    template = CACHED_FILTER_TEMPLATE


class CachedAutocompleteSelectFilter(AutocompleteSelectFilter):
    template = CACHED_FILTER_TEMPLATE


class AttachmentInline(TabularInline):
    model = Attachment
    form = AttachmentForm
    extra = 1
    can_delete = False
    fields = (
        "file",
        "preview",
        "download",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "uploaded_at",
    )
    readonly_fields = (
        "preview",
        "download",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "uploaded_at",
    )
    verbose_name_plural = gettext_lazy("attachments (evidence)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    @display(description=gettext_lazy("download"))
    def download(self, obj):
        if not obj.pk:
            return "-"
        url = reverse("complaints:attachment-download", args=[obj.pk])
        return format_html('<a class="text-primary-600" href="{}">{}</a>', url, obj.original_name)

    @display(description=gettext_lazy("preview"))
    def preview(self, obj):
        return desk.attachment_preview(obj)

    # Evidence follows the complaint's permissions (there are no attachment roles): without
    # this, only superusers saw the inline, so nobody else could upload or list evidence.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("complaints.view_complaint") or request.user.has_perm(
            "complaints.change_complaint"
        )

    def has_add_permission(self, request, obj=None):
        # services.attachments.add_attachment requires change_complaint.
        return request.user.has_perm("complaints.change_complaint")

    def has_change_permission(self, request, obj=None):
        return False  # evidence is immutable; existing rows render read-only

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(DailyWorkMixin, ModelAdmin):
    form = ComplaintForm
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    list_max_show_all = 500
    list_filter_submit = True
    list_fullwidth = True
    # unfold's list page with the rows rendered by list_rows.py (not a template per cell).
    change_list_template = "complaints/admin/complaint_change_list.html"
    warn_unsaved_form = True
    list_display = (
        "reference",
        "received_at",
        "customer_name",
        "short_subject",
        "severity_label",
        "status_label",
        "department",
        "assignee_name",
        "due_marker",
    )
    list_display_links = ("reference", "short_subject")
    list_select_related = ("customer", "department", "assignee", "sla_policy", "alert_schedule")
    list_filter = (
        MineFilter,
        ResponsibilityFilter,
        DeadlineFilter,
        EscalatedFilter,
        AlertFailedFilter,
        ("status", CachedChoicesCheckboxFilter),
        ("severity", CachedChoicesCheckboxFilter),
        ("department", CachedAutocompleteSelectFilter),
        # not 500 <option>s rendered on every page
        ("category", CachedAutocompleteSelectFilter),
        ("channel", CachedChoicesDropdownFilter),
        ("assignee", CachedAutocompleteSelectFilter),
        ("received_at", ReceivedDateRangeFilter),
    )
    search_fields = ("reference",)  # the search itself is get_search_results
    search_help_text = gettext_lazy(
        "Reference or part of it (13630), phone or its last 4+ digits, email, external id, or "
        "words from the subject or customer name."
    )
    ordering = ("-received_at", "-id")
    # Empty: unfold's fieldset rows look this up for every field, and a missing attribute
    # costs a dir() of the whole ModelAdmin (~260 names) per field.
    conditional_fields: dict = {}
    # The assignee is a plain select of the responsible department's staff (get_form).
    autocomplete_fields = (
        "customer",
        "category",
        "department",
        "assisting_departments",
    )
    inlines = [AttachmentInline]
    _page = threading.local()  # per-request state shared by list columns
    actions = ["acknowledge_selected", *DailyWorkMixin.daily_work_actions]
    # Workflow panel, then the timeline with the contact and note forms, then the details.
    change_form_outer_before_template = "complaints/admin/change_top.html"

    intake_fields = (
        "channel",
        "received_at",
        "customer",
        "subject",
        "description",
        "desired_outcome",
        "item_ref",
        "households_affected",
        ("media_risk", "litigation_risk"),
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        field = form.base_fields.get("assignee")
        if field is not None:
            # Only people who may take it: active members of the responsible department
            # (of any department while none is chosen; saving checks the chosen one).
            # The same rule as "Assign to…" in the list (services.assignment).
            if obj is not None and obj.department_id:
                members = assignee_candidates([obj.department_id])
            else:
                members = (
                    get_user_model()
                    .objects.filter(is_active=True, department_memberships__isnull=False)
                    .distinct()
                )
            field.queryset = members.order_by("first_name", "last_name", "username")
            field.help_text = _("Staff of the responsible department.")
        return form

    def response_add(self, request, obj, post_url_continue=None):
        # After recording a complaint the agent works on it: its page, not the list.
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        messages.success(request, _("%(reference)s recorded.") % {"reference": obj.reference})
        matched = _matched_customer_message(request, getattr(request, "intake_result", None))
        if matched:
            messages.warning(request, matched)
        return HttpResponseRedirect(self._change_url(obj))

    def get_fieldsets(self, request, obj=None):
        intake = ("reference", "loaded_version", *self.intake_fields) if obj else self.intake_fields
        fieldsets = [
            (gettext_lazy("Intake"), {"fields": intake}),
        ]
        if obj is None:
            fieldsets.append(
                (
                    gettext_lazy("New customer (if not on file)"),
                    {
                        "fields": (
                            "new_customer_name",
                            "new_customer_phone",
                            "new_customer_email",
                        ),
                    },
                )
            )
        assessment = ["category", "needs_other_departments"]
        if obj is not None:
            assessment[1:1] = ["severity", "severity_reason_text"]
            assessment.insert(0, "status")
            if obj.status == Status.INVALID:
                assessment.append("invalid_reason")
        fieldsets += [
            (gettext_lazy("Assessment"), {"fields": assessment}),
            (
                gettext_lazy("Responsibility"),
                {
                    "fields": (
                        "department",
                        "assisting_departments",
                        "assignee",
                        "fault",
                        "root_cause",
                    )
                },
            ),
            (
                gettext_lazy("Resolution"),
                {"fields": ("solution", "resolution", *(["merged_into"] if obj else []))},
            ),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    gettext_lazy("Dates and deadlines"),
                    {
                        "classes": ["collapse"],
                        "fields": (
                            ("acknowledged_at", "ack_due_at", "ack_warn_at"),
                            ("first_response_at", "response_due_at", "response_warn_at"),
                            ("resolved_at", "resolve_due_at", "resolve_warn_at"),
                            ("sla_policy", "deadline_provisional", "resolve_clock_started_at"),
                            ("closed_at", "reopened_count"),
                            ("created_by", "created_at", "updated_at"),
                        ),
                    },
                )
            )
            if obj.alert_failures:
                fieldsets.append(
                    (
                        gettext_lazy("Deadline sweep failed"),
                        {"fields": (("alert_failures", "next_sweep_look"), "alert_error")},
                    )
                )
        if obj is not None and not _sees_pii(request):
            # Without the personal-data permission the customer shows masked, read-only.
            fieldsets = [
                (title, {**opts, "fields": tuple(_masked(f) for f in opts["fields"])})
                for title, opts in fieldsets
            ]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        readonly = [
            "alert_failures",
            "alert_error",
            "next_sweep_look",
            "customer_masked",
            "reference",
            "status",
            "severity",
            "severity_reason_text",
            "invalid_reason",
            "merged_into",
            "acknowledged_at",
            "ack_due_at",
            "first_response_at",
            "response_due_at",
            "resolved_at",
            "resolve_due_at",
            "ack_warn_at",
            "response_warn_at",
            "resolve_warn_at",
            "sla_policy",
            "deadline_provisional",
            "resolve_clock_started_at",
            "closed_at",
            "reopened_count",
            "created_by",
            "created_at",
            "updated_at",
        ]
        if not _sees_pii(request):
            readonly.append("customer")
        if not obj.is_open:
            editable = set(lifecycle.EDITABLE_WHEN_FINISHED)
            readonly += [f for f in lifecycle.EDITABLE_FIELDS if f not in editable]
            readonly.append("assisting_departments")
        return readonly

    # -- list ---------------------------------------------------------------------------

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "customer":
            # Offered and accepted: only customers the user may see (a returning caller from
            # elsewhere is linked by entering their phone or email as a new customer).
            kwargs["queryset"] = visible_customers(request.user)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "customer" and not can_read(request.user):
            field.label_from_instance = lambda customer: customer_label(customer, pii=False)
        return field

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(
            request, queryset, per_page, orphans, allow_empty_first_page
        )
        paginator.first_page_first = bool(request.GET.get(SEARCH_VAR, "").strip())
        return paginator

    def get_search_results(self, request, queryset, search_term):
        # Without the personal-data right the customer's phone, email and name are no
        # search keys: the results would confirm what the masked columns hide.
        return search_complaints(queryset, search_term, pii=can_read(request.user)), False

    def get_list_display(self, request):
        if can_read(request.user):
            return self.list_display
        # Masked and not sortable: sorting by name would reveal the order of hidden names.
        return tuple(
            "customer_masked_name" if f == "customer_name" else f for f in self.list_display
        )

    @display(description=gettext_lazy("customer"), ordering="customer__name")
    def customer_name(self, obj):
        return obj.customer.name

    @display(description=gettext_lazy("why this severity"))
    def severity_reason_text(self, obj):
        return render(obj.severity_reason)  # a stored message, in the reader's language

    @display(description=gettext_lazy("customer"))
    def customer_masked_name(self, obj):
        return mask_name(obj.customer.name)

    @display(description=gettext_lazy("customer"))
    def customer_masked(self, obj):
        c = obj.customer
        parts = [mask_name(c.name), mask_phone(c.phone), mask_email(c.email), c.get_tier_display()]
        return " · ".join(p for p in parts if p)

    @display(description=gettext_lazy("subject"))
    def short_subject(self, obj):
        return Truncator(obj.subject).chars(40)

    @display(description=gettext_lazy("assignee"), ordering="assignee")
    def assignee_name(self, obj):
        return str(obj.assignee) if obj.assignee_id else "-"

    @display(description=gettext_lazy("severity"), ordering="severity", label=SEVERITY_COLOURS)
    def severity_label(self, obj):
        return obj.severity, SEVERITY_LABELS.get(obj.severity, obj.severity)

    @display(description=gettext_lazy("status"), ordering="status", label=STATUS_COLOURS)
    def status_label(self, obj):
        return obj.status, STATUS_LABELS.get(obj.status, obj.status)

    @display(
        description=gettext_lazy("due"),
        ordering=NullsLast("due_at"),
        label={
            "overdue": "danger",
            "soon": "warning",
            "ok": "info",
            "paused": None,
            "escalated": None,  # every deadline met, the escalation is history
        },
    )
    def due_marker(self, obj):
        if not obj.is_open:
            return None
        if obj.status == Status.AWAITING_CUSTOMER:
            state, text = "paused", _("paused")
        elif obj.due_at is None:
            if not escalation_level(obj):
                return None
            state, text = "escalated", ""
        else:
            now = self._now()
            calendars = self._calendars()
            left = sla.working_time_left(obj, calendars, now=now)
            clock = clock_for_policy(obj.sla_policy, calendars)
            duration = sla.format_duration(left, clock)
            if obj.due_at < now:
                state, text = "overdue", _("overdue %(time)s") % {"time": duration}
            else:
                warn = pending_warning(obj)
                state = "soon" if warn is not None and warn <= now else "ok"
                text = _("%(time)s left") % {"time": duration}
        if level := escalation_level(obj):
            escalated = _("escalation %(level)d") % {"level": level}
            text = f"{text} · {escalated}" if text else escalated
        return state, text

    def changelist_view(self, request, extra_context=None):
        # The compiled calendars from this process's copy while unchanged (no query).
        calendars = reference_cache.get("calendars", calendars_by_id)
        self._page.calendars, self._page.now = calendars, timezone.now()
        try:
            response = super().changelist_view(request, extra_context)
            if hasattr(response, "render"):
                response.render()  # while the per-request state is set
            return response
        finally:
            self._page.calendars = self._page.now = None

    def _calendars(self) -> dict:
        """Compiled calendars for this request (loaded once by the list view)."""
        calendars = getattr(self._page, "calendars", None)
        return calendars_by_id() if calendars is None else calendars

    def _now(self):
        return getattr(self._page, "now", None) or timezone.now()

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @action(description=gettext_lazy("Acknowledge selected new complaints"))
    def acknowledge_selected(self, request, queryset):
        # Count the ones that are not new before acknowledging (afterwards they aren't new).
        not_new = queryset.exclude(status=Status.NEW).count()
        fresh = queryset.filter(status=Status.NEW)
        no_department = fresh.filter(department__isnull=True).count()
        done = refused = 0
        for pk in fresh.filter(department__isnull=False).values_list("pk", flat=True)[:500]:
            try:
                lifecycle.transition(pk, Status.ACKNOWLEDGED, user=request.user)
                done += 1
            except ServiceError:
                refused += 1
        self.message_user(
            request,
            _(
                "%(done)d acknowledged; skipped: %(not_new)d not new, %(no_department)d without "
                "a responsible department."
            )
            % {"done": done, "not_new": not_new + refused, "no_department": no_department},
            messages.SUCCESS if done else messages.WARNING,
        )

    # -- saving goes through the services -------------------------------------------------

    def save_model(self, request, obj, form, change):
        assisting = form.cleaned_data.get("assisting_departments")
        if change:
            lifecycle.update_complaint(
                obj.pk,
                user=request.user,
                changes=form.edited_fields(),
                expected_version=form.cleaned_data.get("loaded_version"),
                assisting=list(assisting) if assisting is not None else None,
            )
        else:
            # The intake service matches or creates the customer; the result (matched, earlier
            # complaints) stays on the form for the page that follows.
            form.intake_result = form.record(user=request.user, assisting=assisting or ())
            request.intake_result = form.intake_result

    def save_related(self, request, form, formsets, change):
        # Many-to-many fields were written by the service; attachments go through theirs.
        for formset in formsets:
            # formset.save() is not called; the admin's change message reads these.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for inline_form in formset.forms:
                uploaded = (
                    inline_form.cleaned_data.get("file") if inline_form.has_changed() else None
                )
                if uploaded is not None and not inline_form.instance.pk:
                    formset.new_objects.append(
                        add_attachment(form.instance.pk, user=request.user, uploaded=uploaded)
                    )

    def has_delete_permission(self, request, obj=None):
        return False  # complaints are never deleted

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        if getattr(form, "stale_fields", None):
            labels = [str(form.fields[f].label or f) for f in form.stale_fields if f in form.fields]
            if labels:
                messages.warning(
                    request,
                    _(
                        "Your entries differ from the saved complaint in: %(fields)s. Saving again "
                        "replaces the other person's values with yours."
                    )
                    % {"fields": ", ".join(labels)},
                )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # -- change page: workflow panel, timeline, notes, contacts ----------------------------

    def get_queryset(self, request):
        # Department isolation: the list, change pages, actions and autocomplete all start here.
        return visible_complaints(request.user, super().get_queryset(request))

    # What the change page reads of the complaint's relations (panels, readonly fields, the
    # deadline clock): loaded with it, not one query each.
    page_related = (
        "customer",
        "category",
        "department",
        "assignee",
        "sla_policy",
        "created_by",
        "merged_into",
        "alert_schedule",
    )

    @display(description=gettext_lazy("next reminder due"))
    def next_sweep_look(self, obj):
        schedule = schedule_of(obj)
        return schedule.next_alert_at if schedule else None

    def get_object(self, request, object_id, from_field=None):
        # A GET of the change page reads the complaint once: change_view's instance (with its
        # relations) is the one Django's changeform_view asks for again. Only for reading:
        # a POST's form writes its values onto the instance it validates, which must not be
        # the one the page's panels were built from.
        page = getattr(request, "_complaint_page", None)
        if page is not None and from_field is None and page[0] == str(object_id):
            return page[1]
        return super().get_object(request, object_id, from_field)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method in ("GET", "HEAD"):
            complaint = self._page_object(request, object_id)
        else:
            complaint = self.get_object(request, object_id)
        if complaint is None:
            raise Http404  # another department's complaint does not exist for this user
        if (
            complaint.status == Status.MERGED
            and request.method == "GET"
            and "stay" not in request.GET
            and self.get_queryset(request).filter(pk=complaint.merged_into_id).exists()
        ):
            # A merged duplicate lives on in the complaint it was merged into; its own page
            # (history, attachments) stays reachable with ?stay=1.
            messages.info(
                request,
                _("%(reference)s was merged into %(target)s; you are looking at %(target)s.")
                % {"reference": complaint.reference, "target": complaint.merged_into.reference},
            )
            target = self._change_url(complaint.merged_into)
            return HttpResponseRedirect(f"{target}?merged_from={complaint.pk}")
        extra_context = {**(extra_context or {}), **self._page_context(request, complaint)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _page_object(self, request, object_id):
        """The complaint with `page_related`, kept on the request for changeform_view."""
        queryset = self.get_queryset(request).select_related(*self.page_related)
        try:
            complaint = queryset.get(pk=Complaint._meta.pk.to_python(unquote(object_id)))
        except (Complaint.DoesNotExist, ValidationError, ValueError):
            return None
        request._complaint_page = (unquote(object_id), complaint)
        return complaint

    def history_view(self, request, object_id, extra_context=None):
        if self.get_object(request, object_id) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def _page_context(self, request, complaint):
        edges = []
        for edge in lifecycle.allowed_transitions(complaint, request.user):
            edges.append(
                {
                    "edge": edge,
                    "url": reverse(
                        "admin:complaints_complaint_transition", args=[complaint.pk, edge.target]
                    ),
                    "needs_input": edge.note_required
                    or edge.needs_merge_target
                    or edge.needs_solution
                    or edge.needs_resolution
                    or (edge.needs_department and complaint.department_id is None),
                }
            )
        can_change = self.has_change_permission(request, complaint)
        can_override = (
            can_change
            and complaint.is_open
            and request.user.has_perm("complaints.override_severity")
        )
        return {
            "deadlines": self._deadline_rows(complaint),
            "can_override_severity": can_override,
            "severity_url": reverse("admin:complaints_complaint_severity", args=[complaint.pk]),
            "severity_clear_url": reverse(
                "admin:complaints_complaint_severity_clear", args=[complaint.pk]
            ),
            "workflow_edges": edges,
            "complaint": complaint,
            "is_overdue": complaint.is_overdue(),
            "status_variant": STATUS_COLOURS.get(complaint.status) or "",
            "severity_variant": SEVERITY_COLOURS.get(complaint.severity) or "",
            "note_form": NoteForm() if can_change else None,
            "contact_form": desk.contact_form(complaint) if can_change else None,
            **desk.page_context(request, complaint, can_change=can_change),
            "note_url": reverse("admin:complaints_complaint_note", args=[complaint.pk]),
            "contact_url": reverse("admin:complaints_complaint_contact", args=[complaint.pk]),
            **complaint_panel_context(request, complaint),
            **self.take_context(request, complaint),
            "extension_panels": hooks.panels(request, complaint),
        }

    def _deadline_rows(self, complaint) -> list[dict]:
        """Each SLA deadline with what is left of it in the policy's working time."""
        now = timezone.now()
        clock = clock_for_policy(complaint.sla_policy, calendars_by_id())
        # Names of deadlines, not the buttons of the steps ("Resolve" the button is 标记为已解决).
        labels = {
            "ack": pgettext("deadline", "Acknowledge"),
            "response": pgettext("deadline", "First response"),
            "resolve": pgettext("deadline", "Resolve"),
        }
        rows = []
        for kind, due_field, warn_field, met_field in sla.KINDS:
            due, met = getattr(complaint, due_field), getattr(complaint, met_field)
            if due is None and met is None:
                continue
            row = {"label": labels[kind], "due": due, "warn": getattr(complaint, warn_field)}
            if met is not None:
                row.update(met=met, state="met" if due is None or met <= due else "late")
            elif complaint.sla_paused_at is not None or not complaint.is_open:
                row["state"] = "paused" if complaint.is_open else "stopped"
            elif due < now:
                row.update(
                    state="overdue", left=sla.format_duration(clock.between(due, now), clock)
                )
            else:
                row.update(
                    state="running", left=sla.format_duration(clock.between(now, due), clock)
                )
            rows.append(row)
        return rows

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/severity/",
                wrap(self.severity_view),
                name="complaints_complaint_severity",
            ),
            path(
                "<path:object_id>/severity/clear/",
                wrap(self.severity_clear_view),
                name="complaints_complaint_severity_clear",
            ),
            path(
                "<path:object_id>/transition/<str:target>/",
                wrap(self.transition_view),
                name="complaints_complaint_transition",
            ),
            path("<path:object_id>/note/", wrap(self.note_view), name="complaints_complaint_note"),
            path(
                "<path:object_id>/follow-up/",
                wrap(lambda request, object_id: desk.follow_up_view(self, request, object_id)),
                name="complaints_complaint_follow_up",
            ),
            path(
                "<path:object_id>/timeline/",
                wrap(lambda request, object_id: desk.timeline_view(self, request, object_id)),
                name="complaints_complaint_timeline",
            ),
            path(
                "<path:object_id>/contact/",
                wrap(self.contact_view),
                name="complaints_complaint_contact",
            ),
            *super().get_urls(),
        ]

    def _get_changeable(self, request, object_id) -> Complaint:
        complaint = self.get_object(request, object_id)
        if complaint is None:
            raise Http404
        if not self.has_change_permission(request, complaint):
            raise PermissionDenied
        return complaint

    def _change_url(self, complaint, anchor=""):
        return reverse("admin:complaints_complaint_change", args=[complaint.pk]) + anchor

    def _action_page(self, request, complaint, *, title, form, submit_label, error=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "complaint": complaint,
            "form": form,
            "submit_label": submit_label,
            "error": error,
            "change_url": self._change_url(complaint),
        }
        return TemplateResponse(request, "complaints/admin/action_form.html", context)

    def transition_view(self, request, object_id, target):
        complaint = self._get_changeable(request, object_id)
        edge = workflow.edge(complaint.status, target)
        if edge is None:
            messages.error(
                request,
                _("This step is no longer possible: the complaint is now “%(status)s”.")
                % {"status": complaint.get_status_display()},
            )
            return HttpResponseRedirect(self._change_url(complaint))
        title = f"{complaint.reference} · {edge.label}"
        if request.method != "POST":
            form = TransitionForm(
                edge=edge,
                user=request.user,
                complaint=complaint,
                initial={"version": complaint.version},
            )
            return self._action_page(
                request, complaint, title=title, form=form, submit_label=edge.label
            )
        form = TransitionForm(request.POST, edge=edge, user=request.user, complaint=complaint)
        if not form.is_valid():
            return self._action_page(
                request, complaint, title=title, form=form, submit_label=edge.label
            )
        try:
            lifecycle.transition(
                complaint.pk,
                target,
                user=request.user,
                note=form.cleaned_data.get("note", ""),
                expected_version=form.cleaned_data["version"],
                merge_into=form.cleaned_data.get("merge_into"),
                changes=form.changes(),
                follow_up_on=form.cleaned_data.get("follow_up_on"),
            )
        except ServiceError as exc:
            if isinstance(exc, StaleVersion):
                # Keep what was typed; confirming again applies it to the current state.
                data = request.POST.copy()
                data["version"] = Complaint.objects.get(pk=complaint.pk).version
                form = TransitionForm(data, edge=edge, user=request.user, complaint=complaint)
                form.is_valid()
            return self._action_page(
                request,
                complaint,
                title=title,
                form=form,
                submit_label=edge.label,
                error=exc.message,
            )
        messages.success(
            request,
            _("%(reference)s is now “%(status)s”.")
            % {"reference": complaint.reference, "status": Status(target).label},
        )
        return HttpResponseRedirect(self._change_url(complaint))

    def severity_view(self, request, object_id):
        complaint = self._get_changeable(request, object_id)
        title = f"{complaint.reference} · {_('Set severity by hand')}"
        if request.method != "POST":
            form = SeverityOverrideForm(
                initial={"version": complaint.version, "severity": complaint.severity}
            )
            return self._action_page(
                request, complaint, title=title, form=form, submit_label=_("Set severity")
            )
        form = SeverityOverrideForm(request.POST)
        error = None
        if form.is_valid():
            try:
                severity.override(
                    complaint.pk,
                    user=request.user,
                    severity=form.cleaned_data["severity"],
                    reason=form.cleaned_data["reason"],
                    expected_version=form.cleaned_data["version"],
                )
            except ServiceError as exc:
                error = exc.message
            else:
                messages.success(request, _("Severity set by hand."))
                return HttpResponseRedirect(self._change_url(complaint))
        return self._action_page(
            request, complaint, title=title, form=form, submit_label=_("Set severity"), error=error
        )

    def severity_clear_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        complaint = self._get_changeable(request, object_id)
        try:
            severity.clear_override(
                complaint.pk, user=request.user, expected_version=_int(request.POST.get("version"))
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The severity rules apply again."))
        return HttpResponseRedirect(self._change_url(complaint))

    def note_view(self, request, object_id):
        return desk.entry_view(self, request, object_id, kind="note")

    def contact_view(self, request, object_id):
        return desk.entry_view(self, request, object_id, kind="contact")


def timeline_events(complaint, *, before=None, limit=None) -> list[ComplaintEvent]:
    """The complaint's events, newest first, with what the alert entries need to read well.

    `before` (an event) and `limit` page through a long timeline by keyset (the timeline
    index), never by offset. Alert events get `alert_info` (the deadline, level and audience
    as text); assignments the deadline sweep made store user ids, which become names (one
    query for all of them)."""
    # A merged duplicate's history continues on the complaint it was merged into.
    merged = dict(complaint.merged_complaints.values_list("pk", "reference"))
    rows = ComplaintEvent.objects.filter(complaint_id__in=[complaint.pk, *merged])
    if before is not None:
        rows = rows.filter(
            Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
        )
    rows = rows.select_related("actor").order_by("-created_at", "-pk")
    events = list(rows[:limit] if limit else rows)
    user_ids = set()
    for event in events:
        if event.kind == ComplaintEvent.Kind.ASSIGNMENT and (event.data or {}).get("automatic"):
            user_ids.update(pk for pk in event.data.get("assignee") or [] if isinstance(pk, int))
    names = {}
    if user_ids:
        users = get_user_model().objects.filter(pk__in=user_ids)
        names = {u.pk: u.get_full_name() or u.get_username() for u in users}
    labels = _timeline_labels()
    for event in events:
        data = event.data or {}
        # What the template reads of every event is there (None when absent): a failed
        # template lookup costs a dir() of the object (dict, model instance) per miss.
        event.data = TemplateData(data) if isinstance(data, dict) else data
        event.alert_info = None
        event.automatic = False
        # What the timeline shows of the event's choices, looked up here in dicts built once
        # (get_FOO_display() builds a dict of all the choices per call: ~75 Python calls an
        # event, 15,000 for a page of 200; the status names were a template loop over all).
        event.kind_display = _display(labels["kind"], event.kind)
        event.contact_channel_display = _display(labels["contact_channel"], event.contact_channel)
        event.contact_direction_display = _display(
            labels["contact_direction"], event.contact_direction
        )
        event.from_status_label = labels["status"].get(event.from_status, "")
        event.to_status_label = labels["status"].get(event.to_status, "")
        event.from_reference = merged.get(event.complaint_id)
        if event.kind == ComplaintEvent.Kind.ALERT:
            event.alert_info = _alert_info(data)
        elif event.kind == ComplaintEvent.Kind.ASSIGNMENT and data.get("automatic"):
            old, new = (list(data.get("assignee") or []) + [None, None])[:2]
            event.data = TemplateData(assignee=[names.get(old, old), names.get(new, new)])
            event.automatic = True
            event.note = event.note or render(data.get("message"))  # the assignment's reason
    return events


class TemplateData(dict):
    """An event's `data` for the timeline template: a key it does not hold reads as None
    (what the template's failed lookup gave), without the failed lookup's dir() call. The
    template tries a key before an attribute: dict's own names (`items`) stay missing keys,
    so `data.items` is still the method."""

    def __missing__(self, key):
        if hasattr(dict, key):
            raise KeyError(key)
        return None


def _timeline_labels() -> dict:
    """The event fields' choices as get_FOO_display() reads them, and the status names, in
    the current language."""
    labels = {
        name: {
            make_hashable(value): force_str(label, strings_only=True)
            for value, label in ComplaintEvent._meta.get_field(name).flatchoices
        }
        for name in ("kind", "contact_channel", "contact_direction")
    }
    labels["status"] = {value: str(label) for value, label in Status.choices}
    return labels


def _display(choices: dict, value):
    """Model._get_FIELD_display(): the choice's label, else the value itself."""
    return force_str(choices.get(make_hashable(value), value), strings_only=True)


def _alert_info(data: dict) -> dict:
    Kind, Level = DeadlineAlert.Kind, DeadlineAlert.Level
    kind, level = data.get("kind"), data.get("level")
    deadline = parse_datetime(data.get("deadline") or "") if data.get("deadline") else None
    return {
        "kind": Kind(kind).label if kind in Kind.values else kind,
        "level": Level(level).label if level in Level.values else level,
        "is_crisis": kind == Kind.CRISIS,
        "deadline": timezone.localtime(deadline) if deadline else None,
        "recipients": data.get("recipients") or 0,
        "emails": data.get("emails") or 0,
        "alert": data.get("alert"),
    }


def _matched_customer_message(request, result) -> str | None:
    """Tell the agent when the new-customer details matched someone on file (defect 10): the
    complaint went to that customer, maybe under another name than the one typed."""
    if result is None or not result.matched or not result.entered.identifies:
        return None
    if not result.customer_was_visible or not can_read(request.user):
        # Another department's customer: say that a match happened, not who it is.
        return _(
            "The phone, email or external id entered belongs to a customer already on file; "
            "the complaint was recorded for that customer."
        )
    name = result.customer.name
    text = ngettext(
        "Matched existing customer %(name)s — %(count)d earlier complaint.",
        "Matched existing customer %(name)s — %(count)d earlier complaints.",
        result.earlier_complaints,
    ) % {"name": name, "count": result.earlier_complaints}
    entered = (result.entered.name or "").strip()
    if entered and entered != name:
        text += " " + _("The name entered (%(entered)s) was not used.") % {"entered": entered}
    return text


def pending_warning(complaint):
    """The warning point of the deadline `due_at` refers to (the earliest one not met)."""
    for kind in sla.KINDS:
        due_field, warn_field, met_field = kind[1], kind[2], kind[-1]
        if (
            getattr(complaint, met_field) is None
            and getattr(complaint, due_field) == complaint.due_at
        ):
            return getattr(complaint, warn_field)
    return None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _sees_pii(request) -> bool:
    return can_read(request.user)


def _masked(field):
    if isinstance(field, (tuple, list)):
        return tuple(_masked(f) for f in field)
    return "customer_masked" if field == "customer" else field
