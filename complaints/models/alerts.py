"""Reminders, escalations and the staff inbox. One DeadlineAlert row per (complaint, deadline,
level, deadline instant): the database makes a second reminder for the same thing impossible."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..messages import render
from .complaint import Complaint
from .responsibility import localized_name


class NotificationList(models.Model):
    """A named group of recipients, e.g. the crisis list or the complaint managers."""

    CRISIS = "crisis"
    MANAGERS = "managers"

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), blank=True, related_name="+"
    )
    extra_emails = models.TextField(
        _("other email addresses"),
        blank=True,
        help_text=_("One per line; for people without a staff account (email only)."),
    )

    class Meta:
        verbose_name = _("notification list")
        verbose_name_plural = _("notification lists")
        ordering = ["name"]

    def __str__(self) -> str:
        return localized_name(self)

    def emails(self) -> list[str]:
        return [line.strip() for line in self.extra_emails.splitlines() if line.strip()]


class AlertSchedule(models.Model):
    """Where the deadline sweep stands with a complaint: when it looks next and the escalation
    level reached. One row per complaint, in a narrow table of its own: the sweep moves it on
    every minute, which on the complaint row rewrote every index of the complaint table
    (about 30 times the cost of this row's update at 5,000,000 complaints).

    The database keeps it in step with the complaint (triggers, migration 0035): a new
    complaint gets its row, and whenever what the alert points depend on changes (status,
    severity, deadlines, the times they were met, the pause of the clock, or the complaint's
    `next_alert_at`, the first point the deadline rules give), `next_alert_at` here goes back
    to the complaint's, so the sweep looks again from there (an alert already sent is never
    sent twice). A complaint that leaves the open statuses has its level set to 0 there too
    (migration 0037). Only the sweep writes it otherwise."""

    complaint = models.OneToOneField(
        "complaints.Complaint",
        verbose_name=_("complaint"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="alert_schedule",
    )
    next_alert_at = models.DateTimeField(_("next reminder due"), null=True, editable=False)
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation level"),
        default=0,
        editable=False,
        help_text=_(
            "Highest escalation sent for the current deadlines (0: none, or the complaint is "
            "no longer open)."
        ),
    )

    class Meta:
        verbose_name = _("deadline sweep schedule")
        verbose_name_plural = _("deadline sweep schedules")
        indexes = [
            # The sweep's claim: the complaints whose next look has come.
            models.Index(
                fields=["next_alert_at"],
                name="alert_schedule_next_idx",
                condition=Q(next_alert_at__isnull=False),
            ),
            # The list's "escalated" filter.
            models.Index(
                fields=["escalation_level"],
                name="alert_schedule_escalated_idx",
                condition=Q(escalation_level__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.next_alert_at} (level {self.escalation_level})"


class DeadlineAlert(models.Model):
    """A reminder (level 0), an escalation (levels 1 and 2) or a crisis notice."""

    class Kind(models.TextChoices):
        ACK = "ack", _("acknowledge")
        RESPONSE = "response", _("first response")
        RESOLVE = "resolve", _("resolve")
        CRISIS = "crisis", _("crisis notice")
        # The follow-up date of a wait for the customer (services/awaiting.py).
        FOLLOW_UP = "awaiting", _("customer follow-up")

    class Level(models.IntegerChoices):
        WARNING = 0, _("Reminder (warning point)")
        ESCALATION_1 = 1, _("Escalation 1 (department head)")
        ESCALATION_2 = 2, _("Escalation 2 (complaint managers)")

    class Delivery(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (retries exhausted)")
        NONE = "none", _("No email recipients")
        DIGEST = "digest", _("In the recipients' digests")

    # Looked up through one_alert_per_deadline (complaint first): no index of its own, which
    # every alert the sweep writes would pay.
    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.PROTECT,
        related_name="alerts",
        db_index=False,
    )
    kind = models.CharField(_("which deadline"), max_length=8, choices=Kind)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level)
    # The deadline (or, for a crisis notice, the severity change) this alert is about: a
    # deadline that moves (pause, reopening, new severity) gets alerts of its own.
    deadline = models.DateTimeField(_("due at"))
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
        verbose_name = _("reminder or escalation")
        verbose_name_plural = _("reminders and escalations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["complaint", "kind", "level", "deadline"], name="one_alert_per_deadline"
            ),
        ]
        indexes = [
            # deliver_pending(): emails still to send, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                name="alert_delivery_due_idx",
                condition=Q(delivery__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} L{self.level}"


class DigestEntry(models.Model):
    """One address's copy of an alert that goes out in that address's next digest email (one
    email listing every alert waiting for the address). Each entry is claimed, sent and marked
    on its own, so a digest that fails is retried without losing or repeating any alert."""

    Delivery = DeadlineAlert.Delivery

    # Served by one_digest_entry_per_address (alert first).
    alert = models.ForeignKey(
        DeadlineAlert,
        verbose_name=_("reminder or escalation"),
        on_delete=models.PROTECT,
        related_name="digest_entries",
        db_index=False,
    )
    email = models.CharField(_("email address"), max_length=254)
    delivery = models.CharField(
        _("email delivery"), max_length=8, choices=Delivery, default=Delivery.PENDING
    )
    # When the digest may go at the latest (created + gathering window, or the next retry).
    next_attempt_at = models.DateTimeField(_("next attempt"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("digest entry")
        verbose_name_plural = _("digest entries")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "email"], name="one_digest_entry_per_address")
        ]
        indexes = [
            # pending_digests() and the per-address claim: entries still to send.
            models.Index(
                fields=["email", "next_attempt_at"],
                name="digest_entry_due_idx",
                condition=Q(delivery__in=["pending", "sending"]),
            ),
            models.Index(fields=["claim"], name="digest_entry_claim_idx", condition=~Q(claim="")),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.email}"


class Notification(models.Model):
    """An entry in a staff user's inbox."""

    # The foreign keys below are served by the composite indexes that start with them
    # (inbox, one per alert, one per approval notice): no single-column index each, which
    # every inbox entry the sweep writes would pay.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("for"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="+"
    )
    alert = models.ForeignKey(
        DeadlineAlert,
        verbose_name=_("reminder or escalation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,
    )
    approval_alert = models.ForeignKey(
        "complaints.ApprovalAlert",
        verbose_name=_("approval notice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,
    )
    # A stored message (complaints.messages), shown in the reader's language; plain text in
    # entries written before titles were stored as messages.
    title = models.JSONField(_("title"), default=str)
    body = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("inbox")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Each entry is about an alert or an approval notice: partial, so that neither index
            # holds the other kind's NULLs (an index entry fewer per inbox entry).
            models.UniqueConstraint(
                fields=["alert", "user"],
                name="one_notification_per_alert",
                condition=Q(alert__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["approval_alert", "user"],
                name="one_notification_per_approval_alert",
                condition=Q(approval_alert__isnull=False),
            ),
        ]
        indexes = [
            # The unread badge on every admin page.
            models.Index(
                fields=["user", "-created_at"],
                name="notification_unread_idx",
                condition=Q(read_at__isnull=True),
            ),
            models.Index(fields=["user", "-created_at", "-id"], name="notification_inbox_idx"),
        ]

    def __str__(self) -> str:
        return render(self.title)
