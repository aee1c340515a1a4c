"""Daily-work helpers of the complaint page: reply templates (macros) and the periods a
complaint waits for the customer (follow-up date, reminder, silence before auto-close)."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .alerts import DeadlineAlert
from .complaint import Complaint
from .organisation import Department

# The only names a template may use; services/replies.py fills them in (no template engine).
PLACEHOLDERS = {
    "customer_name": _("the customer's name (masked for staff without personal-data access)"),
    "reference": _("the complaint's reference"),
    "subject": _("the complaint's subject"),
    "due_date": _("the date the complaint is due to be resolved"),
    "agent_name": _("your name"),
    "department": _("the responsible department"),
}
# Anything in braces is meant as a placeholder: a typo must not reach a customer.
BRACED = re.compile(r"\{([^{}\n]*)\}")


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in BRACED.findall(text or "") if name not in PLACEHOLDERS})


def validate_placeholders(text: str) -> None:
    unknown = unknown_placeholders(text)
    if unknown:
        raise ValidationError(
            _("Unknown placeholder: %(unknown)s. Use only %(known)s."),
            code="unknown_placeholder",
            params={
                "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                "known": ", ".join(f"{{{name}}}" for name in PLACEHOLDERS),
            },
        )


class ReplyTemplate(models.Model):
    """A ready text for a customer contact or an internal note, in Chinese and English."""

    class Kind(models.TextChoices):
        CONTACT = "contact", _("Customer contact")
        NOTE = "note", _("Internal note")
        BOTH = "both", _("Contact and note")

    name = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    body = models.TextField(
        _("text (Chinese)"),
        validators=[validate_placeholders],
        help_text=_(
            "Placeholders: {customer_name} {reference} {subject} {due_date} {agent_name} "
            "{department}."
        ),
    )
    body_en = models.TextField(_("text (English)"), blank=True, validators=[validate_placeholders])
    kind = models.CharField(_("used for"), max_length=8, choices=Kind, default=Kind.CONTACT)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reply_templates",
        help_text=_("Empty: offered to everyone."),
    )
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last changed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("last changed"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["sort_order", "name"]
        indexes = [
            # The picker on every complaint page: active templates of a few departments.
            models.Index(
                fields=["department", "sort_order"],
                name="replytemplate_active_idx",
                condition=Q(active=True),
            ),
        ]

    def __str__(self) -> str:
        return self.localized_name()

    def localized_name(self) -> str:
        if (get_language() or "").lower().startswith("en") and self.name_en:
            return self.name_en
        return self.name

    def body_in(self, language: str) -> str:
        """The text in `language` ("zh-hans" or "en"), else the other one."""
        if language.lower().startswith("en"):
            return self.body_en or self.body
        return self.body or self.body_en


class AwaitingPeriod(models.Model):
    """One stretch of "awaiting customer": the follow-up date the handler set, the reminder
    sent on it (once: `reminded_at` is set in the same transaction as the reminder, and the
    DeadlineAlert row is unique per complaint, kind and time) and the customer's silence,
    which a logged contact restarts and which may close the complaint
    (REDRESS_AWAITING_AUTO_CLOSE_DAYS)."""

    class End(models.TextChoices):
        LEFT = "left", _("The complaint moved on")
        AUTO_CLOSED = "auto_closed", _("Closed automatically after the customer's silence")

    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.PROTECT,
        related_name="awaiting_periods",
    )
    started_at = models.DateTimeField(_("waiting since"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    follow_up_on = models.DateField(_("follow up on"))
    remind_at = models.DateTimeField(_("reminder due"))
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    alert = models.ForeignKey(
        DeadlineAlert,
        verbose_name=_("reminder"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    silent_since = models.DateTimeField(
        _("customer silent since"),
        help_text=_("The start of the wait or the last contact logged while waiting."),
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end = models.CharField(_("how it ended"), max_length=12, choices=End, blank=True)
    # The sweep could not process this row: how often in a row, the last error, and when it
    # is tried again (5 minutes, doubling up to a day). A success clears them.
    failures = models.PositiveSmallIntegerField(_("failures"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    retry_at = models.DateTimeField(_("retry at"), null=True, blank=True)

    class Meta:
        verbose_name = _("wait for the customer")
        verbose_name_plural = _("waits for the customer")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["complaint"],
                condition=Q(ended_at__isnull=True),
                name="one_open_awaiting_period",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | ~Q(end=""), name="awaiting_end_has_reason"
            ),
        ]
        indexes = [
            # awaiting.sweep(): follow-up reminders that have come.
            models.Index(
                fields=["remind_at"],
                name="awaiting_remind_due_idx",
                condition=Q(ended_at__isnull=True, reminded_at__isnull=True),
            ),
            # awaiting.sweep(): waits silent long enough to be closed.
            models.Index(
                fields=["silent_since"],
                name="awaiting_silent_idx",
                condition=Q(ended_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.follow_up_on}"
