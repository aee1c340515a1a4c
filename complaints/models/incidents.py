"""Incidents (mass complaints): many complaints behind one event, and one remedy approved at
the incident level for all of them (applied by complaints.services.incidents)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .compensation import MONEY, ZERO, CompensationKind, Currency, NoDeleteQuerySet, NotDeletable
from .complaint import Complaint
from .organisation import Department


class Incident(models.Model):
    """An event (an outage, a defective batch) behind many complaints."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("owning department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=8, choices=Status, default=Status.OPEN)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    complaints = models.ManyToManyField(
        Complaint,
        through="IncidentLink",
        related_name="incidents",
        verbose_name=_("complaints"),
    )

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents (mass complaints)")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def delete(self, *args, **kwargs):
        raise NotDeletable("Incidents are never deleted: close them.")


class IncidentLink(models.Model):
    """A complaint belongs to (at most) one incident."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="links"
    )
    complaint = models.OneToOneField(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.PROTECT,
        related_name="incident_link",
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("complaint of an incident")
        verbose_name_plural = _("complaints of the incident")
        indexes = [
            # Applying a remedy walks an incident's links in id order.
            models.Index(fields=["incident", "id"], name="incident_link_walk_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} ← {self.complaint_id}"

    def delete(self, *args, **kwargs):
        raise NotDeletable("Incident links are kept for the record.")


class IncidentRemedy(models.Model):
    """One remedy for every complaint of an incident: approved once (limit = amount per
    complaint × the number of complaints linked at approval), then applied as one approved
    Compensation per complaint by a background task, in batches, idempotently."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    class Progress(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Applying")
        DONE = "done", _("Applied to every complaint")

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="remedies"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CompensationKind)
    amount_per_complaint = models.DecimalField(_("amount per complaint"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency, default=Currency.CNY)
    description = models.TextField(_("description"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.PROPOSED, editable=False
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved / rejected by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    decision_note = models.TextField(_("reason for the decision"), blank=True, editable=False)
    # Fixed at approval: the complaints linked then (links with id ≤ last_link_id) and the
    # total approved for them.
    approved_count = models.PositiveIntegerField(_("complaints covered"), default=0, editable=False)
    approved_total = models.DecimalField(_("total approved"), **MONEY, default=ZERO, editable=False)
    last_link_id = models.BigIntegerField(null=True, blank=True, editable=False)
    # Application progress (visible in the admin).
    progress = models.CharField(
        _("application"),
        max_length=12,
        choices=Progress,
        default=Progress.NOT_STARTED,
        editable=False,
    )
    applied_count = models.PositiveIntegerField(
        _("compensations created"), default=0, editable=False
    )
    applied_through_link = models.BigIntegerField(default=0, editable=False)
    apply_started_at = models.DateTimeField(_("application started"), null=True, editable=False)
    apply_finished_at = models.DateTimeField(_("application finished"), null=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident remedy")
        verbose_name_plural = _("incident remedies")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_per_complaint__gte=0), name="incident_remedy_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="incident_remedy_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(applied_count__lte=F("approved_count")),
                name="incident_remedy_applied_within_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident.code}: {self.get_kind_display()} {self.amount_per_complaint}"

    def delete(self, *args, **kwargs):
        raise NotDeletable("Incident remedies are never deleted: cancel them.")
