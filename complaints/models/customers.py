from django.db import models
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
    """A complainant. Phone is stored in E.164 and email in lower case (see services.customers)."""

    class Tier(models.TextChoices):
        STANDARD = "standard", _("Standard")
        MEMBER = "member", _("Member")
        VIP = "vip", _("VIP")
        CORPORATE = "corporate", _("Corporate account")

    name = models.CharField(_("name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    external_id = models.CharField(
        _("external id"),
        max_length=64,
        blank=True,
        help_text=_("The customer's id in another system (CRM, membership, order system)."),
    )
    tier = models.CharField(_("tier"), max_length=16, choices=Tier, default=Tier.STANDARD)
    is_abusive = models.BooleanField(
        _("abusive"),
        default=False,
        help_text=_("Insults or threatens staff: contact only in writing or with two staff."),
    )
    is_difficult = models.BooleanField(
        _("difficult"),
        default=False,
        help_text=_("Misunderstands the rules or expects too much: agree every step in writing."),
    )
    notes = models.TextField(_("notes"), blank=True)
    anonymized_at = models.DateTimeField(
        _("anonymized at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Personal data removed for retention; the complaints stay for statistics."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "pk"]
        permissions = [
            ("view_pii", _("Can see customers' names, phone numbers and email addresses")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="customer_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})" if self.phone else self.name
