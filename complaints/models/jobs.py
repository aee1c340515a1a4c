"""Background work on many complaints, with its progress visible in the admin."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RecomputeJob(models.Model):
    """Recomputing the deadlines of the open complaints a configuration change affects (a
    calendar, an exception, an SLA policy, the category tree, a customer's tier). Created in
    the admin request, run by a Celery task after commit in bounded batches; `last_pk` lets
    a redelivered or restarted task go on where the last committed batch ended."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    reason = models.JSONField(_("reason"), default=str)  # a stored message (or plain text)
    # Which open complaints: {"calendar_id": 3} / {"severity": 2} / {"customer_id": 7} /
    # {"provisional_only": true}; empty for all.
    scope = models.JSONField(_("scope"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status, default=Status.PENDING)
    total = models.PositiveIntegerField(_("complaints"), null=True, blank=True)
    done = models.PositiveIntegerField(_("processed"), default=0)
    moved = models.PositiveIntegerField(_("deadlines moved"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    last_pk = models.BigIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("deadline recomputation")
        verbose_name_plural = _("deadline recomputations")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # run_unfinished(): jobs a lost task or a dead worker left behind.
            models.Index(
                fields=["created_at"],
                name="recompute_unfinished_idx",
                condition=Q(status__in=["pending", "running"]),
            ),
        ]

    def __str__(self) -> str:
        from ..messages import render

        return f"#{self.pk} {render(self.reason)[:60]}"
