"""Deadline enforcement with frozen time: reminders, escalations, crisis notices, inbox,
email delivery with retries, exactly-once by database constraint."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints import tasks
from complaints.models import (
    AlertSchedule,
    Complaint,
    ComplaintEvent,
    DeadlineAlert,
    DepartmentMembership,
    DigestEntry,
    Notification,
    NotificationList,
    Severity,
    SLAPolicy,
    Status,
)
from complaints.services import alerts, lifecycle
from tests.factories import (
    CustomerFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    make_complaint,
)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db
Kind, Level = DeadlineAlert.Kind, DeadlineAlert.Level


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def team():
    """A department with a head and two members; complaint managers and a crisis list."""
    department = DepartmentFactory(code="service", name="Customer service")
    head = UserFactory(username="head", email="head@example.com")
    members = [UserFactory(username=f"m{i}", email=f"m{i}@example.com") for i in range(2)]
    MembershipFactory(department=department, user=head, role=DepartmentMembership.Role.HEAD)
    for member in members:
        MembershipFactory(department=department, user=member)
    manager = UserFactory(username="boss", email="boss@example.com")
    NotificationList.objects.get(code="managers").users.add(manager)
    crisis_officer = UserFactory(username="pr", email="pr@example.com")
    crisis = NotificationList.objects.get(code="crisis")
    crisis.users.add(crisis_officer)
    crisis.extra_emails = "press-office@example.com\n"
    crisis.save()
    return {
        "department": department,
        "head": head,
        "members": members,
        "manager": manager,
        "crisis": crisis_officer,
    }


def record(at, user, team, **fields):
    fields.setdefault("department", team["department"])
    with time_machine.travel(at, tick=False):
        return make_complaint(user=user, received_at=at, **fields)


def sweep_at(at):
    return alerts.sweep(now=at)


def schedule(complaint) -> AlertSchedule:
    """Where the sweep stands with the complaint (its next look, the escalation level)."""
    return AlertSchedule.objects.get(complaint_id=complaint.pk)


def alert_keys(complaint):
    return sorted((a.kind, a.level) for a in DeadlineAlert.objects.filter(complaint=complaint))


def test_warning_reminds_the_assignee_then_escalates_twice(manager, team):
    assignee = team["members"][0]
    # Monday 09:00, severity 4: acknowledge within 9 working hours (Mon 18:00), warning at
    # 75 % (Mon 15:45); second escalation half an allowance after the deadline (Tue 13:30).
    c = record(sh(2026, 11, 2, 9, 0), manager, team, assignee=assignee)
    assert c.next_alert_at == sh(2026, 11, 2, 15, 45)

    assert sweep_at(sh(2026, 11, 2, 15, 44)).alerts == 0
    result = sweep_at(sh(2026, 11, 2, 15, 45))
    assert result.alerts == 1
    (warning,) = DeadlineAlert.objects.all()
    assert (warning.kind, warning.level) == (Kind.ACK, Level.WARNING)
    assert warning.recipients == [assignee.pk]
    assert warning.emails == [assignee.email]
    assert warning.deadline == sh(2026, 11, 2, 18, 0)
    assert schedule(c).next_alert_at == sh(2026, 11, 2, 18, 0)

    sweep_at(sh(2026, 11, 2, 18, 0))
    escalation = DeadlineAlert.objects.get(level=Level.ESCALATION_1)
    assert escalation.recipients == [team["head"].pk]
    assert schedule(c).escalation_level == 1

    sweep_at(sh(2026, 11, 3, 13, 30))
    second = DeadlineAlert.objects.get(level=Level.ESCALATION_2)
    assert second.recipients == [team["manager"].pk]
    assert schedule(c).escalation_level == 2

    kinds = alert_keys(c)
    assert (Kind.ACK, 0) in kinds and (Kind.ACK, 1) in kinds and (Kind.ACK, 2) in kinds
    # Each is on the timeline and in the recipients' inboxes.
    assert c.events.filter(kind=ComplaintEvent.Kind.ALERT).count() == len(kinds)
    assert Notification.objects.filter(user=team["head"], complaint=c).count() == 1


def test_unassigned_complaint_reminds_the_department(manager, team):
    record(sh(2026, 11, 2, 9, 0), manager, team)
    sweep_at(sh(2026, 11, 2, 16, 0))
    (warning,) = DeadlineAlert.objects.all()
    assert sorted(warning.recipients) == sorted(u.pk for u in [team["head"], *team["members"]])


def test_department_without_head_escalates_to_the_managers(manager, team):
    DepartmentMembership.objects.filter(role=DepartmentMembership.Role.HEAD).delete()
    record(sh(2026, 11, 2, 9, 0), manager, team)
    sweep_at(sh(2026, 11, 2, 18, 0))
    escalation = DeadlineAlert.objects.get(level=Level.ESCALATION_1)
    assert escalation.recipients == [team["manager"].pk]


def test_sweeping_again_sends_nothing_twice(manager, team):
    for day in (2, 3):
        record(sh(2026, 11, day, 9, 0), manager, team)
    at = sh(2026, 11, 4, 12, 0)
    first = sweep_at(at)
    assert first.alerts > 0
    counts = (DeadlineAlert.objects.count(), Notification.objects.count())
    # Move every bookmark back as if the sweep had crashed before saving them.
    AlertSchedule.objects.update(next_alert_at=sh(2026, 11, 1))
    assert sweep_at(at).alerts == 0
    assert sweep_at(at).alerts == 0
    assert (DeadlineAlert.objects.count(), Notification.objects.count()) == counts


def test_database_refuses_a_second_alert_for_the_same_point(manager, team):
    c = record(sh(2026, 11, 2, 9, 0), manager, team)
    sweep_at(sh(2026, 11, 2, 16, 0))
    alert = DeadlineAlert.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        DeadlineAlert.objects.create(
            complaint=c, kind=alert.kind, level=alert.level, deadline=alert.deadline
        )


def test_no_warning_once_overdue_and_no_alerts_for_finished_work(manager, team):
    open_one = record(sh(2026, 11, 2, 9, 0), manager, team)
    closed = record(sh(2026, 11, 2, 9, 0), manager, team, solution="x", resolution="y")
    with time_machine.travel(sh(2026, 11, 2, 10, 0), tick=False):
        lifecycle.transition(closed.pk, Status.INVALID, user=manager, note="Duplicate call")
    # The sweep was down all day: the deadline is missed when it finally runs.
    sweep_at(sh(2026, 11, 2, 19, 0))
    assert alert_keys(open_one) == [(Kind.ACK, Level.ESCALATION_1)]
    assert alert_keys(closed) == []


def test_paused_complaint_gets_no_reminders_until_it_resumes(manager, team):
    c = record(sh(2026, 11, 2, 9, 0), manager, team)
    with time_machine.travel(sh(2026, 11, 2, 9, 30), tick=False):
        lifecycle.transition(c.pk, Status.ACKNOWLEDGED, user=manager)
        lifecycle.transition(c.pk, Status.INVESTIGATING, user=manager)
        lifecycle.transition(c.pk, Status.AWAITING_CUSTOMER, user=manager, note="Photos")
    assert sweep_at(sh(2026, 11, 10, 9, 0)).alerts == 0
    with time_machine.travel(sh(2026, 11, 10, 9, 0), tick=False):
        c = lifecycle.transition(c.pk, Status.INVESTIGATING, user=manager)
    c.refresh_from_db()
    assert c.next_alert_at is not None and c.next_alert_at > sh(2026, 11, 10, 9, 0)


def test_crisis_notifies_the_crisis_list_at_intake(
    manager, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        c = record(sh(2026, 11, 2, 9, 0), manager, team, media_risk=True)
    assert c.severity == Severity.CRISIS
    notice = DeadlineAlert.objects.get(kind=Kind.CRISIS)
    assert notice.recipients == [team["crisis"].pk]
    assert set(notice.emails) == {"pr@example.com", "press-office@example.com"}
    # Escalations of a crisis also go to the crisis list.
    sweep_at(sh(2026, 11, 2, 10, 0))  # acknowledge within 1 hour, around the clock
    escalation = DeadlineAlert.objects.get(kind=Kind.ACK, level=Level.ESCALATION_1)
    assert team["crisis"].pk in escalation.recipients
    assert "press-office@example.com" in escalation.emails


def test_reassign_on_breach(manager, team):
    SLAPolicy.objects.filter(severity=Severity.GENERAL).update(reassign_on_breach=True)
    c = record(sh(2026, 11, 2, 9, 0), manager, team, assignee=team["members"][0])
    sweep_at(sh(2026, 11, 2, 18, 0))
    version = c.version
    c.refresh_from_db()
    assert c.assignee == team["head"]
    # An edit form opened before the reassignment must not undo it silently.
    assert c.version == version + 1
    assert c.updated_at == sh(2026, 11, 2, 18, 0)
    event = c.events.filter(kind=ComplaintEvent.Kind.ASSIGNMENT).last()
    assert event.data["automatic"] is True
    assert event.data["assignee"] == [team["members"][0].pk, team["head"].pk]
    # The timeline: the escalation first, then the reassignment it caused.
    kinds = list(c.events.filter(created_at=sh(2026, 11, 2, 18, 0)).values_list("kind", flat=True))
    assert kinds == [ComplaintEvent.Kind.ALERT, ComplaintEvent.Kind.ASSIGNMENT]


def test_sweep_query_count_does_not_grow_with_batch_size(manager, team):
    def run(n, day):
        Complaint.objects.update(status=Status.CLOSED)  # only the new ones are due
        for _ in range(n):
            record(sh(2026, 11, day, 9, 0), manager, team, customer=CustomerFactory())
        with CaptureQueriesContext(connection) as queries:
            result = sweep_at(sh(2026, 11, day, 16, 0))
        assert result.complaints == n
        return len(queries.captured_queries)

    assert run(3, 2) == run(30, 3)


def test_who_is_told_is_read_once_per_run_not_per_batch(manager, team):
    """Memberships, notification lists and recipients come from one read per run: the
    batches of a run share them (4 batches here)."""
    for _ in range(8):
        record(sh(2026, 11, 2, 9, 0), manager, team, customer=CustomerFactory())
    with CaptureQueriesContext(connection) as queries:
        result = alerts.sweep(now=sh(2026, 11, 2, 18, 0), batch_size=2)
    assert result.complaints == 8 and result.alerts
    audience = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "complaints_departmentmembership"' in q["sql"]
        or 'FROM "complaints_notificationlist"' in q["sql"]
    ]
    assert len(audience) == 2, audience  # the memberships, the lists (their users prefetched)


def test_each_batch_claims_from_where_the_last_one_ended(manager, team):
    """Small batches: the claim resumes at the last batch's latest next_alert_at (not from the
    start of the index), yet complaints sharing that time across a batch boundary and later
    ones are all processed, each once."""
    same = [record(sh(2026, 11, 2, 9, 0), manager, team) for _ in range(3)]
    later = record(sh(2026, 11, 2, 9, 30), manager, team)
    assert len({c.next_alert_at for c in same}) == 1
    claims = []
    original = alerts._claim

    def spy(now, batch_size, rows=None, **kwargs):
        claims.append(kwargs.get("after"))
        return original(now, batch_size, rows, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alerts, "_claim", spy)
        result = alerts.sweep(now=sh(2026, 11, 2, 18, 0), batch_size=2)
    assert result.complaints == 4
    # ... and a last look from the start once the resumed scan finds nothing.
    assert claims == [None, same[0].next_alert_at, later.next_alert_at, None]
    alerted = set(DeadlineAlert.objects.values_list("complaint_id", flat=True))
    assert alerted == {c.pk for c in [*same, later]}
    assert not alerts._due(sh(2026, 11, 2, 18, 0)).exists()


def test_a_row_made_due_earlier_during_the_sweep_is_processed_in_the_same_run(manager, team):
    """The claim resumes after the last batch, but a complaint moved to an earlier alert point
    while the sweep runs (or released by a lock it was skipped for) is not left for the next
    run: the sweep ends with one claim from the start."""
    due = [record(sh(2026, 11, 2, 9, 0), manager, team) for _ in range(2)]
    moved = record(sh(2026, 11, 2, 17, 0), manager, team)  # not due at 18:00 yet
    now = sh(2026, 11, 2, 18, 0)
    assert not alerts._due(now).filter(pk=moved.pk).exists()
    original = alerts._process_isolated
    calls = []

    def process(batch, *args):
        if not calls:  # while the first batch is processed, another change re-dates `moved`
            Complaint.objects.filter(pk=moved.pk).update(next_alert_at=sh(2026, 11, 2, 8, 0))
        calls.append(sorted(c.pk for c in batch))
        return original(batch, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alerts, "_process_isolated", process)
        result = alerts.sweep(now=now, batch_size=2)
    assert calls == [sorted(c.pk for c in due), [moved.pk]]
    assert result.complaints == 3
    assert not alerts._due(now).exists()  # its next point moved on past now


def test_email_is_bilingual_and_sent_once(manager, team, single_emails):
    record(sh(2026, 11, 2, 9, 0), manager, team, assignee=team["members"][0])
    (alert_id,) = sweep_at(sh(2026, 11, 2, 16, 0)).alert_ids
    assert alerts.deliver(alert_id) == "sent"
    assert alerts.deliver(alert_id) == "skipped"
    (message,) = mail.outbox
    assert message.to == [team["members"][0].email]
    assert "提醒" in message.subject and "Reminder" in message.subject
    assert "受理" in message.body and "acknowledge" in message.body
    alert = DeadlineAlert.objects.get()
    assert (alert.delivery, alert.attempts) == (DeadlineAlert.Delivery.SENT, 1)


def test_failed_email_is_retried_with_backoff_and_never_blocks_others(
    manager, team, monkeypatch, single_emails
):
    for member in team["members"]:
        record(sh(2026, 11, 2, 9, 0), manager, team, assignee=member)
    ids = sweep_at(sh(2026, 11, 2, 16, 0)).alert_ids
    broken = team["members"][0].email
    original = alerts.EmailMultiAlternatives.send

    def send(message, *args, **kwargs):
        if broken in message.to:
            raise ConnectionRefusedError("SMTP down")
        return original(message, *args, **kwargs)

    monkeypatch.setattr(alerts.EmailMultiAlternatives, "send", send)
    now = sh(2026, 11, 2, 16, 1)
    assert alerts.deliver_many(ids, now=now) == {"retry": 1, "sent": 1}
    failing = DeadlineAlert.objects.get(emails=[broken])
    assert failing.delivery == DeadlineAlert.Delivery.PENDING
    assert failing.next_attempt_at == sh(2026, 11, 2, 16, 2)
    assert "SMTP down" in failing.last_error
    # Not due yet: nothing to do; then due, fails again, waits twice as long.
    assert alerts.pending_deliveries(now=now) == []
    later = sh(2026, 11, 2, 16, 2)
    assert alerts.pending_deliveries(now=later) == [failing.pk]
    alerts.deliver_many(alerts.pending_deliveries(now=later), now=later)
    failing.refresh_from_db()
    assert failing.next_attempt_at == sh(2026, 11, 2, 16, 4)
    # After the last attempt it is marked failed for the admin to see.
    for _ in range(alerts.MAX_ATTEMPTS):
        failing.refresh_from_db()
        if failing.delivery == DeadlineAlert.Delivery.FAILED:
            break
        alerts.deliver(failing.pk, now=failing.next_attempt_at)
    failing.refresh_from_db()
    assert failing.delivery == DeadlineAlert.Delivery.FAILED
    assert failing.attempts == alerts.MAX_ATTEMPTS


def test_a_delivery_claimed_by_a_dead_worker_is_taken_over(manager, team):
    record(sh(2026, 11, 2, 9, 0), manager, team, assignee=team["members"][0])
    (alert_id,) = sweep_at(sh(2026, 11, 2, 16, 0)).alert_ids
    DeadlineAlert.objects.filter(pk=alert_id).update(
        delivery=DeadlineAlert.Delivery.SENDING, claimed_at=sh(2026, 11, 2, 16, 0)
    )
    assert alerts.pending_deliveries(now=sh(2026, 11, 2, 16, 5)) == []
    assert alerts.pending_deliveries(now=sh(2026, 11, 2, 16, 11)) == [alert_id]
    assert alerts.deliver(alert_id, now=sh(2026, 11, 2, 16, 11)) == "sent"


def test_alert_without_email_addresses_is_not_queued(manager, team):
    team["members"][0].email = ""
    team["members"][0].save()
    record(sh(2026, 11, 2, 9, 0), manager, team, assignee=team["members"][0])
    sweep_at(sh(2026, 11, 2, 16, 0))
    alert = DeadlineAlert.objects.get()
    assert alert.delivery == DeadlineAlert.Delivery.NONE
    assert Notification.objects.filter(user=team["members"][0]).count() == 1


def test_enqueue_survives_a_dead_broker(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.deliver_alerts, "apply_async", refuse)
    assert tasks.enqueue(tasks.deliver_alerts, [1]) is False


def test_tasks_run_the_services(manager, team, single_emails):
    record(sh(2026, 11, 2, 9, 0), manager, team, assignee=team["members"][0])
    with time_machine.travel(sh(2026, 11, 2, 16, 0), tick=False):
        assert tasks.sweep_deadlines() == {"complaints": 1, "alerts": 1}
        assert tasks.deliver_pending_alerts() == {"sent": 1}
    assert len(mail.outbox) == 1


def test_the_delivery_sweep_sends_every_page_in_one_run(manager, team, single_emails):
    """More alerts waiting than one page (say, a worker died after several batches of a
    sweep had committed but before it sent their delivery tasks): one run sends them all."""
    for _ in range(5):
        record(sh(2026, 11, 2, 9, 0), manager, team, assignee=team["members"][0])
    with time_machine.travel(sh(2026, 11, 2, 16, 0), tick=False), pytest.MonkeyPatch.context() as p:
        p.setattr(tasks, "DELIVERY_PAGE", 2)
        assert sweep_at(sh(2026, 11, 2, 16, 0)).alerts == 5
        assert tasks.deliver_pending_alerts() == {"sent": 5}
        assert tasks.deliver_pending_alerts() == {}
    assert len(mail.outbox) == 5


def test_meeting_the_escalated_deadline_clears_the_escalation(manager, team):
    c = record(sh(2026, 11, 2, 9, 0), manager, team)
    sweep_at(sh(2026, 11, 2, 18, 0))
    assert schedule(c).escalation_level == 1
    with time_machine.travel(sh(2026, 11, 2, 18, 30), tick=False):
        lifecycle.transition(c.pk, Status.ACKNOWLEDGED, user=manager)
    assert schedule(c).next_alert_at <= sh(2026, 11, 2, 18, 30)  # looked at again at once
    sweep_at(sh(2026, 11, 2, 18, 31))
    assert schedule(c).escalation_level == 0
    # the first response's warning point
    assert schedule(c).next_alert_at > sh(2026, 11, 2, 18, 31)


def test_a_crisis_in_the_batch_does_not_copy_its_list_to_other_escalations(manager, team):
    record(sh(2026, 11, 2, 8, 0), manager, team, media_risk=True)
    ordinary = record(sh(2026, 11, 2, 9, 0), manager, team)
    sweep_at(sh(2026, 11, 3, 9, 0))
    escalation = ordinary.alerts.get(kind=Kind.ACK, level=Level.ESCALATION_1)
    assert escalation.recipients == [team["head"].pk]
    assert escalation.emails == [team["head"].email]


def test_the_sweep_writes_exactly_these_rows(manager, team, settings):
    """The alert, its inbox entry, digest entry and timeline event, and the schedule's marks,
    field by field (PostgreSQL writes them in one statement, other databases with bulk_create:
    the same rows either way); the complaint row itself is left as it was."""
    settings.REDRESS_ALERT_DIGEST = {"reminder": 30, "escalation": None}
    assignee = team["members"][0]
    c = record(sh(2026, 11, 2, 9, 0), manager, team, assignee=assignee)
    before = Complaint.objects.get(pk=c.pk)
    now = sh(2026, 11, 2, 15, 45)

    (alert_id,) = sweep_at(now).alert_ids

    alert = DeadlineAlert.objects.get()
    assert alert.pk == alert_id
    assert (alert.kind, alert.level, alert.deadline) == (Kind.ACK, Level.WARNING, c.ack_due_at)
    assert (alert.recipients, alert.emails) == ([assignee.pk], [assignee.email])
    assert (alert.delivery, alert.created_at, alert.attempts) == (
        DeadlineAlert.Delivery.DIGEST,
        now,
        0,
    )
    assert (alert.next_attempt_at, alert.claimed_at, alert.sent_at, alert.last_error) == (
        None,
        None,
        None,
        "",
    )
    message = alerts.alert_message(before, Kind.ACK, Level.WARNING)
    (inbox,) = Notification.objects.all()
    assert (inbox.user_id, inbox.complaint_id, inbox.alert_id) == (assignee.pk, c.pk, alert.pk)
    assert (inbox.title, inbox.body, inbox.created_at, inbox.read_at) == (message, "", now, None)
    assert inbox.approval_alert_id is None
    (entry,) = DigestEntry.objects.all()
    assert (entry.alert_id, entry.email, entry.delivery) == (
        alert.pk,
        assignee.email,
        DeadlineAlert.Delivery.PENDING,
    )
    assert (entry.next_attempt_at, entry.attempts, entry.claim) == (
        now + timedelta(minutes=30),
        0,
        "",
    )
    event = c.events.get(kind=ComplaintEvent.Kind.ALERT)
    assert (event.created_at, event.actor_id, event.note) == (now, None, "")
    assert event.data == {
        "message": message,
        "alert": alert.pk,
        "kind": "ack",
        "level": 0,
        "deadline": timezone.localtime(c.ack_due_at).isoformat(),
        "recipients": 1,
        "emails": 1,
    }
    assert (schedule(c).next_alert_at, schedule(c).escalation_level) == (c.ack_due_at, 0)
    after = Complaint.objects.get(pk=c.pk)
    assert (after.alert_failures, after.alert_error) == (0, "")
    assert (after.updated_at, after.version, after.assignee_id, after.next_alert_at) == (
        before.updated_at,
        before.version,
        assignee.pk,
        before.next_alert_at,
    )


def test_a_complaint_with_nothing_new_keeps_its_updated_at_and_version(manager, team):
    c = record(sh(2026, 11, 2, 9, 0), manager, team, assignee=team["members"][0])
    sweep_at(sh(2026, 11, 2, 15, 45))
    seen = Complaint.objects.get(pk=c.pk)
    seen_look = schedule(c).next_alert_at
    # The bookmark lost (e.g. restored from a backup): the sweep looks again, finds nothing.
    AlertSchedule.objects.filter(complaint_id=c.pk).update(next_alert_at=sh(2026, 11, 2, 15, 45))
    result = sweep_at(sh(2026, 11, 2, 16, 0))
    assert (result.complaints, result.alerts) == (1, 0)
    assert schedule(c).next_alert_at == seen_look
    after = Complaint.objects.get(pk=c.pk)
    assert (after.updated_at, after.version) == (seen.updated_at, seen.version)


@pytest.mark.postgres
def test_a_batch_is_written_with_one_insert_and_one_update(manager, team):
    """Alerts, inbox entries, digest entries and timeline events in one INSERT ... SELECT,
    the complaints' marks in one UPDATE: not a statement per table (or per row)."""
    for assignee in [None, *team["members"]]:
        record(sh(2026, 11, 2, 9, 0), manager, team, assignee=assignee)
    crisis = record(sh(2026, 11, 2, 9, 0), manager, team, media_risk=True)
    assert crisis.severity == Severity.CRISIS
    with CaptureQueriesContext(connection) as queries:
        result = sweep_at(sh(2026, 11, 3, 16, 0))  # reminders, escalations, crisis notice
    assert result.alerts > result.complaints == 4
    writes = [q["sql"].lstrip().split()[0] for q in queries.captured_queries]
    writes = [w for w in writes if w in ("INSERT", "UPDATE", "WITH", "DELETE")]
    assert writes == ["WITH", "UPDATE"]
    assert Notification.objects.count() > result.alerts
    assert ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.ALERT).count() == result.alerts


