"""Deadline enforcement end to end: real Celery workers on Redis against PostgreSQL.

Each test starts its own worker processes (solo pool) on a queue and Redis key prefix of its
own, pointing at this test's database, with emails written to files; the test enqueues the
sweep through the broker as beat does and polls the database for the outcome.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/redress_ci \\
    REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/pytest -n 2 tests/integration
"""

import logging
import socket
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.models import (
    AlertSchedule,
    Complaint,
    ComplaintEvent,
    DeadlineAlert,
    Notification,
    Severity,
)
from complaints.services import alerts
from tests.factories import make_complaint

from .support import (
    AGE_ACK_LONG_OVERDUE,
    AGE_ACK_OVERDUE,
    AGE_ACK_WARNING,
    AGE_CRISIS,
    REDIS_URL,
    bulk_complaints,
    emails_by_alert,
    expected_points,
    sent_emails,
    wait_for,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis (set REDIS_URL)"),
]
Delivery = DeadlineAlert.Delivery
UNSENT = (Delivery.PENDING, Delivery.SENDING)


def expected_alerts(now) -> set[tuple]:
    return {
        (complaint.pk, *point)
        for complaint in Complaint.objects.all()
        for point in expected_points(complaint, now)
    }


def delivered(expected: int):
    """All `expected` alerts exist and none has an email still to send."""

    def check():
        return (
            DeadlineAlert.objects.count() == expected
            and not DeadlineAlert.objects.filter(delivery__in=UNSENT).exists()
        )

    return check


def progress() -> tuple[int, int]:
    """How far the alerts and their emails have come (for waits that fail on a stall)."""
    return (
        DeadlineAlert.objects.count(),
        DeadlineAlert.objects.exclude(delivery__in=UNSENT).count(),
    )


# A busy machine may be slow, but the work keeps moving: fail only when it stops moving for
# this long (or after the overall bound).
STALL = 120


