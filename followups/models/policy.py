"""Follow-up policies: which return visits a resolved complaint gets, and when."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import BusinessCalendar, Category, DurationUnit, Severity, localized_name


class Method(models.TextChoices):
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    VISIT = "visit", _("Visit")


class Kind(models.TextChoices):
    CALLBACK = "callback", _("Callback (verify the fix)")
    SATISFACTION = "satisfaction", _("Satisfaction check")


class FollowUpPolicy(models.Model):
    """Return visits after resolution for a severity and/or category (incl. subcategories);
    empty means any. The most specific active policy wins: a deeper category first, then one
    that names the severity."""

    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    severity = models.PositiveSmallIntegerField(
        _("severity"), choices=Severity, null=True, blank=True, help_text=_("Empty for all.")
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Applies to this category and its subcategories; empty for all."),
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("business calendar"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Working time is counted on this calendar; empty: the default calendar."),
    )
    active = models.BooleanField(_("active"), default=True)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("follow-up policy")
        verbose_name_plural = _("follow-up policies")
        ordering = ["severity", "name"]
        constraints = [
            # One active policy per scope (NULL means "any", so one constraint per shape).
            models.UniqueConstraint(
                fields=["severity", "category"],
                condition=Q(active=True, severity__isnull=False, category__isnull=False),
                name="followup_policy_sev_cat",
            ),
            models.UniqueConstraint(
                fields=["severity"],
                condition=Q(active=True, severity__isnull=False, category__isnull=True),
                name="followup_policy_sev",
            ),
            models.UniqueConstraint(
                fields=["category"],
                condition=Q(active=True, severity__isnull=True, category__isnull=False),
                name="followup_policy_cat",
            ),
            models.UniqueConstraint(
                fields=["active"],
                condition=Q(active=True, severity__isnull=True, category__isnull=True),
                name="followup_policy_default",
            ),
        ]

    def __str__(self) -> str:
        return localized_name(self)


class FollowUpStep(models.Model):
    """One return visit of a policy: how long after resolution it is due and how."""

    policy = models.ForeignKey(
        FollowUpPolicy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="steps"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    amount = models.PositiveIntegerField(_("due after resolution"))
    unit = models.CharField(_("unit"), max_length=8, choices=DurationUnit)
    working_time = models.BooleanField(
        _("count working time"),
        default=True,
        help_text=_(
            "On: hours and days are working time on the policy's calendar (holidays and "
            "moved working days respected). Off: calendar time."
        ),
    )
    method = models.CharField(_("method"), max_length=8, choices=Method, default=Method.PHONE)
    required_before_close = models.BooleanField(
        _("required before closing"),
        default=True,
        help_text=_("The complaint can only be closed once this follow-up is done (or waived)."),
    )

    class Meta:
        verbose_name = _("follow-up step")
        verbose_name_plural = _("follow-up steps")
        ordering = ["policy", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "kind"], name="followup_step_once_per_kind"),
            models.CheckConstraint(condition=Q(amount__gte=1), name="followup_step_amount_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.amount} {self.get_unit_display()}"

    def clean(self) -> None:
        if self.unit and self.unit not in DurationUnit.values:
            raise ValidationError({"unit": _("Choose a unit.")})
