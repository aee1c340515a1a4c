"""Records and archiving: nothing is deleted, the timeline is append-only, evidence stays."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import ProtectedError

from complaints.models import (
    AppendOnlyError,
    Attachment,
    Complaint,
    ComplaintDeletionError,
    ComplaintEvent,
    Customer,
    Department,
)
from complaints.services import attachments, lifecycle
from tests.factories import CustomerFactory, UserFactory, make_complaint, png_bytes


@pytest.fixture
def complaint(manager, department):
    complaint = make_complaint(user=manager, department=department)
    lifecycle.add_note(complaint.pk, user=manager, text="Customer called twice.")
    return complaint


def test_complaint_delete_is_refused(complaint):
    with pytest.raises(ComplaintDeletionError):
        complaint.delete()
    assert Complaint.objects.filter(pk=complaint.pk).exists()
    assert complaint.events.count() == 2


@pytest.mark.parametrize(
    "queryset",
    [
        lambda c: Complaint.objects.filter(pk=c.pk),
        lambda c: Complaint.objects.all(),
        lambda c: c.customer.complaints.all(),
    ],
    ids=["filter", "all", "related-manager"],
)
def test_bulk_complaint_delete_is_refused(queryset, complaint):
    with pytest.raises(ComplaintDeletionError):
        queryset(complaint).delete()
    assert Complaint.objects.filter(pk=complaint.pk).exists()
    assert complaint.events.count() == 2


def test_timeline_event_cannot_be_edited(complaint):
    event = complaint.events.get(kind=ComplaintEvent.Kind.NOTE)
    event.note = "Customer never called."
    with pytest.raises(AppendOnlyError):
        event.save()
    assert ComplaintEvent.objects.get(pk=event.pk).note == "Customer called twice."


@pytest.mark.parametrize(
    "action",
    [
        lambda qs: qs.update(note="rewritten"),
        lambda qs: ComplaintEvent.objects.bulk_update(
            [setattr(e, "note", "rewritten") or e for e in qs], ["note"]
        ),
    ],
    ids=["update", "bulk_update"],
)
def test_timeline_events_cannot_be_bulk_edited(action, complaint):
    # (atomic: bulk_update opens a transaction without savepoint; keep the test's usable)
    with pytest.raises(AppendOnlyError), transaction.atomic():
        action(ComplaintEvent.objects.filter(complaint=complaint))
    assert "rewritten" not in complaint.events.values_list("note", flat=True)


@pytest.mark.parametrize(
    "delete",
    [
        lambda c: c.events.get(kind=ComplaintEvent.Kind.NOTE).delete(),
        lambda c: ComplaintEvent.objects.filter(complaint=c).delete(),
        lambda c: c.events.all().delete(),
    ],
    ids=["instance", "queryset", "related-manager"],
)
def test_timeline_events_cannot_be_deleted(delete, complaint):
    with pytest.raises(AppendOnlyError):
        delete(complaint)
    assert list(complaint.events.values_list("kind", flat=True)) == [
        ComplaintEvent.Kind.CREATED,
        ComplaintEvent.Kind.NOTE,
    ]


@pytest.fixture
def attachment(complaint, manager):
    upload = SimpleUploadedFile("leak.png", png_bytes(), content_type="image/png")
    return attachments.add_attachment(complaint.pk, user=manager, uploaded=upload)


@pytest.mark.parametrize(
    "delete",
    [
        lambda a: a.delete(),
        lambda a: Attachment.objects.filter(pk=a.pk).delete(),
        lambda a: a.complaint.attachments.all().delete(),
    ],
    ids=["instance", "queryset", "related-manager"],
)
def test_attachment_cannot_be_deleted(delete, attachment):
    with pytest.raises(AppendOnlyError):
        delete(attachment)
    assert Attachment.objects.filter(pk=attachment.pk).exists()
    assert attachment.file.storage.exists(attachment.file.name)


def test_customer_with_complaints_cannot_be_deleted(complaint):
    customer = complaint.customer
    with pytest.raises(ProtectedError):
        customer.delete()
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert Complaint.objects.get(pk=complaint.pk).customer == customer


def test_customer_without_complaints_can_be_deleted(db):
    customer = CustomerFactory()
    customer.delete()
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_user_on_the_timeline_cannot_be_deleted(complaint, department):
    clerk = UserFactory(username="clerk", perms=["complaints.change_complaint"])
    lifecycle.add_note(complaint.pk, user=clerk, text="Clerk's note")
    with pytest.raises(ProtectedError):
        clerk.delete()
    assert complaint.events.filter(actor=clerk).exists()


def test_department_with_complaints_cannot_be_deleted(complaint, department):
    with pytest.raises(ProtectedError):
        department.delete()
    assert Department.objects.filter(pk=department.pk).exists()
