"""Reminders of due follow-ups and overdue improvement actions: one row per thing and due
point (the database refuses a second), each with its inbox entries and one email delivered
with retries."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .actions import ImprovementAction
from .followup import FollowUp


class Reminder(models.Model):
    class Delivery(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (retries exhausted)")
        NONE = "none", _("No email recipients")

    followup = models.ForeignKey(
        FollowUp,
        verbose_name=_("follow-up"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
    )
    action = models.ForeignKey(
        ImprovementAction,
        verbose_name=_("improvement action"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
    )
    due = models.DateTimeField(_("due"))
    title = models.JSONField(_("title"), default=dict)  # a stored message
    recipients = models.JSONField(_("recipients"), default=list, blank=True)
    emails = models.JSONField(_("email addresses"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivery = models.CharField(
        _("email delivery"), max_length=8, choices=Delivery, default=Delivery.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("follow-up reminder")
        verbose_name_plural = _("follow-up reminders")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(followup__isnull=True) ^ Q(action__isnull=True),
                name="reminder_one_target",
            ),
            models.UniqueConstraint(
                fields=["followup", "due"],
                condition=Q(followup__isnull=False),
                name="reminder_once_per_followup_due",
            ),
            models.UniqueConstraint(
                fields=["action", "due"],
                condition=Q(action__isnull=False),
                name="reminder_once_per_action_due",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="reminder_delivery_due_idx",
                condition=Q(delivery__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.followup_id or ''}{self.action_id or ''} @ {self.due:%Y-%m-%d}"
