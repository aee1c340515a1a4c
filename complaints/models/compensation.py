"""Remedies and compensation (解决方案 / 补偿) under an approval authority matrix (分级审批).

Money is `DecimalField` plus a currency code; nothing here is ever deleted (a compensation is
rejected or cancelled, a plan is revised), and every change goes through
`complaints.services.compensation`, which writes the complaint's timeline.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .complaint import Complaint
from .customers import Customer
from .organisation import Department

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class Currency(models.TextChoices):
    CNY = "CNY", _("CNY (Chinese yuan)")
    HKD = "HKD", _("HKD (Hong Kong dollar)")
    USD = "USD", _("USD (US dollar)")
    EUR = "EUR", _("EUR (euro)")


class NotDeletable(Exception):
    pass


class NoDeleteQuerySet(models.QuerySet):
    def delete(self):
        raise NotDeletable("Remedies and compensations are never deleted: cancel them.")


class CompensationKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    REPLACEMENT = "replacement", _("Replacement / exchange")
    REPAIR = "repair", _("Repair")
    DISCOUNT = "discount", _("Discount")
    VOUCHER = "voucher", _("Coupon / voucher")
    GIFT = "gift", _("Gift")
    ACCOUNT_CREDIT = "account_credit", _("Account credit")
    CASH = "cash", _("Cash")
    EXTRA_SERVICE = "extra_service", _("Extra service")


# Kinds paid out as money; the others are goods or services whose amount is an estimate.
MONETARY_KINDS = frozenset(
    {
        CompensationKind.REFUND,
        CompensationKind.DISCOUNT,
        CompensationKind.ACCOUNT_CREDIT,
        CompensationKind.CASH,
        CompensationKind.VOUCHER,
    }
)


class Compensation(models.Model):
    """One compensation granted (or proposed) to the customer of a complaint.

    proposed → approved | rejected;  approved → fulfilled;  proposed | approved → cancelled.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        FULFILLED = "fulfilled", _("Paid / fulfilled")
        CANCELLED = "cancelled", _("Cancelled")

    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.PROTECT,
        related_name="compensations",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CompensationKind)
    amount = models.DecimalField(
        _("amount"),
        **MONEY,
        help_text=_("For goods and services (replacement, repair, gift…) the estimated value."),
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency, default=Currency.CNY)
    description = models.TextField(_("description"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.PROPOSED, editable=False
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved / rejected by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    decision_note = models.TextField(_("reason for the decision"), blank=True, editable=False)
    fulfilled_at = models.DateTimeField(
        _("paid / fulfilled at"), null=True, blank=True, editable=False
    )
    fulfilled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("paid / fulfilled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    payout_reference = models.CharField(
        _("payout reference"),
        max_length=100,
        blank=True,
        editable=False,
        help_text=_("Transaction, voucher or delivery number of the payout."),
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True, editable=False)
    incident_remedy = models.ForeignKey(
        "complaints.IncidentRemedy",
        verbose_name=_("incident remedy"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="compensations",
    )
    # Set when the approval waited too long and was escalated (once).
    approval_escalated_at = models.DateTimeField(
        _("approval escalated at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        ordering = ["-proposed_at", "-pk"]
        permissions = [
            ("approve_compensation", _("Can approve or reject compensations (within a limit)")),
            ("fulfil_compensation", _("Can record compensations as paid / fulfilled")),
        ]
        indexes = [
            # The "awaiting approval" queue and the approval escalation sweep.
            models.Index(
                fields=["proposed_at", "id"],
                name="comp_awaiting_idx",
                condition=Q(status="proposed"),
            ),
            # Approved but not yet paid: the payout queue.
            models.Index(
                fields=["decided_at", "id"],
                name="comp_to_pay_idx",
                condition=Q(status="approved"),
            ),
            models.Index(fields=["complaint", "status"], name="comp_complaint_idx"),
            # API: incremental sync by updated_at (cursor with the pk tiebreak).
            models.Index(fields=["updated_at", "id"], name="comp_updated_idx"),
            # Monthly totals of granted compensation.
            models.Index(fields=["decided_at"], name="comp_decided_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="comp_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(
                    status__in=["proposed", "approved", "rejected", "fulfilled", "cancelled"]
                ),
                name="comp_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=CompensationKind.values), name="comp_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(currency__in=Currency.values), name="comp_currency_valid"
            ),
            # Four-eyes, in the database: whoever decides is not who proposed.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="comp_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "rejected", "fulfilled"])
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="comp_decision_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(status="fulfilled") | Q(fulfilled_at__isnull=False),
                name="comp_fulfilled_dated",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | Q(cancelled_at__isnull=False),
                name="comp_cancelled_dated",
            ),
            # Applying an incident remedy twice creates nothing new.
            models.UniqueConstraint(
                fields=["incident_remedy", "complaint"],
                name="comp_one_per_incident_remedy",
                condition=Q(incident_remedy__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"

    def delete(self, *args, **kwargs):
        raise NotDeletable("Compensations are never deleted: cancel them.")

    @property
    def is_estimate(self) -> bool:
        return self.kind not in MONETARY_KINDS


# Statuses whose amounts count against the per-complaint limit and into the totals.
GRANTED = (Compensation.Status.APPROVED, Compensation.Status.FULFILLED)


class ApprovalLimit(models.Model):
    """One row of the authority matrix: members of `group` may approve up to these amounts,
    for complaints of `department` (or of any department when empty)."""

    group = models.ForeignKey(
        "auth.Group", verbose_name=_("role"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: complaints of every department the person can see."),
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency, default=Currency.CNY)
    max_per_compensation = models.DecimalField(_("maximum per compensation"), **MONEY)
    max_per_complaint = models.DecimalField(
        _("maximum per complaint in total"),
        **MONEY,
        help_text=_("All approved and paid compensation of one complaint, this one included."),
    )
    active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval limit")
        verbose_name_plural = _("approval limits (authority matrix)")
        ordering = ["currency", "max_per_compensation", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_per_compensation__gte=0), name="limit_per_comp_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(max_per_complaint__gte=F("max_per_compensation")),
                name="limit_complaint_covers_one",
            ),
            models.UniqueConstraint(
                fields=["group", "department", "currency"],
                name="limit_one_per_group_department",
                condition=Q(department__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["group", "currency"],
                name="limit_one_per_group_anywhere",
                condition=Q(department__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        where = self.department or _("all departments")
        return f"{self.group} · {where} · ≤ {self.max_per_compensation} {self.currency}"

    def delete(self, *args, **kwargs):
        raise NotDeletable("Limits are kept for the record: deactivate them instead.")


class TierGuidance(models.Model):
    """Suggested amount per kind and customer tier, shown when proposing; not binding."""

    kind = models.CharField(_("kind"), max_length=16, choices=CompensationKind)
    tier = models.CharField(_("customer tier"), max_length=16, choices=Customer.Tier)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency, default=Currency.CNY)
    suggested_amount = models.DecimalField(_("suggested amount"), **MONEY)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("compensation guidance")
        verbose_name_plural = _("compensation guidance (per tier)")
        ordering = ["kind", "tier"]
        constraints = [
            models.CheckConstraint(
                condition=Q(suggested_amount__gte=0), name="guidance_amount_not_negative"
            ),
            models.UniqueConstraint(
                fields=["kind", "tier", "currency"], name="guidance_one_per_kind_tier"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_tier_display()}: {self.suggested_amount}"


class RemedyPlan(models.Model):
    """The solution offered to the customer (ISO 10002): apology, explanation, correction of
    the fault, compensation (the Compensation rows), and the customer's answer."""

    class Answer(models.TextChoices):
        PENDING = "pending", _("Not yet offered / waiting")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        NO_ANSWER = "no_answer", _("No answer")

    class EscalationPath(models.TextChoices):
        NONE = "", _("—")
        INTERNAL_REVIEW = "internal_review", _("Internal review")
        EXTERNAL = "external", _("External dispute resolution")

    complaint = models.OneToOneField(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="remedy"
    )
    apology = models.BooleanField(_("apology made"), default=False)
    apology_text = models.TextField(_("apology"), blank=True)
    explanation = models.TextField(_("explanation given"), blank=True)
    correction = models.TextField(_("correction of the fault (what was fixed)"), blank=True)
    answer = models.CharField(
        _("customer's answer"), max_length=10, choices=Answer, default=Answer.PENDING
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    escalation_path = models.CharField(
        _("escalation path offered"),
        max_length=16,
        choices=EscalationPath,
        blank=True,
        default="",
        help_text=_("Required when the customer rejects the solution."),
    )
    escalation_note = models.TextField(_("escalation details"), blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("remedy plan")
        verbose_name_plural = _("remedy plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(answer="rejected", escalation_path__in=["internal_review", "external"])
                | (~Q(answer="rejected") & Q(escalation_path="")),
                name="remedy_escalation_iff_rejected",
            ),
            models.CheckConstraint(
                condition=Q(answer="pending") | Q(answered_at__isnull=False),
                name="remedy_answer_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.get_answer_display()}"

    def delete(self, *args, **kwargs):
        raise NotDeletable("Remedy plans are never deleted.")


class ApprovalAlert(models.Model):
    """An approval request (level 0) or its escalation (level 1) for one compensation: one row
    per (compensation, level), so approvers are told exactly once."""

    class Level(models.IntegerChoices):
        REQUEST = 0, _("Approval requested")
        ESCALATION = 1, _("Approval overdue (escalated)")

    class Delivery(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (retries exhausted)")
        NONE = "none", _("No email recipients")

    compensation = models.ForeignKey(
        Compensation,
        verbose_name=_("compensation"),
        on_delete=models.PROTECT,
        related_name="approval_alerts",
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    recipients = models.JSONField(_("recipients"), default=list, blank=True)
    emails = models.JSONField(_("email addresses"), default=list, blank=True)
    delivery = models.CharField(
        _("email delivery"), max_length=8, choices=Delivery, default=Delivery.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("approval notice")
        verbose_name_plural = _("approval notices")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["compensation", "level"], name="one_approval_alert_per_level"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="approval_alert_delivery_idx",
                condition=Q(delivery__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.compensation_id} L{self.level}"
