from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..validators import validate_received_at
from .categories import Category
from .customers import Customer
from .organisation import Department
from .responsibility import Validity


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("Hotline")
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    CHAT = "chat", _("Online chat")
    SOCIAL = "social", _("Social media")
    LETTER = "letter", _("Letter")
    WALK_IN = "walk_in", _("Walk-in")
    API = "api", _("Other system (API)")


class Status(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Investigating")
    AWAITING_CUSTOMER = "awaiting_customer", _("Awaiting customer")
    SOLUTION_PROPOSED = "solution_proposed", _("Solution proposed")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")
    INVALID = "invalid", _("Invalid")
    MERGED = "merged", _("Merged")


OPEN_STATUSES = (
    Status.NEW,
    Status.ACKNOWLEDGED,
    Status.INVESTIGATING,
    Status.AWAITING_CUSTOMER,
    Status.SOLUTION_PROPOSED,
    Status.REOPENED,
)


class Severity(models.IntegerChoices):
    CRISIS = 1, _("1 · Crisis")
    MAJOR = 2, _("2 · Major")
    ELEVATED = 3, _("3 · Elevated")
    GENERAL = 4, _("4 · General")


class Fault(models.TextChoices):
    UNDETERMINED = "undetermined", _("Undetermined")
    OURS = "ours", _("Our fault")
    CUSTOMER = "customer", _("Customer")
    THIRD_PARTY = "third_party", _("Third party")
    FORCE_MAJEURE = "force_majeure", _("Force majeure")


class ComplaintQuerySet(models.QuerySet):
    def delete(self):
        raise ComplaintDeletionError()

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now=None):
        return self.open().filter(due_at__lt=now or timezone.now())


class ComplaintDeletionError(Exception):
    def __init__(self):
        super().__init__(
            str(_("Complaints are never deleted: close, mark invalid or merge them instead."))
        )


