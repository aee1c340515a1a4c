"""Summary tables behind the dashboard, and the stored monthly department reports."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Category, Department, RootCause

from .kpis import FRT_BUCKETS, MEASURES, TTR_BUCKETS


class Level(models.IntegerChoices):
    """Which dimensions a summary row keeps (the others are empty, summed over)."""

    DAY = 1, _("day")
    SEVERITY = 2, _("day × severity")
    CATEGORY = 3, _("day × category")
    CHANNEL = 4, _("day × channel")
    DEPARTMENT = 5, _("day × department")
    ROOT_CAUSE = 6, _("day × root cause")
    DEPARTMENT_CATEGORY = 10, _("day × department × category")
    DEPARTMENT_CHANNEL = 11, _("day × department × channel")
    DEPARTMENT_SEVERITY = 12, _("day × department × severity")
    DEPARTMENT_ROOT_CAUSE = 13, _("day × department × root cause")
    CATEGORY_CHANNEL = 14, _("day × category × channel")
    CATEGORY_SEVERITY = 15, _("day × category × severity")
    CATEGORY_ROOT_CAUSE = 16, _("day × category × root cause")
    CHANNEL_SEVERITY = 17, _("day × channel × severity")
    CHANNEL_ROOT_CAUSE = 18, _("day × channel × root cause")
    SEVERITY_ROOT_CAUSE = 19, _("day × severity × root cause")


DIMENSIONS = ("department_id", "category_id", "channel", "severity", "root_cause_id")
# The measures the league table needs (and what the pairs and the root causes kept before).
NARROW_MEASURES = (
    "received",
    "valid",
    "closed",
    "ack_measured",
    "ack_on_time",
    "resolve_measured",
    "resolve_on_time",
    "open",
    "csat_measured",
    "csat_satisfied",
)
# The measures the pairs of filter dimensions keep: every measure but the duration
# histograms (40 of the 60 columns), so that the cards (with the period before) and the open
# backlog with any two filters are read from the summaries; the histograms behind their
# percentiles are counted from the complaints' covering index (reporting.queries).
PAIR_MEASURES = tuple(m for m in MEASURES if m not in (*FRT_BUCKETS, *TTR_BUCKETS))
# The root-cause levels serve the chart of root causes among valid complaints only.
ROOT_CAUSE_MEASURES = ("received", "valid")
_D, _C, _CH, _S, _R = DIMENSIONS
# level: (dimensions kept, measures kept, level it is summed from or None: the complaints).
# The day and single-dimension levels keep every measure of reporting.kpis (the root cause
# only its chart's), and so does category × channel (it did before the other pairs kept
# more than the narrow ones). No level keeps three dimensions or more: at day grain such a
# level holds about one row per complaint (it is as large as the complaint table and as slow
# to write); figures that would need one are aggregated from the complaints.
LEVELS = {
    Level.SEVERITY: ((_S,), MEASURES, None),
    Level.CATEGORY: ((_C,), MEASURES, None),
    Level.CHANNEL: ((_CH,), MEASURES, None),
    Level.DEPARTMENT: ((_D,), MEASURES, None),
    Level.DAY: ((), MEASURES, Level.SEVERITY),
    Level.ROOT_CAUSE: ((_R,), ROOT_CAUSE_MEASURES, None),
    Level.DEPARTMENT_CATEGORY: ((_D, _C), PAIR_MEASURES, None),
    Level.DEPARTMENT_CHANNEL: ((_D, _CH), PAIR_MEASURES, None),
    Level.DEPARTMENT_SEVERITY: ((_D, _S), PAIR_MEASURES, None),
    Level.DEPARTMENT_ROOT_CAUSE: ((_D, _R), ROOT_CAUSE_MEASURES, None),
    Level.CATEGORY_CHANNEL: ((_C, _CH), MEASURES, None),
    Level.CATEGORY_SEVERITY: ((_C, _S), PAIR_MEASURES, None),
    Level.CATEGORY_ROOT_CAUSE: ((_C, _R), ROOT_CAUSE_MEASURES, None),
    Level.CHANNEL_SEVERITY: ((_CH, _S), PAIR_MEASURES, None),
    Level.CHANNEL_ROOT_CAUSE: ((_CH, _R), ROOT_CAUSE_MEASURES, None),
    Level.SEVERITY_ROOT_CAUSE: ((_S, _R), ROOT_CAUSE_MEASURES, None),
}


def _dimension(model, name):
    return models.ForeignKey(
        model,
        verbose_name=name,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
    )


class DailySummary(models.Model):
    """Sums of the measures in reporting.kpis over the complaints received on one local day,
    per cell of the dimensions kept at its level. Rebuilt and refreshed by
    reporting.services.summaries only."""

    day = models.DateField(_("day received"))
    level = models.PositiveSmallIntegerField(_("level"), choices=Level)
    department = _dimension(Department, _("department"))
    category = _dimension(Category, _("category"))
    channel = models.CharField(_("channel"), max_length=16, null=True)
    severity = models.PositiveSmallIntegerField(_("severity"), null=True)
    root_cause = _dimension(RootCause, _("root cause"))

    # NARROW_MEASURES: kept at every level but the root causes (0 there: not read).
    received = models.IntegerField(default=0, db_default=0)
    valid = models.IntegerField(default=0, db_default=0)
    closed = models.IntegerField(default=0, db_default=0)
    ack_measured = models.IntegerField(default=0, db_default=0)
    ack_on_time = models.IntegerField(default=0, db_default=0)
    resolve_measured = models.IntegerField(default=0, db_default=0)
    resolve_on_time = models.IntegerField(default=0, db_default=0)
    open = models.IntegerField(default=0, db_default=0)
    csat_measured = models.IntegerField(default=0, db_default=0)
    csat_satisfied = models.IntegerField(default=0, db_default=0)
    # The other measures: kept at the full levels only, empty (NULL: a bit in the row header
    # instead of 4 or 8 bytes) at the narrow levels, which hold nearly all the rows.
    ever_resolved = models.IntegerField(null=True)
    reopened = models.IntegerField(null=True)
    frt_count = models.IntegerField(null=True)
    frt_seconds = models.BigIntegerField(null=True)
    ttr_count = models.IntegerField(null=True)
    ttr_seconds = models.BigIntegerField(null=True)
    compensated = models.IntegerField(null=True)
    compensation_cents = models.BigIntegerField(null=True)
    repeated = models.IntegerField(null=True)
    overdue = models.IntegerField(null=True)

    class Meta:
        verbose_name = _("daily summary")
        verbose_name_plural = _("daily summaries")
        indexes = [
            # Every dashboard query: one level, a range of days; narrowed to one or some
            # departments (department heads) or categories, the two next ones.
            models.Index(fields=["level", "day"], name="summary_level_day_idx"),
            # (partial: the levels without the dimension need no entries; fewer to write)
            models.Index(
                fields=["level", "department", "day"],
                name="summary_level_dept_idx",
                condition=Q(department__isnull=False),
            ),
            models.Index(
                fields=["level", "category", "day"],
                name="summary_level_cat_idx",
                condition=Q(category__isnull=False),
            ),
            # The open backlog by age (and the overdue count) sums every day of history:
            # only the rows with open complaints (a few percent: recent days and the odd
            # stale complaint), keyed by every filter dimension, so that a pair of filters
            # reads its own few rows instead of all the rows of one of its dimensions
            # (1M, department + category: 22,000 rows over 9,300 pages).
            models.Index(
                fields=["level", "department", "category", "channel", "severity"],
                name="summary_open_idx",
                condition=Q(open__gt=0),
            ),
        ]
        permissions = [
            ("view_dashboard", _("Can see the reporting dashboard and KPIs")),
            ("rebuild_summaries", _("Can rebuild the reporting summaries")),
        ]

    def __str__(self) -> str:
        return f"{self.day} L{self.level}"


for _name in (*FRT_BUCKETS, *TTR_BUCKETS):
    DailySummary.add_to_class(_name, models.IntegerField(null=True))


class CountedComplaint(models.Model):
    """The day each complaint is counted on in the summaries, so that a refresh also
    recomputes the day a complaint moved away from (its time received was corrected)."""

    complaint_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()

    class Meta:
        verbose_name = _("counted complaint")
        verbose_name_plural = _("counted complaints")

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.day}"


class SummaryState(models.Model):
    """One row: how far the summaries are current. Its row lock serialises refresh and
    rebuild."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    refreshed_at = models.DateTimeField(_("current up to"), null=True, blank=True)
    rebuilt_at = models.DateTimeField(_("last full rebuild"), null=True, blank=True)
    rebuild_seconds = models.FloatField(_("rebuild took (s)"), null=True, blank=True)
    refresh_seconds = models.FloatField(_("last refresh took (s)"), null=True, blank=True)
    refreshed_days = models.PositiveIntegerField(
        _("days recomputed by the last refresh"), default=0
    )
    rebuild_started_at = models.DateTimeField(_("rebuild started"), null=True, blank=True)
    rebuild_months_done = models.PositiveIntegerField(_("months rebuilt"), default=0)
    rebuild_months_total = models.PositiveIntegerField(_("months to rebuild"), default=0)
    # New whenever summary rows were written: the dashboard cache's key.
    version = models.UUIDField(null=True, editable=False)

    class Meta:
        verbose_name = _("summary state")
        verbose_name_plural = _("summary state")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="summary_state_single_row")]

    def __str__(self) -> str:
        return str(self.refreshed_at)


