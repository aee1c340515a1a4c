"""Config changes (calendars, exceptions, SLA policies, categories, customer tiers) recompute
open complaints' deadlines in a background job after commit, in bounded durable batches,
with progress in the admin; the request itself does no per-complaint work."""

from datetime import date

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints.models import (
    BusinessCalendar,
    CalendarException,
    Complaint,
    ComplaintEvent,
    RecomputeJob,
    SLAPolicy,
)
from complaints.services import recompute, sla
from tests.factories import CustomerFactory, form_fields, make_complaint

pytestmark = pytest.mark.django_db


def post_form(client, path, changes):
    page = client.get(path)
    assert page.status_code == 200
    data = form_fields(page.content.decode(), action="")
    data.pop("_addanother", None)
    data.pop("_continue", None)
    for key, value in changes.items():
        data[key] = value if isinstance(value, list) else [value]
    return client.post(path, data)


def open_complaints(manager, n, severity=3):
    complaints = [make_complaint(user=manager, customer=CustomerFactory()) for _ in range(n)]
    Complaint.objects.filter(pk__in=[c.pk for c in complaints]).update(severity=severity)
    return complaints


def test_policy_change_request_does_no_per_complaint_work(
    login_client, superuser, manager, django_capture_on_commit_callbacks
):
    client = login_client(superuser)
    policy = SLAPolicy.objects.get(severity=3, active=True)
    path = reverse("admin:complaints_slapolicy_change", args=[policy.pk])

    def save(n, amount):
        Complaint.objects.update(status="closed")
        open_complaints(manager, n)
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            CaptureQueriesContext(connection) as queries,
        ):
            response = post_form(client, path, {"resolve_amount": str(amount)})
        assert response.status_code == 302
        touching = [
            q["sql"]
            for q in queries.captured_queries
            if "complaints_complaint" in q["sql"] and "complaints_complaint_" not in q["sql"]
        ]
        assert touching == []  # not a single complaint read, locked or written
        return len(queries.captured_queries), callbacks

    save(0, 5)  # warm-up: per-process caches (content types, ...) are filled once
    few, _ = save(2, 4)
    many, callbacks = save(25, 6)
    assert few == many
    # Nothing recomputed yet: the job waits for the commit.
    job = RecomputeJob.objects.latest("pk")
    assert job.status == RecomputeJob.Status.PENDING
    assert not ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.DEADLINES).exists()
    for callback in callbacks:
        callback()  # after commit: the task runs (eagerly in tests)
    job.refresh_from_db()
    assert job.status == RecomputeJob.Status.DONE
    assert (job.total, job.done, job.failed) == (25, 25, 0)
    assert job.moved == 25
    assert ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.DEADLINES).count() == 25


def test_the_job_is_listed_and_linked_from_the_save_message(
    login_client, superuser, manager, django_capture_on_commit_callbacks
):
    client = login_client(superuser)
    open_complaints(manager, 2)
    policy = SLAPolicy.objects.get(severity=3, active=True)
    path = reverse("admin:complaints_slapolicy_change", args=[policy.pk])
    with django_capture_on_commit_callbacks(execute=True):
        page = post_form(client, path, {"resolve_amount": "4"})
    job = RecomputeJob.objects.get()
    job_url = reverse("admin:complaints_recomputejob_change", args=[job.pk])
    followed = client.get(page["Location"])
    assert job_url in followed.content.decode()
    listing = client.get(reverse("admin:complaints_recomputejob_changelist"))
    assert listing.status_code == 200
    assert "2 / 2" in listing.content.decode()
    assert client.get(job_url).status_code == 200


def test_calendar_exception_schedules_a_job_for_that_calendar(
    login_client, superuser, django_capture_on_commit_callbacks
):
    client = login_client(superuser)
    calendar = BusinessCalendar.objects.get(code="cn")
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            reverse("admin:complaints_calendarexception_add"),
            {"calendar": calendar.pk, "date": "2026-10-08", "kind": "holiday", "name": "Extra"},
        )
    assert CalendarException.objects.filter(date=date(2026, 10, 8)).exists()
    job = RecomputeJob.objects.get()
    assert job.scope == {"calendar_id": calendar.pk}


def test_customer_tier_change_schedules_a_job(
    login_client, superuser, manager, django_capture_on_commit_callbacks
):
    client = login_client(superuser)
    complaint = make_complaint(user=manager)
    customer = complaint.customer
    path = reverse("admin:complaints_customer_change", args=[customer.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(client, path, {"tier": "vip"})
    assert response.status_code == 302
    job = RecomputeJob.objects.get()
    assert job.scope == {"customer_id": customer.pk}
    assert job.status == RecomputeJob.Status.DONE and job.total == 1


def test_a_bad_complaint_is_recorded_and_skipped(manager, monkeypatch):
    complaints = open_complaints(manager, 5)
    bad = complaints[2]
    original = sla.compute

    def compute(complaint, ctx, **kwargs):
        if complaint.pk == bad.pk:
            raise OverflowError("date value out of range")
        return original(complaint, ctx, **kwargs)

    SLAPolicy.objects.filter(severity=3, active=True).update(resolve_amount=9)
    monkeypatch.setattr(sla, "compute", compute)
    job = recompute.create_job(reason="Policy changed.", actor=None, severity=3)
    recompute.run_job(job.pk, batch_size=2)
    job.refresh_from_db()
    assert job.status == RecomputeJob.Status.DONE
    assert (job.total, job.done, job.failed) == (5, 5, 1)
    assert job.errors == [{"complaint": bad.pk, "error": "OverflowError: date value out of range"}]
    moved = set(
        ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.DEADLINES).values_list(
            "complaint_id", flat=True
        )
    )
    assert moved == {c.pk for c in complaints} - {bad.pk}
    # Running it again (a redelivered task) does nothing more.
    recompute.run_job(job.pk)
    job.refresh_from_db()
    assert job.done == 5


def test_batches_are_durable_transactions(manager):
    """Each batch commits on its own: the job refuses to run inside someone's transaction."""
    open_complaints(manager, 3)
    job = recompute.create_job(reason="Policy changed.", actor=None, severity=3)
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        recompute.run_job(job.pk, batch_size=2)
