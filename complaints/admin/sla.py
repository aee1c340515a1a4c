"""Business calendars, their exceptions and the SLA policies.

Every change here can move deadlines: the admin saves, then marks the calendar changed
(`touch_calendar`, which invalidates compiled copies) and schedules the recomputation of the
open complaints it affects (`schedule_recompute`: a background job run after commit, its
progress under "Deadline recomputations"); the request itself touches no complaint.
"""

from datetime import date

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count, Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from ..messages import names, stored
from ..models import (
    BusinessCalendar,
    CalendarException,
    CalendarYear,
    DurationUnit,
    SLAPolicy,
    Weekday,
    WorkingInterval,
)
from ..services.calendars import touch_calendar
from ..services.recompute import schedule_recompute
from .bilingual import BilingualNameMixin
from .jobs import report_jobs

# -- helpers ---------------------------------------------------------------------------------


def format_years(years) -> str:
    """2019, 2021, 2022, 2023 -> "2019, 2021–2023"."""
    years = sorted(set(years))
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][1] + 1:
            runs[-1][1] = year
        else:
            runs.append([year, year])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def format_duration(amount: int, unit: str, *, working: bool) -> str:
    """ "4 working hours", "3 working days", "24 hours"."""
    if working:
        if unit == DurationUnit.MINUTES:
            text = ngettext("%(n)d working minute", "%(n)d working minutes", amount)
        elif unit == DurationUnit.HOURS:
            text = ngettext("%(n)d working hour", "%(n)d working hours", amount)
        else:
            text = ngettext("%(n)d working day", "%(n)d working days", amount)
    elif unit == DurationUnit.MINUTES:
        text = ngettext("%(n)d minute", "%(n)d minutes", amount)
    elif unit == DurationUnit.HOURS:
        text = ngettext("%(n)d hour", "%(n)d hours", amount)
    else:
        text = ngettext("%(n)d day", "%(n)d days", amount)
    return text % {"n": amount}


def calendar_changed(calendar_ids, *, reason: str, request) -> list:
    """Invalidate the compiled calendars; schedule the recomputation of their deadlines."""
    jobs = []
    for calendar_id in sorted({pk for pk in calendar_ids if pk is not None}):
        touch_calendar(calendar_id)
        jobs.append(schedule_recompute(reason=reason, calendar_id=calendar_id, actor=request.user))
    return jobs


class ProtectedFirst:
    """On the delete page, say that protected rows block the deletion.

    Django lists the protected rows' types as "permission lacking" too when their admin
    refuses deletion (complaints are never deleted), and that message wins; it misleads
    here: nobody may delete a policy that complaints use."""

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            perms_needed = set()  # the deletion is refused for the protected rows anyway
        return to_delete, model_count, perms_needed, protected


# -- business calendars ----------------------------------------------------------------------