class Complaint(models.Model):
    reference = models.CharField(_("reference"), max_length=24, unique=True, editable=False)

    # Intake
    channel = models.CharField(_("channel"), max_length=16, choices=Channel)
    received_at = models.DateTimeField(
        _("received at"),
        default=timezone.now,
        validators=[validate_received_at],
        help_text=_("When the customer complained; may be earlier than when it was recorded."),
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="complaints",
        db_index=False,  # complaint_cust_recv_idx leads with it
    )
    subject = models.CharField(_("subject"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    desired_outcome = models.TextField(_("what the customer wants"), blank=True)
    item_ref = models.CharField(
        _("item reference"),
        max_length=200,
        blank=True,
        help_text=_("The product, order, property or site complained about."),
    )
    households_affected = models.PositiveIntegerField(
        _("households / customers affected"), default=1
    )
    media_risk = models.BooleanField(_("media risk"), default=False)
    litigation_risk = models.BooleanField(_("litigation risk"), default=False)

    # Assessment
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        db_index=False,  # complaint_cat_recv_idx leads with category_id
    )
    severity = models.PositiveSmallIntegerField(
        _("severity"), choices=Severity, default=Severity.GENERAL
    )
    # A stored message (complaints.messages) with its English text, or plain text (old rows).
    severity_reason = models.JSONField(
        _("why this severity"), blank=True, default=str, editable=False
    )
    severity_overridden = models.BooleanField(
        _("severity set by staff"),
        default=False,
        editable=False,
        help_text=_("While set, the severity rules do not change the level."),
    )
    needs_other_departments = models.BooleanField(
        _("needs other departments"),
        default=False,
        help_text=_("Handling needs help or expertise from other departments."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status, default=Status.NEW, editable=False
    )
    invalid_reason = models.TextField(_("reason for invalidity"), blank=True, editable=False)

    # Responsibility
    department = models.ForeignKey(
        Department,
        verbose_name=_("responsible department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        db_index=False,  # complaint_dept_recv_idx leads with department_id
    )
    assisting_departments = models.ManyToManyField(
        Department,
        verbose_name=_("assisting departments"),
        blank=True,
        related_name="assisted_complaints",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_complaints",
        db_index=False,  # complaint_asgn_recv_idx leads with assignee_id
    )
    fault = models.CharField(
        _("fault attribution"), max_length=16, choices=Fault, default=Fault.UNDETERMINED
    )
    root_cause = models.TextField(_("root cause"), blank=True)
    root_cause_category = models.ForeignKey(
        "complaints.RootCause",
        verbose_name=_("root-cause category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
    )
    validity = models.CharField(
        _("validity"), max_length=16, choices=Validity, default=Validity.UNDETERMINED
    )
    validity_reason = models.TextField(_("reason for the validity decision"), blank=True)
    finding = models.TextField(
        _("finding"), blank=True, help_text=_("What the investigation established.")
    )
    # No index: no query looks complaints up by who decided (only a user's deletion would,
    # and staff are deactivated, not deleted); every write of the row would pay one.
    responsibility_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsibility decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        db_index=False,
    )
    responsibility_decided_at = models.DateTimeField(
        _("responsibility decided at"), null=True, blank=True, editable=False
    )

    # Resolution
    solution = models.TextField(
        _("proposed solution"),
        blank=True,
        help_text=_("Apology, explanation, correction, compensation offered to the customer."),
    )
    resolution = models.TextField(
        _("resolution summary"), blank=True, help_text=_("What was done and what was agreed.")
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="merged_complaints",
    )

    # Clock
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, editable=False)
    first_response_at = models.DateTimeField(_("first response at"), null=True, editable=False)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, editable=False)
    ack_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True, editable=False)
    response_due_at = models.DateTimeField(
        _("first response by"), null=True, blank=True, editable=False
    )
    resolve_due_at = models.DateTimeField(_("resolve by"), null=True, blank=True, editable=False)
    due_at = models.DateTimeField(
        _("next deadline"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The earliest deadline still pending; empty when none applies."),
    )
    ack_warn_at = models.DateTimeField(_("acknowledge warning"), null=True, editable=False)
    response_warn_at = models.DateTimeField(_("first response warning"), null=True, editable=False)
    resolve_warn_at = models.DateTimeField(_("resolve warning"), null=True, editable=False)
    sla_policy = models.ForeignKey(
        "complaints.SLAPolicy",
        verbose_name=_("SLA policy"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="complaints",
    )
    resolve_clock_started_at = models.DateTimeField(
        _("resolution clock started"), null=True, editable=False
    )
    sla_paused_at = models.DateTimeField(_("clock paused since"), null=True, editable=False)
    # Finished pauses of the clock (awaiting customer) as [start, end] ISO pairs; deadlines
    # are computed from them on the current clock, so a policy change keeps them right.
    sla_pauses = models.JSONField(_("clock pauses"), default=list, editable=False)
    deadline_provisional = models.BooleanField(
        _("deadline provisional"),
        default=False,
        editable=False,
        help_text=_("A deadline falls in a year without holiday data (weekends only)."),
    )
    # The first alert point the deadline rules give (the earliest pending warning point, or
    # at once for a crisis); empty when nothing is pending. Where the sweep stands since, and
    # the escalation level, are in AlertSchedule (the database copies this value there
    # whenever the alert points may have moved).
    next_alert_at = models.DateTimeField(_("first reminder due"), null=True, editable=False)
    # The sweep could not process this complaint (an unreadable value, a bug): how often in a
    # row and the last error. It is retried with a growing delay, never in a hot loop; a
    # successful sweep clears both.
    alert_failures = models.PositiveSmallIntegerField(
        _("deadline sweep failures"), default=0, editable=False
    )
    alert_error = models.TextField(_("deadline sweep error"), blank=True, editable=False)
    reopened_count = models.PositiveSmallIntegerField(
        _("times reopened"), default=0, editable=False
    )
    # Working time on the SLA policy's clock (the deadlines' clock; the time the clock stood
    # while awaiting the customer left out), set by the services when the first response is
    # logged and when the complaint is resolved, so reports aggregate them in the database.
    first_response_work_seconds = models.PositiveIntegerField(
        _("working time to first response (s)"), null=True, blank=True, editable=False
    )
    resolution_work_seconds = models.PositiveIntegerField(
        _("working time to resolution (s)"), null=True, blank=True, editable=False
    )

    # Bookkeeping
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="recorded_complaints",
    )
    external_ref = models.CharField(
        _("reference in the sending system"), max_length=100, blank=True, editable=False
    )
    api_client = models.ForeignKey(
        "complaints.ApiClient",
        verbose_name=_("sent in by API client"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-pk"]
        permissions = [
            ("close_complaint", _("Can close complaints")),
            ("reopen_complaint", _("Can reopen complaints")),
            ("invalidate_complaint", _("Can mark complaints invalid")),
            ("merge_complaint", _("Can merge complaints")),
            ("override_severity", _("Can override the severity")),
            ("view_all_complaints", _("Can see the complaints of every department")),
            (
                "view_department_complaints",
                _("Can see the complaints of their departments (not only those they recorded)"),
            ),
        ]
        indexes = [
            # Serves the admin's default ordering incl. Django's pk tiebreak.
            models.Index(fields=["-received_at", "-id"], name="complaint_recv_desc_idx"),
            # Filtered lists: status / department / assignee queues in received order.
            models.Index(
                fields=["status", "-received_at", "-id"], name="complaint_status_recv_idx"
            ),
            models.Index(
                fields=["department", "-received_at", "-id"], name="complaint_dept_recv_idx"
            ),
            models.Index(
                fields=["assignee", "-received_at", "-id"], name="complaint_asgn_recv_idx"
            ),
            models.Index(fields=["category", "-received_at", "-id"], name="complaint_cat_recv_idx"),
            # A customer's complaints newest first: the search's customer part reads its first
            # page from this index alone (search.py), and it serves the foreign key.
            models.Index(
                fields=["customer", "-received_at", "-id"], name="complaint_cust_recv_idx"
            ),
            # A department's open work in received order (the API's and the admin's "open +
            # department" filters): only open rows, a few thousand per department at 5M. On
            # PostgreSQL it also INCLUDEs status and channel (migration 0031), for index-only
            # capped counts.
            models.Index(
                fields=["department", "-received_at", "-id"],
                name="complaint_open_dept_recv_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            # Overdue filter and (later) the deadline sweep: only open work.
            models.Index(
                fields=["due_at"],
                name="complaint_open_due_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            models.Index(fields=["item_ref", "category"], name="complaint_item_idx"),
            # Search box: the complaint's reference in the sending system.
            models.Index(
                fields=["external_ref"],
                name="complaint_external_ref_idx",
                condition=~Q(external_ref=""),
            ),
            # API: incremental sync by updated_at (cursor pagination with the pk tiebreak).
            models.Index(fields=["updated_at", "id"], name="complaint_updated_idx"),
            # The "deadline sweep failed" admin filter.
            models.Index(
                fields=["-alert_failures"],
                name="complaint_alert_failed_idx",
                condition=Q(alert_failures__gt=0),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__gte=1, severity__lte=4), name="complaint_severity_1_to_4"
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="complaint_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.MERGED) | Q(merged_into__isnull=False),
                name="complaint_merged_has_target",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("pk")), name="complaint_not_merged_into_self"
            ),
            models.CheckConstraint(
                condition=Q(households_affected__gte=1), name="complaint_households_at_least_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def delete(self, *args, **kwargs):
        raise ComplaintDeletionError()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < (now or timezone.now())


class ReferenceCounter(models.Model):
    """Last reference number handed out per year; incremented under a row lock."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("reference counter")
        verbose_name_plural = _("reference counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"