def assert_sent_exactly_once(due, mail_dir, now) -> list[DeadlineAlert]:
    """One alert per due point, one inbox entry per recipient, one email per alert."""
    rows = list(DeadlineAlert.objects.select_related("complaint"))
    keys = Counter((a.complaint_id, a.kind, a.level, a.deadline) for a in rows)
    assert set(keys) == expected_alerts(now)
    assert max(keys.values()) == 1

    inbox = Counter(Notification.objects.values_list("alert_id", "user_id"))
    assert not inbox or max(inbox.values()) == 1
    for alert in rows:
        wanted = due.audience.recipients(alert.complaint, alert.kind, alert.level)
        assert sorted(alert.recipients) == sorted(wanted), alert
        assert {user for (alert_id, user) in inbox if alert_id == alert.pk} == set(wanted)
    assert sum(inbox.values()) == sum(len(a.recipients) for a in rows)

    messages, strays = emails_by_alert(mail_dir, rows)
    assert strays == []
    for alert in rows:
        wanted = due.audience.emails(alert.complaint, alert.kind, alert.level)
        assert set(alert.emails) == wanted, alert
        assert alert.delivery == Delivery.SENT
        assert len(messages[alert.pk]) == 1, (alert, len(messages[alert.pk]))
        assert {a.addr_spec for a in messages[alert.pk][0]["to"].addresses} == wanted
    return rows


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sweep_through_the_worker_sends_each_reminder_once(cluster, due):
    audience, member = due.audience, due.audience.members[1]
    now = timezone.now()

    def intake(age, **fields):
        return make_complaint(
            received_at=now - timedelta(minutes=age),
            category=due.category,
            department=audience.department,
            customer=due.customer,
            **fields,
        )

    for _ in range(2):
        intake(AGE_ACK_WARNING)  # reminder to the department
        intake(AGE_ACK_WARNING, assignee=member)  # reminder to the assignee
        intake(AGE_ACK_OVERDUE)  # escalation to the head
        intake(AGE_ACK_LONG_OVERDUE)  # ... and to the managers
    bulk_complaints(  # crisis: notice, escalations (+ crisis list), response reminder
        1,
        age_minutes=AGE_CRISIS,
        now=now,
        customer=due.customer,
        category=due.category,
        department=audience.department,
        severity=Severity.CRISIS,
        prefix=f"IT{due.prefix}",
    )
    expected = expected_alerts(now)
    assert len(expected) == 2 * (1 + 1 + 1 + 2) + 4
    workers = [cluster.start(wait=False) for _ in range(2)]
    for worker in workers:
        worker.wait_ready()

    cluster.send("sweep_deadlines")
    wait_for(
        delivered(len(expected)),
        timeout=600,
        stall=STALL,
        progress=progress,
        what="the alerts and their emails",
    )

    rows = assert_sent_exactly_once(due, cluster.mail_dir, now)
    assert {(a.kind, a.level) for a in rows if a.complaint.severity == Severity.CRISIS} == {
        ("crisis", 0),
        ("ack", 1),
        ("ack", 2),
        ("response", 0),
    }
    assert not AlertSchedule.objects.filter(next_alert_at__lte=timezone.now()).exists()
    escalated = AlertSchedule.objects.filter(escalation_level=2).count()
    assert escalated == 2 + 1
    events = ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.ALERT).count()
    assert events == len(expected)
    notifications, emails = Notification.objects.count(), len(sent_emails(cluster.mail_dir))

    # The bookmark lost (say, restored from a backup): two sweeps at once on two workers look
    # at every complaint again and must add nothing.
    AlertSchedule.objects.update(next_alert_at=now - timedelta(hours=12))
    again = {cluster.send("sweep_deadlines") for _ in range(2)}
    results = wait_for(
        lambda: (
            len(done := [d for d in cluster.succeeded("sweep_deadlines") if d["id"] in again]) == 2
            and done
        ),
        timeout=300,
        what="two more sweeps",
    )
    # Each complaint looked at by one of them, nothing new found.
    assert sum(done["result"]["complaints"] for done in results) == Complaint.objects.count()
    assert sum(done["result"]["alerts"] for done in results) == 0
    cluster.send("deliver_pending_alerts")
    wait_for(
        lambda: cluster.succeeded("deliver_pending_alerts"),
        timeout=120,
        what="the delivery sweep",
    )
    assert DeadlineAlert.objects.count() == len(expected)
    assert Notification.objects.count() == notifications
    assert ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.ALERT).count() == events
    assert len(sent_emails(cluster.mail_dir)) == emails