class WorkingIntervalFormSet(forms.BaseInlineFormSet):
    """The clock needs sorted, non-overlapping intervals and some working time at all."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        by_day: dict[int, list[tuple]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            weekday, start, end = data.get("weekday"), data.get("start"), data.get("end")
            if weekday is None or start is None or end is None:
                continue
            if end <= start:
                form.add_error("end", _("The end must be later than the start."))
                continue
            by_day.setdefault(weekday, []).append((start, end))
        if any(self.errors):
            return
        if not by_day:
            raise forms.ValidationError(
                _("A calendar needs working hours on at least one weekday.")
            )
        for weekday, intervals in sorted(by_day.items()):
            intervals.sort()
            for (_s1, end1), (start2, _e2) in zip(intervals, intervals[1:], strict=False):
                if start2 < end1:
                    raise forms.ValidationError(
                        _("The working hours on %(weekday)s overlap.")
                        % {"weekday": Weekday(weekday).label}
                    )


class WorkingIntervalInline(TabularInline):
    model = WorkingInterval
    formset = WorkingIntervalFormSet
    fields = ("weekday", "start", "end")
    extra = 0
    min_num = 1


class CalendarYearInline(TabularInline):
    """The years whose holidays are known; filled by `manage.py load_holidays`."""

    model = CalendarYear
    fields = ("year", "source", "loaded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("year",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ("name", "name_en", "code", "time_zone", "is_default")

    def clean_is_default(self):
        is_default = self.cleaned_data["is_default"]
        if is_default:
            other = (
                BusinessCalendar.objects.filter(is_default=True)
                .exclude(pk=self.instance.pk)
                .first()
            )
            if other is not None:
                raise forms.ValidationError(
                    _("“%(name)s” is the default calendar; untick it there first.")
                    % {"name": other}
                )
        return is_default


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(BilingualNameMixin, ProtectedFirst, ModelAdmin):
    form = BusinessCalendarForm
    list_display = (
        "display_name",
        "code",
        "time_zone",
        "is_default",
        "years_with_data",
        "exception_count",
    )
    search_fields = ("name", "name_en", "code")
    fields = ("name", "name_en", "code", "time_zone", "is_default", "exceptions_link")
    readonly_fields = ("exceptions_link",)
    inlines = [WorkingIntervalInline, CalendarYearInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_exceptions=Count("exceptions"))
            .prefetch_related(
                Prefetch(
                    "years", queryset=CalendarYear.objects.only("calendar_id", "year").order_by()
                )
            )
        )

    @display(description=gettext_lazy("years with holiday data"))
    def years_with_data(self, obj):
        return format_years(row.year for row in obj.years.all()) or "—"

    @display(description=gettext_lazy("exceptions"), ordering="_exceptions")
    def exception_count(self, obj):
        return obj._exceptions

    @display(description=gettext_lazy("holidays and moved working days"))
    def exceptions_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:complaints_calendarexception_changelist")
        count = getattr(obj, "_exceptions", None)
        if count is None:
            count = obj.exceptions.count()
        label = ngettext("%(count)d day", "%(count)d days", count) % {"count": count}
        return format_html('<a href="{}?calendar__id__exact={}">{}</a>', url, obj.pk, label)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The calendar row and its hours are both saved now.
        calendar = form.instance
        if change and not form.has_changed() and not any(f.has_changed() for f in formsets):
            return
        jobs = calendar_changed(
            [calendar.pk],
            reason=stored(
                gettext_noop("Business calendar “%(name)s” changed."), name=names(calendar)
            ),
            request=request,
        )
        report_jobs(self, request, jobs)

    def delete_model(self, request, obj):
        pk, name = obj.pk, names(obj)
        super().delete_model(request, obj)
        calendar_changed(
            [pk],
            reason=stored(gettext_noop("Business calendar “%(name)s” deleted."), name=name),
            request=request,
        )

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            deleted = [(c.pk, names(c)) for c in queryset]
            super().delete_queryset(request, queryset)
            for pk, name in deleted:
                calendar_changed(
                    [pk],
                    reason=stored(gettext_noop("Business calendar “%(name)s” deleted."), name=name),
                    request=request,
                )


# -- calendar exceptions ---------------------------------------------------------------------


class ExceptionYearFilter(admin.SimpleListFilter):
    title = gettext_lazy("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = CalendarException.objects.dates("date", "year", order="DESC")
        return [(str(d.year), str(d.year)) for d in years]

    def queryset(self, request, queryset):
        try:
            year = int(self.value() or "")
        except ValueError:
            return queryset
        if not 1 <= year <= 9999:
            return queryset.none()
        return queryset.filter(date__range=(date(year, 1, 1), date(year, 12, 31)))


@admin.register(CalendarException)
class CalendarExceptionAdmin(BilingualNameMixin, ModelAdmin):
    list_display = ("date", "weekday", "kind", "display_name", "source", "calendar")
    list_display_links = ("date", "display_name")
    list_filter = ("calendar", "kind", "source", ExceptionYearFilter)
    list_select_related = ("calendar",)
    search_fields = ("name", "name_en")
    ordering = ("date", "calendar")
    fields = ("calendar", "date", "kind", "name", "name_en", "source")
    readonly_fields = ("source",)
    autocomplete_fields = ("calendar",)

    @display(description=gettext_lazy("weekday"))
    def weekday(self, obj):
        return Weekday(obj.date.weekday()).label

    def save_model(self, request, obj, form, change):
        # A day staff entered or corrected is theirs: load_holidays never overwrites it.
        obj.source = CalendarException.Source.MANUAL
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        affected = [obj.calendar_id]
        if change and "calendar" in form.changed_data:
            affected.append(form.initial.get("calendar"))  # moved away from this calendar
        jobs = calendar_changed(
            affected,
            reason=stored(
                gettext_noop("Calendar day %(date)s (%(name)s) changed."),
                date=str(obj.date),
                name=names(obj),
            ),
            request=request,
        )
        report_jobs(self, request, jobs)

    def delete_model(self, request, obj):
        calendar_id, day, name = obj.calendar_id, obj.date, names(obj)
        super().delete_model(request, obj)
        jobs = calendar_changed(
            [calendar_id],
            reason=stored(
                gettext_noop("Calendar day %(date)s (%(name)s) deleted."), date=str(day), name=name
            ),
            request=request,
        )
        report_jobs(self, request, jobs)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            calendar_ids = set(queryset.values_list("calendar_id", flat=True))
            super().delete_queryset(request, queryset)
            jobs = calendar_changed(
                calendar_ids, reason=stored(gettext_noop("Calendar days deleted.")), request=request
            )
        report_jobs(self, request, jobs)


# -- SLA policies ----------------------------------------------------------------------------


class SLAPolicyForm(forms.ModelForm):
    class Meta:
        model = SLAPolicy
        fields = (
            "name",
            "name_en",
            "severity",
            "category",
            "customer_tier",
            "calendar",
            "ack_amount",
            "ack_unit",
            "response_amount",
            "response_unit",
            "resolve_amount",
            "resolve_unit",
            "warning_percent",
            "escalation_delay_percent",
            "reassign_on_breach",
            "active",
        )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("active") or cleaned.get("severity") is None:
            return cleaned
        clash = (
            SLAPolicy.objects.filter(
                active=True,
                severity=cleaned["severity"],
                category=cleaned.get("category"),
                customer_tier=cleaned.get("customer_tier") or "",
            )
            .exclude(pk=self.instance.pk)
            .first()
        )
        if clash is not None:
            raise forms.ValidationError(
                _(
                    "The active policy “%(name)s” already covers this severity, category and "
                    "customer tier; deactivate it first."
                )
                % {"name": clash}
            )
        return cleaned


@admin.register(SLAPolicy)
class SLAPolicyAdmin(BilingualNameMixin, ProtectedFirst, ModelAdmin):
    form = SLAPolicyForm
    list_display = (
        "display_name",
        "severity",
        "category",
        "customer_tier",
        "clock",
        "acknowledge",
        "first_response",
        "resolve",
        "warning",
        "escalation",
        "active",
    )
    list_filter = ("active", "severity", "calendar")
    list_select_related = ("category", "calendar")
    search_fields = ("name", "name_en")
    autocomplete_fields = ("category", "calendar")
    fieldsets = (
        (None, {"fields": ("name", "severity", "category", "customer_tier", "active")}),
        (
            gettext_lazy("Deadlines"),
            {
                "fields": (
                    "calendar",
                    ("ack_amount", "ack_unit"),
                    ("response_amount", "response_unit"),
                    ("resolve_amount", "resolve_unit"),
                    "warning_percent",
                )
            },
        ),
        (
            gettext_lazy("Escalation"),
            {
                "description": gettext_lazy(
                    "A missed deadline goes to the department head at once (level 1) and, if "
                    "still not done after the given share of the allowed time, to the "
                    "complaint managers (level 2)."
                ),
                "fields": ("escalation_delay_percent", "reassign_on_breach"),
            },
        ),
    )

    @display(description=gettext_lazy("clock"), ordering="calendar__name")
    def clock(self, obj):
        return str(obj.calendar) if obj.calendar_id else _("24x7")

    def _duration(self, obj, prefix):
        return format_duration(
            getattr(obj, f"{prefix}_amount"),
            getattr(obj, f"{prefix}_unit"),
            working=obj.calendar_id is not None,
        )

    @display(description=gettext_lazy("acknowledge"))
    def acknowledge(self, obj):
        return self._duration(obj, "ack")

    @display(description=gettext_lazy("first response"))
    def first_response(self, obj):
        return self._duration(obj, "response")

    @display(description=gettext_lazy("resolve"))
    def resolve(self, obj):
        return self._duration(obj, "resolve")

    @display(description=gettext_lazy("warning"), ordering="warning_percent")
    def warning(self, obj):
        return f"{obj.warning_percent} %"

    @display(description=gettext_lazy("escalation"), ordering="escalation_delay_percent")
    def escalation(self, obj):
        text = _("level 2 after +%(percent)d %%") % {"percent": obj.escalation_delay_percent}
        if obj.reassign_on_breach:
            text = _("%(text)s, reassigns") % {"text": text}
        return text

    def save_model(self, request, obj, form, change):
        obj.changed_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        if change and not form.has_changed():
            return
        severities = {obj.severity}
        if change and "severity" in form.changed_data:
            severities.add(form.initial.get("severity"))
        reason = stored(gettext_noop("SLA policy “%(name)s” changed."), name=names(obj))
        self._recompute(request, severities, reason)

    def delete_model(self, request, obj):
        severity, name = obj.severity, names(obj)
        super().delete_model(request, obj)
        self._recompute(
            request, {severity}, stored(gettext_noop("SLA policy “%(name)s” deleted."), name=name)
        )

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            severities = set(queryset.values_list("severity", flat=True))
            super().delete_queryset(request, queryset)
            self._recompute(request, severities, _("SLA policies deleted."))

    def _recompute(self, request, severities, reason: str) -> None:
        jobs = [
            schedule_recompute(reason=reason, severity=severity, actor=request.user)
            for severity in sorted(s for s in severities if s is not None)
        ]
        report_jobs(self, request, jobs)
