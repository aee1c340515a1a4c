"""Approvals reach the approvers exactly once (inbox and email), and a proposal waiting longer
than REDRESS_APPROVAL_ESCALATION_HOURS is escalated exactly once."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from complaints.messages import render
from complaints.models import ApprovalAlert, ComplaintEvent, Notification, NotificationList
from complaints.services import compensation as comp
from complaints.services import compensation_alerts
from complaints.tasks import sweep_compensation_approvals

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(timezone.datetime(2026, 12, 1, 10, 0))


@pytest.fixture
def proposal(complaint, people, django_capture_on_commit_callbacks):
    for user in people.values():
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        return comp.propose(
            complaint.pk,
            user=people["handler"],
            kind="refund",
            amount="2500.00",
            description="Refund of the service fee",
        )


def inbox(user):
    return list(Notification.objects.filter(user=user).values_list("title", flat=True))


def test_approvers_whose_limit_covers_it_hear_of_it_once(proposal, people):
    alert = ApprovalAlert.objects.get(compensation=proposal)
    assert alert.level == ApprovalAlert.Level.REQUEST
    # 2,500 is above the heads' 2,000: only the approver and the manager are told.
    assert sorted(alert.recipients) == sorted([people["approver"].pk, people["manager"].pk])
    assert inbox(people["approver"]) and inbox(people["manager"])
    assert not inbox(people["head"]) and not inbox(people["handler"])
    title = inbox(people["approver"])[0]  # a stored message, shown in the reader's language
    with translation.override("zh-hans"):
        zh = render(title)
    assert f"#{proposal.pk}" in zh and "2,500.00 CNY" in zh and "审批" in zh
    assert render(title).startswith("Approval requested: compensation")
    # The email went out at once (after commit), in both languages.
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["april@example.com", "mona@example.com"]
    assert "Approval requested" in mail.outbox[0].subject
    alert.refresh_from_db()
    assert alert.delivery == ApprovalAlert.Delivery.SENT
    # Sweeping again (before the escalation point) sends nothing more.
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert sweep_compensation_approvals() == {"escalated": 0}
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(approval_alert__isnull=False).count() == 2


def test_a_second_notice_is_impossible(proposal, people, complaint):
    alert = ApprovalAlert.objects.get(compensation=proposal)
    assert (
        compensation_alerts._write(
            proposal, complaint, ApprovalAlert.Level.REQUEST, [people["head"].pk], (), now=NOW
        )
        is None
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            user=people["approver"], complaint=complaint, approval_alert=alert, title="again"
        )


def test_waiting_too_long_escalates_once(proposal, people, settings, complaint):
    settings.REDRESS_APPROVAL_ESCALATION_HOURS = 24
    managers = NotificationList.objects.get(code=NotificationList.MANAGERS)
    managers.users.add(people["manager"])
    managers.extra_emails = "cfo@example.com"
    managers.save()
    with time_machine.travel(NOW + timedelta(hours=23, minutes=59), tick=False):
        assert compensation_alerts.escalate_overdue() == 0
    with time_machine.travel(NOW + timedelta(hours=24), tick=False):
        assert sweep_compensation_approvals()["escalated"] == 1
        assert compensation_alerts.escalate_overdue() == 0
    escalation = ApprovalAlert.objects.get(
        compensation=proposal, level=ApprovalAlert.Level.ESCALATION
    )
    # Heads of the complaint's department and the complaint managers.
    assert sorted(escalation.recipients) == sorted(
        [people["head"].pk, people["head2"].pk, people["manager"].pk]
    )
    assert "cfo@example.com" in escalation.emails
    assert any("Approval overdue" in m.subject for m in mail.outbox)
    event = ComplaintEvent.objects.filter(complaint=complaint).order_by("-pk").first()
    assert event.data["approval_alert"] == escalation.pk
    proposal.refresh_from_db()
    assert proposal.approval_escalated_at == NOW + timedelta(hours=24)


def test_decided_proposals_are_not_escalated(proposal, people):
    comp.approve(proposal.pk, user=people["approver"])
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        assert compensation_alerts.escalate_overdue() == 0


def test_failed_email_is_retried_not_lost(complaint, people, monkeypatch):
    people["approver"].email = "april@example.com"
    people["approver"].save()

    def broken(self, *a, **k):
        raise OSError("SMTP down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
    c = comp.propose(
        complaint.pk, user=people["handler"], kind="cash", amount="3000", description="x"
    )
    alert = ApprovalAlert.objects.get(compensation=c)
    assert compensation_alerts.deliver(alert.pk) == "retry"
    alert.refresh_from_db()
    assert alert.delivery == ApprovalAlert.Delivery.PENDING and "SMTP down" in alert.last_error
    monkeypatch.undo()
    assert compensation_alerts.deliver(alert.pk, now=timezone.now() + timedelta(minutes=2)) == (
        "sent"
    )


def test_nobody_can_approve_tells_the_managers(complaint, people):
    managers = NotificationList.objects.get(code=NotificationList.MANAGERS)
    managers.users.add(people["manager"])
    c = comp.propose(
        complaint.pk, user=people["handler"], kind="cash", amount="999999", description="x"
    )
    alert = ApprovalAlert.objects.get(compensation=c)
    assert alert.recipients == [people["manager"].pk]
