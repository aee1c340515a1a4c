"""Reminders of due follow-ups and overdue improvement actions: exactly once, inbox + email."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail

from complaints.models import DepartmentMembership, Notification, RootCause, Status
from complaints.services import lifecycle
from followups import tasks
from followups.models import FollowUp, ImprovementAction, Kind, Reminder
from followups.services import reminders
from tests.factories import MembershipFactory, UserFactory

from .conftest import FOLLOWUP_PERMS, sh

pytestmark = pytest.mark.django_db
AT = sh(2026, 11, 2, 10, 0)  # callback due Wed 4 Nov 10:00


@pytest.fixture
def handler_with_email(department):
    user = UserFactory(username="li", email="li@example.com", perms=FOLLOWUP_PERMS)
    MembershipFactory(department=department, user=user)
    return user


def test_due_follow_up_is_reminded_once(resolved, cn2026, handler_with_email):
    complaint = resolved(AT, assignee=handler_with_email)
    # Not yet: the reminder goes out 4 h before the due time.
    assert reminders.remind_followups(now=sh(2026, 11, 4, 5, 59)) == []
    ids = reminders.remind_followups(now=sh(2026, 11, 4, 6, 0))
    assert len(ids) == 1
    assert reminders.remind_followups(now=sh(2026, 11, 4, 7, 0)) == []  # twice: nothing new
    reminder = Reminder.objects.get()
    assert reminder.followup.kind == Kind.CALLBACK
    assert reminder.recipients == [handler_with_email.pk]
    assert reminder.emails == ["li@example.com"]
    (note,) = Notification.objects.filter(user=handler_with_email)
    assert note.complaint == complaint
    assert complaint.reference in note.title
    assert reminders.deliver_many(ids) == {"sent": 1}
    assert reminders.deliver_many(ids) == {"skipped": 1}
    (message,) = mail.outbox
    assert complaint.reference in message.subject and "#followups" in message.body


def test_the_task_reminds_and_sends(resolved, cn2026, handler_with_email):
    resolved(AT, assignee=handler_with_email)
    with time_machine.travel(sh(2026, 11, 5, 9, 0), tick=False):
        assert tasks.remind_due.delay().get() == {"followups": 1, "actions": 0}
        assert tasks.remind_due.delay().get() == {"followups": 0, "actions": 0}
    assert len(mail.outbox) == 1
    assert "overdue" in mail.outbox[0].subject.lower()


def test_without_assignee_the_department_is_reminded(resolved, cn2026, handler_with_email):
    resolved(AT)
    reminders.remind_followups(now=sh(2026, 11, 4, 9, 0))
    assert Reminder.objects.get().recipients == [handler_with_email.pk]


def test_a_reopened_complaint_gets_no_follow_up_reminders(resolved, cn2026, fmanager):
    complaint = resolved(AT)
    lifecycle.transition(complaint.pk, Status.REOPENED, user=fmanager, note="Leak again")
    assert reminders.remind_followups(now=sh(2026, 11, 20, 9, 0)) == []


def test_a_new_assignee_is_reminded_again(resolved, cn2026, handler_with_email, fmanager):
    from followups.services import visits

    complaint = resolved(AT)
    reminders.remind_followups(now=sh(2026, 11, 4, 9, 0))
    followup = FollowUp.objects.get(complaint=complaint, kind=Kind.CALLBACK)
    later = followup.due_at + timedelta(days=1)
    visits.reschedule(
        followup.pk, user=fmanager, assignee=handler_with_email, method="phone", due_at=later
    )
    assert len(reminders.remind_followups(now=later)) == 1
    assert Reminder.objects.filter(followup=followup).count() == 2


def test_failed_email_is_retried_with_backoff(resolved, cn2026, handler_with_email, settings):
    resolved(AT, assignee=handler_with_email)
    (reminder_id,) = reminders.remind_followups(now=sh(2026, 11, 4, 9, 0))
    settings.EMAIL_BACKEND = "tests.followups.test_reminders.BrokenBackend"
    assert reminders.deliver(reminder_id, now=sh(2026, 11, 4, 9, 0)) == "retry"
    reminder = Reminder.objects.get()
    assert (reminder.delivery, reminder.attempts) == ("pending", 1)
    assert reminder.next_attempt_at == sh(2026, 11, 4, 9, 1)
    assert reminders.pending(now=sh(2026, 11, 4, 9, 0, 30)) == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert reminders.pending(now=sh(2026, 11, 4, 9, 1)) == [reminder_id]
    assert reminders.deliver(reminder_id, now=sh(2026, 11, 4, 9, 1)) == "sent"


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP down")


def test_overdue_improvement_action_reminded_once_per_due_date(
    resolved, cn2026, handler_with_email, department
):
    complaint = resolved(AT)
    head = UserFactory(username="head", email="head@example.com")
    MembershipFactory(department=department, user=head, role=DepartmentMembership.Role.HEAD)
    action = ImprovementAction.objects.create(
        title="Replace the riser pipes",
        root_cause=RootCause.objects.create(code="material", name="材料"),
        department=department,
        owner=handler_with_email,
        due_date=date(2026, 11, 10),
    )
    action.complaints.add(complaint)
    assert reminders.remind_actions(now=sh(2026, 11, 10, 12, 0)) == []  # due today: not yet
    ids = reminders.remind_actions(now=sh(2026, 11, 11, 0, 5))
    assert len(ids) == 1
    assert reminders.remind_actions(now=sh(2026, 11, 12, 9, 0)) == []
    reminder = Reminder.objects.get(action=action)
    assert reminder.recipients == [handler_with_email.pk, head.pk]
    assert Notification.objects.filter(complaint=complaint).count() == 2
    # A new due date that passes is reminded again.
    ImprovementAction.objects.filter(pk=action.pk).update(due_date=date(2026, 11, 20))
    assert reminders.remind_actions(now=sh(2026, 11, 15, 9, 0)) == []
    assert len(reminders.remind_actions(now=sh(2026, 11, 21, 9, 0))) == 1
