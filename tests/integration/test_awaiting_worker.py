"""Awaiting-customer follow-ups end to end: real Celery workers on Redis against PostgreSQL.

The worker running the sweep is killed mid-way; the redelivered task and a second worker
finish the work, and every complaint's assignee is reminded exactly once (one alert, one
inbox entry per recipient, one email). A complaint whose row cannot be read is isolated and
recorded while the others are closed by the auto-close."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.models import (
    AwaitingPeriod,
    Complaint,
    ComplaintEvent,
    DeadlineAlert,
    Notification,
    Status,
)
from tests.complaints.test_poisoned_rows import poison

from .support import REDIS_URL, bulk_complaints, emails_by_alert, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis (set REDIS_URL)"),
]
Kind, Delivery = DeadlineAlert.Kind, DeadlineAlert.Delivery


def waiting_in_bulk(due, n: int, *, now, remind_ago: timedelta, silent_days: int = 0) -> None:
    """n complaints awaiting the customer, assigned to the department's member, whose
    follow-up reminder fell due `remind_ago` ago."""
    prefix = f"AW{due.prefix}"
    bulk_complaints(
        n,
        age_minutes=60 * 24 * (silent_days + 1),
        now=now,
        customer=due.customer,
        category=due.category,
        department=due.audience.department,
        assignee=due.audience.members[1],
        prefix=prefix,
    )
    since = now - timedelta(days=silent_days, minutes=5)
    Complaint.objects.filter(reference__startswith=prefix).update(
        status=Status.AWAITING_CUSTOMER, sla_paused_at=since, due_at=None, next_alert_at=None
    )
    AwaitingPeriod.objects.bulk_create(
        [
            AwaitingPeriod(
                complaint_id=pk,
                started_at=since,
                follow_up_on=timezone.localdate(now - remind_ago),
                remind_at=now - remind_ago,
                silent_since=since,
                # The reminders of these were sent long ago (only auto-close is tested).
                reminded_at=since if silent_days else None,
            )
            for pk in Complaint.objects.filter(reference__startswith=prefix).values_list(
                "pk", flat=True
            )
        ],
        batch_size=1000,
    )


def follow_ups():
    return DeadlineAlert.objects.filter(kind=Kind.FOLLOW_UP)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_killed_mid_sweep_reminds_everyone_exactly_once(cluster, due):
    now = timezone.now()
    n = 1500
    waiting_in_bulk(due, n, now=now, remind_ago=timedelta(minutes=1))
    first = cluster.start(visibility_timeout=2)
    sweep = cluster.send("sweep_awaiting")
    wait_for(lambda: follow_ups().exists(), timeout=120, what="a first batch", interval=0.02)
    first.kill()
    at_kill = follow_ups().count()
    assert 0 < at_kill < n, "the sweep finished before the worker was killed"
    second = cluster.start(visibility_timeout=2)
    cluster.send("sweep_awaiting")  # beat's next minute
    wait_for(
        lambda: len(second.succeeded("sweep_awaiting")) == 2,
        timeout=300,
        what="the redelivered sweep and a new one",
    )
    assert sweep in {done["id"] for done in second.succeeded("sweep_awaiting")}, "redelivered"
    cluster.send("deliver_pending_alerts")
    wait_for(
        lambda: (
            follow_ups().count() == n
            and not follow_ups().filter(delivery__in=(Delivery.PENDING, Delivery.SENDING)).exists()
        ),
        timeout=600,
        what="every reminder and its email",
    )
    print(f"killed at {at_kill} of {n} reminders")

    member = due.audience.members[1]
    rows = list(follow_ups().select_related("complaint"))
    assert Counter(a.complaint_id for a in rows).most_common(1)[0][1] == 1
    assert {a.complaint_id for a in rows} == set(
        Complaint.objects.filter(status=Status.AWAITING_CUSTOMER).values_list("pk", flat=True)
    )
    assert all(a.recipients == [member.pk] and a.delivery == Delivery.SENT for a in rows)
    inbox = Counter(Notification.objects.values_list("alert_id", "user_id"))
    assert len(inbox) == n and max(inbox.values()) == 1
    assert ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.ALERT).count() == n
    assert not AwaitingPeriod.objects.filter(reminded_at__isnull=True).exists()
    messages, strays = emails_by_alert(cluster.mail_dir, rows)
    assert strays == []
    assert all(len(messages[a.pk]) == 1 for a in rows)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_auto_close_through_the_worker_isolates_a_poisoned_row(cluster, due, monkeypatch):
    monkeypatch.setenv("REDRESS_AWAITING_AUTO_CLOSE_DAYS", "7")  # the worker's setting
    now = timezone.now()
    waiting_in_bulk(due, 40, now=now, remind_ago=timedelta(days=8), silent_days=8)
    bad = Complaint.objects.order_by("pk").first()
    poison(bad.pk)
    cluster.start()
    cluster.send("sweep_awaiting")
    [done] = wait_for(lambda: cluster.succeeded("sweep_awaiting"), timeout=300, what="the sweep")
    assert done["result"] == {"reminded": 0, "closed": 39, "failed": 1}
    closed = Complaint.objects.filter(status=Status.CLOSED).exclude(pk=bad.pk)
    assert closed.count() == 39
    events = ComplaintEvent.objects.filter(to_status=Status.CLOSED, actor__isnull=True)
    assert events.count() == 39
    assert all("7" in str(e.data["message"]["params"]["days"]) for e in events)
    row = AwaitingPeriod.objects.get(complaint_id=bad.pk)
    assert row.ended_at is None and row.failures == 1 and row.last_error
