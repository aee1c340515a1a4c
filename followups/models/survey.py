"""Satisfaction surveys answered by the customer on a public page, and the editable text of
the invitation."""

import string
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Complaint

from .followup import FollowUp

LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
PLACEHOLDERS = ("reference", "subject", "link", "expires")


class SurveyInvitation(models.Model):
    """One survey link. The link carries a signed token naming this row; it works until
    `expires_at` and only once (`used_at`, set under a row lock with the answers)."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="surveys"
    )
    followup = models.ForeignKey(
        FollowUp,
        verbose_name=_("follow-up"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="surveys",
    )
    nonce = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=LANGUAGES,
        blank=True,
        help_text=_("Language the page opens in; empty: the customer's browser language."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    expires_at = models.DateTimeField(_("expires at"))
    emailed_to = models.EmailField(_("emailed to"), blank=True, editable=False)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True, editable=False)
    used_at = models.DateTimeField(_("answered at"), null=True, blank=True, editable=False)
    # Answers
    outcome_score = models.PositiveSmallIntegerField(
        _("satisfaction with the outcome"), null=True, blank=True
    )
    handling_score = models.PositiveSmallIntegerField(
        _("satisfaction with the handling"), null=True, blank=True
    )
    solved = models.BooleanField(_("problem solved"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    answered_language = models.CharField(_("answered in"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome_score__isnull=True)
                | Q(outcome_score__gte=1, outcome_score__lte=5),
                name="survey_outcome_1_5",
            ),
            models.CheckConstraint(
                condition=Q(handling_score__isnull=True)
                | Q(handling_score__gte=1, handling_score__lte=5),
                name="survey_handling_1_5",
            ),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True)
                | Q(
                    outcome_score__isnull=False, handling_score__isnull=False, solved__isnull=False
                ),
                name="survey_answered_complete",
            ),
        ]
        indexes = [
            # CSAT after recovery (reporting): answered surveys by time.
            models.Index(
                fields=["used_at"], name="survey_answered_idx", condition=Q(used_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} · {self.created_at:%Y-%m-%d}"

    def is_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())


def validate_placeholders(value: str) -> None:
    try:
        names = {name for _t, name, _f, _c in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        raise ValidationError(_("Unbalanced braces: %(error)s"), params={"error": exc}) from exc
    unknown = sorted(names - set(PLACEHOLDERS))
    if unknown or any(not n for n in names):
        raise ValidationError(
            _("Unknown placeholder(s): %(names)s. Use only: %(known)s."),
            params={
                "names": ", ".join(f"{{{n}}}" for n in unknown) or "{}",
                "known": ", ".join(f"{{{n}}}" for n in PLACEHOLDERS),
            },
        )


class MessageTemplate(models.Model):
    """Text of the survey invitation, bilingual, editable in the admin. Placeholders:
    {reference}, {subject}, {link}, {expires}."""

    class Code(models.TextChoices):
        SURVEY_EMAIL = "survey_email", _("Survey invitation (email)")
        SURVEY_SMS = "survey_sms", _("Survey invitation (SMS)")

    code = models.CharField(_("used for"), max_length=32, choices=Code, unique=True)
    subject_zh = models.CharField(
        _("subject (Chinese)"), max_length=200, blank=True, validators=[validate_placeholders]
    )
    subject_en = models.CharField(
        _("subject (English)"), max_length=200, blank=True, validators=[validate_placeholders]
    )
    body_zh = models.TextField(_("text (Chinese)"), validators=[validate_placeholders])
    body_en = models.TextField(_("text (English)"), validators=[validate_placeholders])
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.get_code_display()
