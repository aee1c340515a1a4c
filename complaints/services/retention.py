"""Retention: remove customers' personal data once all their complaints are long finished.

Statistics stay intact: complaints keep category, item, dates, deadlines, severity, status,
department and outcome fields; the customer row stays (tier, flags, counts) without name,
phone, email, external id or notes; subject, description, desired outcome, timeline notes,
recorded old values and inbox titles are replaced. Attachments (evidence files) are kept."""

from dataclasses import dataclass
from datetime import datetime

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..messages import stored
from ..models import OPEN_STATUSES, Complaint, ComplaintEvent, Customer, Notification

REDACTED = "[anonymized]"


@dataclass
class AnonymizationResult:
    customers: int = 0
    complaints: int = 0


def anonymizable(closed_before: datetime):
    """Customers not yet anonymized whose complaints all finished before `closed_before`
    (closed, or invalid/merged and last changed before it); customers without complaints
    (e.g. replaced on one) once recorded before it."""
    complaints = Complaint.objects.filter(customer=OuterRef("pk"))
    recent = complaints.filter(
        Q(status__in=OPEN_STATUSES)
        | Q(closed_at__gte=closed_before)
        | Q(closed_at__isnull=True, updated_at__gte=closed_before)
    )
    return Customer.objects.filter(anonymized_at__isnull=True).filter(
        (Exists(complaints) & ~Exists(recent))
        | (~Exists(complaints) & Q(created_at__lt=closed_before))
    )


def anonymize_customers(
    *, closed_before: datetime, dry_run: bool = False, now=None, batch_size: int = 500
) -> AnonymizationResult:
    now = now or timezone.now()
    result = AnonymizationResult()
    note = stored(
        gettext_noop("Customer's personal data anonymized (retention: finished before %(date)s)."),
        date=timezone.localtime(closed_before).date().isoformat(),
    )
    last_pk = 0
    while True:
        with transaction.atomic():
            ids = list(
                anonymizable(closed_before)
                .filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return result
            last_pk = ids[-1]
            complaint_ids = list(
                Complaint.objects.filter(customer_id__in=ids).values_list("pk", flat=True)
            )
            result.customers += len(ids)
            result.complaints += len(complaint_ids)
            if dry_run:
                continue
            for customer in Customer.objects.filter(pk__in=ids):
                customer.name = _("Anonymized customer %(id)s") % {"id": customer.pk}
                customer.phone = customer.email = customer.external_id = customer.notes = ""
                customer.anonymized_at = now
                customer.version += 1  # a form opened before must not put the data back
                customer.save()
            Complaint.objects.filter(pk__in=complaint_ids).update(
                subject=REDACTED, description=REDACTED, desired_outcome=REDACTED, updated_at=now
            )
            # Notes, contact summaries, reasons and recorded old values may quote the
            # customer. The timeline is append-only for everything else; retention is the
            # one sanctioned rewrite (plain QuerySet: the append-only manager refuses it).
            events = models.QuerySet(ComplaintEvent).filter(complaint_id__in=complaint_ids)
            events.exclude(note="").update(note=REDACTED)
            events.filter(kind=ComplaintEvent.Kind.FIELD_CHANGE).update(data={"anonymized": True})
            Notification.objects.filter(complaint_id__in=complaint_ids).update(
                title=REDACTED, body=""
            )
            ComplaintEvent.objects.bulk_create(
                ComplaintEvent(
                    complaint_id=pk,
                    kind=ComplaintEvent.Kind.FIELD_CHANGE,
                    created_at=now,
                    data={
                        "anonymized": ["customer", "description", "desired_outcome"],
                        "message": note,
                    },
                )
                for pk in complaint_ids
            )
