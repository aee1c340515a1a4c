"""One bad row never stops the machine: a complaint whose stored time cannot be read (written
straight into the database, bypassing every validation) is isolated by the deadline sweep
and by email delivery, marked with its error, and everything else goes on."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse

from complaints.models import AlertSchedule, Complaint, DeadlineAlert, DepartmentMembership
from complaints.services import alerts
from tests.factories import (
    CustomerFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    make_complaint,
)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def poison(complaint_id: int, column: str = "received_at") -> None:
    """Store a timestamp before year 1 (what `0001-01-01 00:00` at +08:00 became on
    PostgreSQL): the row can no longer be loaded (DataError / ValueError on read)."""
    value = (
        "0001-12-31 16:00:00+00 BC" if connection.vendor == "postgresql" else "0000-12-31 16:00:00"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Complaint._meta.db_table} SET {column} = %s WHERE id = %s",  # noqa: S608
            [value, complaint_id],
        )


@pytest.fixture
def team():
    department = DepartmentFactory(code="service")
    head = UserFactory(username="head", email="head@example.com")
    MembershipFactory(department=department, user=head, role=DepartmentMembership.Role.HEAD)
    members = [UserFactory(username=f"m{i}", email=f"m{i}@example.com") for i in range(5)]
    for member in members:
        MembershipFactory(department=department, user=member)
    return {"department": department, "members": members}


def record_many(manager, team, n=5):
    at = sh(2026, 11, 2, 9, 0)
    with time_machine.travel(at, tick=False):
        return [
            make_complaint(
                user=manager,
                received_at=at,
                department=team["department"],
                assignee=team["members"][i],
                customer=CustomerFactory(),
            )
            for i in range(n)
        ]


def test_a_poisoned_complaint_in_the_first_batch_does_not_starve_the_others(manager, team):
    complaints = record_many(manager, team)
    bad = complaints[0]
    # First in the sweep's order (earliest next look), then unreadable.
    AlertSchedule.objects.filter(complaint_id=bad.pk).update(next_alert_at=sh(2026, 11, 2, 10, 0))
    poison(bad.pk)
    now = sh(2026, 11, 2, 16, 0)

    result = alerts.sweep(now=now, batch_size=2)

    good = [c.pk for c in complaints[1:]]
    alerted = set(DeadlineAlert.objects.values_list("complaint_id", flat=True))
    assert alerted == set(good)
    assert result.alerts == len(good)
    row = Complaint.objects.filter(pk=bad.pk).values(
        "alert_failures", "alert_error", "alert_schedule__next_alert_at"
    )[0]
    assert row["alert_failures"] == 1
    assert row["alert_error"]
    # Not retried in a hot loop: it waits (backoff) before the sweep tries it again.
    assert row["alert_schedule__next_alert_at"] > now
    again = alerts.sweep(now=now, batch_size=2)
    assert again.complaints == 0
    assert Complaint.objects.filter(pk=bad.pk).values_list("alert_failures", flat=True)[0] == 1


def test_a_complaint_that_fails_while_processed_is_isolated_too(manager, team, monkeypatch):
    complaints = record_many(manager, team, n=3)
    original = alerts._points

    def explode(complaint, ctx, now=None):
        if complaint.pk == complaints[1].pk:
            raise OverflowError("date value out of range")
        return original(complaint, ctx, now)

    monkeypatch.setattr(alerts, "_points", explode)
    now = sh(2026, 11, 2, 16, 0)
    result = alerts.sweep(now=now)
    alerted = set(DeadlineAlert.objects.values_list("complaint_id", flat=True))
    assert alerted == {complaints[0].pk, complaints[2].pk}
    assert result.alerts == 2
    failed = Complaint.objects.get(pk=complaints[1].pk)
    assert failed.alert_failures == 1
    assert "OverflowError" in failed.alert_error
    # Once it works again the mark is cleared.
    monkeypatch.setattr(alerts, "_points", original)
    alerts.sweep(now=failed.alert_schedule.next_alert_at)
    failed.refresh_from_db()
    assert (failed.alert_failures, failed.alert_error) == (0, "")
    assert DeadlineAlert.objects.filter(complaint=failed).exists()


def test_delivery_isolates_an_alert_whose_complaint_cannot_be_read(manager, team, single_emails):
    complaints = record_many(manager, team, n=3)
    ids = alerts.sweep(now=sh(2026, 11, 2, 16, 0)).alert_ids
    assert len(ids) == 3
    bad_alert = DeadlineAlert.objects.get(complaint=complaints[0])
    poison(complaints[0].pk)
    now = sh(2026, 11, 2, 16, 1)

    outcome = alerts.deliver_many(sorted(ids), now=now)

    assert outcome == {"retry": 1, "sent": 2}
    assert len(mail.outbox) == 2
    bad_alert.refresh_from_db()
    assert bad_alert.delivery == DeadlineAlert.Delivery.PENDING
    assert bad_alert.attempts == 1
    assert bad_alert.last_error
    assert bad_alert.next_attempt_at > now


def test_the_sweep_failure_is_visible_in_the_admin(manager_client, manager, team):
    (complaint,) = record_many(manager, team, n=1)
    Complaint.objects.filter(pk=complaint.pk).update(
        alert_failures=3, alert_error="OverflowError: date value out of range"
    )
    url = reverse("admin:complaints_complaint_changelist")
    listed = manager_client.get(url, {"alert_failed": "yes"})
    assert listed.status_code == 200
    assert complaint.reference in listed.content.decode()
    page = manager_client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk]))
    assert "OverflowError: date value out of range" in page.content.decode()