class MonthlyReport(models.Model):
    """The monthly department report for one calendar month (generating it again replaces
    its content; the row, and the emails already sent for it, stay)."""

    month = models.DateField(_("month"), unique=True, help_text=_("The first day of the month."))
    generated_at = models.DateTimeField(_("generated at"), default=timezone.now)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("generated by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the monthly schedule."),
    )
    # {"departments": [row, ...], "total": row}; a row holds the figures of
    # services.reports.ROW_FIELDS plus "department_id", "department", "top_causes".
    data = models.JSONField(_("figures"), default=dict)

    class Meta:
        verbose_name = _("monthly department report")
        verbose_name_plural = _("monthly department reports")
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(condition=Q(month__day=1), name="monthly_report_first_of_month")
        ]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")


class ReportDelivery(models.Model):
    """The report emailed to one department head: one row per (report, person), so a report
    generated again is never mailed to the same person twice."""

    class Delivery(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (retries exhausted)")

    report = models.ForeignKey(
        MonthlyReport,
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField(_("email address"))
    delivery = models.CharField(
        _("email delivery"), max_length=8, choices=Delivery, default=Delivery.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("report email")
        verbose_name_plural = _("report emails")
        ordering = ["report", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], name="one_report_email_per_person")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="report_delivery_due_idx",
                condition=Q(delivery__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.report} → {self.email}"
