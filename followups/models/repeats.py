"""Repeat complaints: the same customer again about the same category or item."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Complaint


class RepeatLink(models.Model):
    """`complaint` repeats `earlier` (same customer, same category or item, within the
    repeat window)."""

    class Basis(models.TextChoices):
        CATEGORY = "category", _("Same category")
        ITEM = "item", _("Same item")
        BOTH = "both", _("Same category and item")

    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("repeat complaint"),
        on_delete=models.PROTECT,
        related_name="repeat_of_links",
    )
    earlier = models.ForeignKey(
        Complaint,
        verbose_name=_("earlier complaint"),
        on_delete=models.PROTECT,
        related_name="repeated_by_links",
    )
    basis = models.CharField(_("same"), max_length=8, choices=Basis)
    days_between = models.PositiveIntegerField(_("days between"))
    created_at = models.DateTimeField(_("linked at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("repeat complaint")
        verbose_name_plural = _("repeat complaints")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["complaint", "earlier"], name="repeat_link_once"),
            models.CheckConstraint(condition=~Q(complaint=F("earlier")), name="repeat_not_self"),
        ]
        indexes = [
            models.Index(fields=["earlier"], name="repeat_earlier_idx"),
            # The summaries' refresh (links made since it last ran) and this list's order.
            models.Index(fields=["-created_at", "-id"], name="repeat_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} → {self.earlier_id}"