def due_in_bulk(due, *, per_group: int, now) -> int:
    """per_group complaints in each of four situations; returns how many alerts are due."""
    groups = [
        (AGE_ACK_WARNING, None),  # reminder to the department
        (AGE_ACK_WARNING, due.audience.members[1]),  # reminder to the assignee
        (AGE_ACK_OVERDUE, None),  # escalation to the head
        (AGE_ACK_LONG_OVERDUE, None),  # ... and to the managers
    ]
    for number, (age, assignee) in enumerate(groups):
        bulk_complaints(
            per_group,
            age_minutes=age,
            now=now,
            customer=due.customer,
            category=due.category,
            department=due.audience.department,
            assignee=assignee,
            prefix=f"IT{due.prefix}{number}",
        )
    return len(expected_alerts(now))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_killed_mid_sweep_loses_and_repeats_nothing(cluster, due):
    now = timezone.now()
    expected = due_in_bulk(due, per_group=750, now=now)
    assert expected == 750 * 5
    # A visibility timeout of seconds: the message the killed worker held comes back soon.
    first = cluster.start(visibility_timeout=2)
    sweep = cluster.send("sweep_deadlines")
    wait_for(
        lambda: DeadlineAlert.objects.exists(), timeout=120, what="a first batch", interval=0.02
    )
    first.kill()
    at_kill = DeadlineAlert.objects.count()
    assert 0 < at_kill < expected, "the sweep finished before the worker was killed"
    t0 = time.monotonic()
    second = cluster.start(visibility_timeout=2)
    cluster.send("sweep_deadlines")
    wait_for(
        lambda: len(second.succeeded("sweep_deadlines")) == 2,
        timeout=300,
        what="the redelivered sweep and a new one",
    )
    assert sweep in {done["id"] for done in second.succeeded("sweep_deadlines")}, "redelivered"
    cluster.send("deliver_pending_alerts")  # beat's minutely delivery sweep
    wait_for(
        delivered(expected),
        timeout=600,
        stall=STALL,
        progress=progress,
        what="every alert and its email",
    )
    print(f"killed at {at_kill} of {expected} alerts; done {time.monotonic() - t0:.1f} s later")

    assert_sent_exactly_once(due, cluster.mail_dir, now)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_sweeping_at_once_do_the_work_once(cluster, due):
    now = timezone.now()
    expected = due_in_bulk(due, per_group=400, now=now)
    workers = [cluster.start(wait=False) for _ in range(2)]
    for worker in workers:
        worker.wait_ready()
    sweeps = {cluster.send("sweep_deadlines") for _ in range(2)}
    results = wait_for(
        lambda: len(done := cluster.succeeded("sweep_deadlines")) == 2 and done,
        timeout=300,
        what="both sweeps",
    )
    assert {done["id"] for done in results} == sweeps
    print("sweeps:", [done["result"] for done in results])
    assert sum(done["result"]["complaints"] for done in results) == Complaint.objects.count()
    assert sum(done["result"]["alerts"] for done in results) == expected
    wait_for(delivered(expected), timeout=600, stall=STALL, progress=progress, what="every email")

    assert_sent_exactly_once(due, cluster.mail_dir, now)


@contextmanager
def broker_unreachable():
    """Publish tasks for real (not eagerly) to a Redis port where nothing listens."""
    from kombu import pools

    from config.celery import app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = app.conf.broker_url, app.conf.task_always_eager

    def forget_connections():
        # kombu keeps one pool per broker URL for the whole process: closing the app's pool
        # closed that shared one for every later test ("Acquire on closed pool", even for
        # eager tasks, which take a producer too). Reset kombu's registry instead.
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url, app.conf.task_always_eager = f"redis://127.0.0.1:{port}/0", False
    forget_connections()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        forget_connections()


@pytest.mark.django_db
def test_crisis_intake_with_the_broker_down_succeeds_and_the_sweep_sends_the_notice(
    due, django_capture_on_commit_callbacks, caplog, mailoutbox
):
    caplog.set_level(logging.WARNING, logger="complaints.tasks")
    with broker_unreachable():
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            complaint = make_complaint(
                media_risk=True,
                category=due.category,
                department=due.audience.department,
                customer=due.customer,
            )
        elapsed = time.monotonic() - started

    assert complaint.severity == Severity.CRISIS
    assert callbacks  # after commit: "process this complaint now" and the registered hooks
    # Exactly one publish was tried ("process this complaint now") and it could not be sent.
    assert caplog.text.count("Could not enqueue") == 1
    assert "Could not enqueue complaints.tasks.process_complaint" in caplog.text
    assert elapsed < 5, f"intake took {elapsed:.1f} s with the broker down"
    assert Complaint.objects.filter(pk=complaint.pk).exists()
    assert not DeadlineAlert.objects.exists()

    result = alerts.sweep()  # the next minutely sweep, broker or not
    assert result.alerts == 1
    notice = DeadlineAlert.objects.get(complaint=complaint)
    assert (notice.kind, notice.level) == (DeadlineAlert.Kind.CRISIS, 0)
    crisis_desk = due.audience.crisis[0]
    assert list(Notification.objects.values_list("user_id", flat=True)) == [crisis_desk.pk]
    assert alerts.deliver_many(alerts.pending_deliveries()) == {"sent": 1}
    assert sorted(mailoutbox[0].to) == ["crisis-desk@example.com", "press@example.com"]
    print(f"crisis intake with the broker down: {elapsed:.2f} s")
