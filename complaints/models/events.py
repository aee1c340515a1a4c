import os
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .complaint import Channel, Complaint


class AppendOnlyError(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk updates and deletes bypass Model.save/delete; refuse them too."""

    def update(self, **kwargs):
        raise AppendOnlyError("Timeline events are append-only.")

    def delete(self):
        raise AppendOnlyError("Timeline events are append-only.")


class EvidenceQuerySet(models.QuerySet):
    def delete(self):
        raise AppendOnlyError("Attachments are evidence and are never deleted.")


class ComplaintEvent(models.Model):
    """One entry of a complaint's timeline. Append-only: never updated, never deleted."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Recorded")
        STATUS = "status", _("Status change")
        ASSIGNMENT = "assignment", _("Assignment")
        NOTE = "note", _("Internal note")
        CONTACT = "contact", _("Customer contact")
        ATTACHMENT = "attachment", _("Attachment added")
        FIELD_CHANGE = "field_change", _("Details changed")
        MERGE = "merge", _("Merge")
        SEVERITY = "severity", _("Severity")
        DEADLINES = "deadlines", _("Deadlines")
        ALERT = "alert", _("Reminder or escalation")
        RESPONSIBILITY = "responsibility", _("Responsibility decided")
        REMEDY = "remedy", _("Remedy plan")
        COMPENSATION = "compensation", _("Compensation")
        INCIDENT = "incident", _("Incident")

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound (customer to us)")
        OUTBOUND = "out", _("Outbound (us to customer)")

    # Served by event_timeline_idx (complaint first): no index of its own.
    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    # Indexed where set (event_actor_idx): the deadline sweep's events have none.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    note = models.TextField(_("note"), blank=True)
    contact_channel = models.CharField(
        _("contact channel"), max_length=16, choices=Channel, blank=True
    )
    contact_direction = models.CharField(
        _("direction"), max_length=3, choices=Direction, blank=True
    )
    data = models.JSONField(_("details"), default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["complaint", "created_at", "id"], name="event_timeline_idx"),
            # The user-delete PROTECT check (actor_id = ...).
            models.Index(
                fields=["actor"], name="event_actor_idx", condition=Q(actor__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Timeline events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Timeline events are append-only.")


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    # The stored name never comes from the user: a random id and the extension of the
    # type detected from the content.
    ext = os.path.splitext(filename)[1].lower()
    now = timezone.now()
    return f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}{ext}"


class EvidenceFieldFile(models.fields.files.FieldFile):
    """Attachments live outside the static files: their URL is the permission-checked
    download view, so every link Django draws for the file (the admin's "currently" link,
    read-only rows) works for those who may see it and for nobody else."""

    @property
    def url(self) -> str:
        from django.urls import reverse

        self._require_file()
        if self.instance.pk is None:
            return ""
        return reverse("complaints:attachment-download", args=[self.instance.pk])


class EvidenceFileField(models.FileField):
    attr_class = EvidenceFieldFile


class Attachment(models.Model):
    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="attachments"
    )
    file = EvidenceFileField(_("file"), upload_to=attachment_upload_to, max_length=255)
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256 checksum"), max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Attachments are evidence and are never deleted.")
