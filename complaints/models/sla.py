"""Business calendars and SLA policies. The arithmetic lives in complaints/sla/clock.py."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .categories import Category
from .complaint import Severity
from .customers import Customer
from .responsibility import localized_name


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(tz)s” is not a known time zone."), params={"tz": value})


class BusinessCalendar(models.Model):
    """Working hours per weekday plus dated exceptions (holidays, moved working days)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    is_default = models.BooleanField(
        _("default calendar"), default=False, help_text=_("Used by new SLA policies.")
    )
    # Bumped by every change to the calendar, its hours or its exceptions, so that
    # in-process caches of the compiled calendar know when to reload.
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_calendar"
            )
        ]

    def __str__(self) -> str:
        return localized_name(self)


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WorkingInterval(models.Model):
    """One stretch of working time on a weekday; several per day allow a lunch break."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        on_delete=models.CASCADE,
        related_name="intervals",
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["calendar", "weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="interval_ends"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="interval_weekday_0_6"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class CalendarException(models.Model):
    """A holiday on a working weekday, or a working day on a weekend (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (no work)")
        WORKDAY = "workday", _("Working day (moved)")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by staff")
        CHINESE_CALENDAR = "chinesecalendar", _("chinesecalendar library")
        HOLIDAYS = "holidays", _("holidays library")

    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        on_delete=models.CASCADE,
        related_name="exceptions",
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind)
    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source, default=Source.MANUAL)

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="one_exception_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {localized_name(self)} ({self.get_kind_display()})"


class CalendarYear(models.Model):
    """A year whose holiday schedule is known for a calendar. Years without a row are
    computed with weekends only and the deadlines they produce are marked provisional."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        on_delete=models.CASCADE,
        related_name="years",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    source = models.CharField(
        _("source"),
        max_length=16,
        choices=CalendarException.Source,
        default=CalendarException.Source.MANUAL,
    )
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("year with holiday data")
        verbose_name_plural = _("years with holiday data")
        ordering = ["calendar", "year"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "year"], name="one_row_per_calendar_year"),
        ]

    def __str__(self) -> str:
        return f"{self.calendar} {self.year}"


class DurationUnit(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")


class SLAPolicy(models.Model):
    """Response-time targets for a severity, optionally narrowed by category and tier.

    Durations count working time on `calendar`, or wall-clock time (24x7) without one. A
    day on a calendar is its normal working hours of one day."""

    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Applies to this category and its subcategories; empty for all."),
    )
    customer_tier = models.CharField(
        _("customer tier"),
        max_length=16,
        choices=Customer.Tier,
        blank=True,
        help_text=_("Empty for all tiers."),
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("business calendar"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty: the clock runs around the clock (24x7), e.g. for crises."),
    )
    ack_amount = models.PositiveIntegerField(_("acknowledge within"))
    ack_unit = models.CharField(_("unit"), max_length=8, choices=DurationUnit)
    response_amount = models.PositiveIntegerField(_("first response within"))
    response_unit = models.CharField(_("unit"), max_length=8, choices=DurationUnit)
    resolve_amount = models.PositiveIntegerField(_("resolve within"))
    resolve_unit = models.CharField(_("unit"), max_length=8, choices=DurationUnit)
    warning_percent = models.PositiveSmallIntegerField(
        _("warning point, percent of the allowed time"), default=75
    )
    escalation_delay_percent = models.PositiveSmallIntegerField(
        _("second escalation after, percent of the allowed time"),
        default=50,
        help_text=_(
            "Still not done this long after a missed deadline: the complaint managers are told."
        ),
    )
    reassign_on_breach = models.BooleanField(
        _("reassign to the department head on a missed deadline"), default=False
    )
    active = models.BooleanField(_("active"), default=True)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["severity", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["severity", "customer_tier"],
                condition=Q(category__isnull=True, active=True),
                name="sla_one_policy_per_severity_tier",
            ),
            models.UniqueConstraint(
                fields=["severity", "category", "customer_tier"],
                condition=Q(category__isnull=False, active=True),
                name="sla_one_policy_per_severity_category_tier",
            ),
            models.CheckConstraint(
                condition=Q(warning_percent__gte=1, warning_percent__lte=99),
                name="sla_warning_percent_1_99",
            ),
            models.CheckConstraint(
                condition=Q(ack_amount__gte=1, response_amount__gte=1, resolve_amount__gte=1),
                name="sla_durations_positive",
            ),
        ]

    def __str__(self) -> str:
        return localized_name(self)
