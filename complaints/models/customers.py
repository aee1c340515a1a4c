from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Who a customer is: each of these identifies one canonical customer (see Meta.constraints).
IDENTITY_FIELDS = ("phone", "email", "external_id")


class Customer(models.Model):
    """A complainant. Phone is stored in E.164, email in lower case and the external id without
    surrounding blanks (services.customers normalises; services.intake matches).

    Identity is enforced by the database: among canonical customers (duplicate_of is null) a
    non-empty phone, email or external id belongs to one customer only. `duplicate_of` marks a
    later record of a person already on file (left by the data migration that introduced the
    constraints, which kept the oldest record canonical); such records keep their complaints
    and are never matched again."""

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
        db_index=True,  # exact lookups (search, intake) also among duplicates
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
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="duplicates",
        help_text=_(
            "A later record of a customer already on file; the intake matches the original."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    anonymized_at = models.DateTimeField(
        _("anonymized at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Personal data removed for retention; the complaints stay for statistics."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Optimistic lock for edits from a form (as Complaint.version): changes with every save.
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "pk"]
        permissions = [
            ("view_pii", _("Can see customers' names, phone numbers and email addresses")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=[field],
                condition=~models.Q(**{field: ""}) & models.Q(duplicate_of__isnull=True),
                name=f"customer_unique_{field}",
                violation_error_message=message,
            )
            for field, message in (
                ("phone", _("Another customer on file has this phone number.")),
                ("email", _("Another customer on file has this email address.")),
                ("external_id", _("Another customer on file has this external id.")),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})" if self.phone else self.name