@pytest.mark.postgres
def test_the_claim_reads_in_binary_the_values_the_orm_reads(manager, team):
    """The claim's rows come from a server-bound cursor in binary (its times loaded in C),
    logged like any statement, with the ORM's values; a column Django converts after
    reading (JSON) is read by the ORM, and a query that matches nothing reads nothing."""
    from django.db.models import F

    for assignee in [None, *team["members"]]:
        record(sh(2026, 11, 2, 9, 0), manager, team, assignee=assignee)
    rows = Complaint.objects.filter(severity__gte=1).order_by("pk")
    values = rows.annotate(scheduled_at=F("alert_schedule__next_alert_at")).values_list(
        *alerts.DUE_FIELDS
    )
    with CaptureQueriesContext(connection) as queries:
        loaded = alerts._load(rows)
    [query] = queries.captured_queries
    assert "$1" in query["sql"]  # bound by the server (Django's own cursors write literals)
    assert len(loaded) == Complaint.objects.count() >= 2
    assert [tuple(getattr(d, f) for f in alerts.DUE_FIELDS) for d in loaded] == list(values)
    assert all(d.received_at.utcoffset() is not None for d in loaded)
    as_json = Complaint.objects.order_by("pk").values_list("pk", "severity_reason")
    assert alerts._binary_rows(as_json) == list(as_json)  # parsed JSON, not its text
    assert alerts._binary_rows(Complaint.objects.filter(pk__in=[]).values_list("pk")) == []


def test_inside_a_transaction_the_sweep_keeps_to_the_callers_connection(manager, team, settings):
    """Other connections would not see the caller's uncommitted rows: no threads then."""
    settings.REDRESS_SWEEP_CONNECTIONS = 4
    record(sh(2026, 11, 2, 9, 0), manager, team)
    assert connection.in_atomic_block  # the test's transaction
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alerts.threading, "Thread", None)  # any thread would fail
        result = alerts.sweep(now=sh(2026, 11, 2, 16, 0))
    assert result.complaints == 1
