"""Corrective and improvement actions (整改) and their effectiveness review."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Category, Complaint, Department, RootCause


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    VERIFIED = "verified", _("Verified effective")
    INEFFECTIVE = "ineffective", _("Ineffective")


OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ImprovementAction(models.Model):
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("what will be changed"), blank=True)
    root_cause = models.ForeignKey(
        RootCause,
        verbose_name=_("root-cause category"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("complaint category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The effectiveness review counts repeats in this category (and below)."),
    )
    item_ref = models.CharField(
        _("item reference"),
        max_length=200,
        blank=True,
        help_text=_("Narrows the effectiveness review to this product, order, property or site."),
    )
    department = models.ForeignKey(
        Department, verbose_name=_("owner department"), on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible person"),
        on_delete=models.PROTECT,
        related_name="improvement_actions",
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ActionStatus,
        default=ActionStatus.OPEN,
        editable=False,
    )
    complaints = models.ManyToManyField(
        Complaint,
        verbose_name=_("linked complaints"),
        blank=True,
        related_name="improvement_actions",
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True, editable=False)
    review_days = models.PositiveIntegerField(
        _("review window (days)"),
        default=90,
        help_text=_("Repeat rate in this many days before completion versus after."),
    )
    # The review, stored when the reviewer gives the verdict.
    before_complaints = models.PositiveIntegerField(
        _("complaints before"), null=True, editable=False
    )
    before_repeats = models.PositiveIntegerField(_("repeats before"), null=True, editable=False)
    after_complaints = models.PositiveIntegerField(_("complaints after"), null=True, editable=False)
    after_repeats = models.PositiveIntegerField(_("repeats after"), null=True, editable=False)
    verdict = models.TextField(_("reviewer's verdict"), blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    reminded_for = models.DateField(
        _("overdue reminder sent for due date"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["due_date", "pk"]
        permissions = [("review_improvementaction", _("Can review improvement actions"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ActionStatus.values), name="action_status_valid"
            ),
            models.CheckConstraint(condition=Q(review_days__gte=1), name="action_review_days_pos"),
            models.CheckConstraint(
                condition=Q(status__in=OPEN_ACTION_STATUSES) | Q(completed_at__isnull=False),
                name="action_completed_has_time",
            ),
        ]
        indexes = [
            # remind_overdue_actions(): open actions by due date.
            models.Index(
                fields=["due_date"],
                name="action_open_due_idx",
                condition=Q(status__in=["open", "in_progress"]),
            ),
            models.Index(fields=["department", "due_date"], name="action_dept_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.status in OPEN_ACTION_STATUSES and self.due_date < today
