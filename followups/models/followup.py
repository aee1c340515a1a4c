"""Return visits (回访) of a resolved complaint and waivers of the close precondition."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Complaint

from .policy import FollowUpPolicy, Kind, Method


class Status(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    NOT_REACHED = "not_reached", _("Customer not reached")
    CANCELLED = "cancelled", _("Cancelled")


class FollowUpQuerySet(models.QuerySet):
    def overdue(self, now=None):
        return self.filter(status=Status.SCHEDULED, due_at__lt=now or timezone.now())


class FollowUp(models.Model):
    """One return visit. `round` is the resolution it verifies (the complaint's reopen count
    when it was resolved), so a complaint resolved again after reopening gets new ones."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="followups"
    )
    round = models.PositiveSmallIntegerField(_("resolution round"), default=0)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    policy = models.ForeignKey(
        FollowUpPolicy,
        verbose_name=_("policy"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    due_at = models.DateTimeField(_("due"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followups",
    )
    method = models.CharField(_("method"), max_length=8, choices=Method, default=Method.PHONE)
    status = models.CharField(
        _("status"), max_length=12, choices=Status, default=Status.SCHEDULED, editable=False
    )
    required_before_close = models.BooleanField(_("required before closing"), default=True)
    # Outcome
    reached = models.BooleanField(_("customer reached"), null=True, blank=True)
    solved = models.BooleanField(_("problem really solved"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1-5)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    done_at = models.DateTimeField(_("recorded at"), null=True, blank=True, editable=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at", "pk"]
        constraints = [
            # Scheduling is idempotent: a second run for the same resolution adds nothing.
            models.UniqueConstraint(
                fields=["complaint", "round", "kind"], name="followup_once_per_round_kind"
            ),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="followup_satisfaction_1_5",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="followup_status_valid"
            ),
        ]
        indexes = [
            # remind_due(): scheduled follow-ups not yet reminded, by due time.
            models.Index(
                fields=["due_at"],
                name="followup_remind_idx",
                condition=Q(status="scheduled", reminded_at__isnull=True),
            ),
            # Work lists: an assignee's scheduled follow-ups and the overdue filter.
            models.Index(
                fields=["assignee", "due_at"],
                name="followup_open_idx",
                condition=Q(status="scheduled"),
            ),
            models.Index(fields=["complaint", "round"], name="followup_complaint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.complaint_id}"

    def is_overdue(self, now=None) -> bool:
        return self.status == Status.SCHEDULED and self.due_at < (now or timezone.now())


class FollowUpWaiver(models.Model):
    """Staff decided a resolution's follow-ups are not needed to close (with a reason)."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="+"
    )
    round = models.PositiveSmallIntegerField(_("resolution round"))
    reason = models.TextField(_("reason"))
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("waived by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    waived_at = models.DateTimeField(_("waived at"), default=timezone.now)

    class Meta:
        verbose_name = _("follow-up waiver")
        verbose_name_plural = _("follow-up waivers")
        constraints = [
            models.UniqueConstraint(fields=["complaint", "round"], name="followup_waiver_once"),
            models.CheckConstraint(condition=~Q(reason=""), name="followup_waiver_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} #{self.round}"
