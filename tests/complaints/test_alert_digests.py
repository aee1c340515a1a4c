"""Digests of deadline alert emails: one email per recipient address listing its due
reminders; crisis always alone and at once; every alert delivered exactly once through SMTP
failures, dead workers and poisoned rows; the inbox unchanged."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db.models import F
from django.utils import translation

from complaints import tasks
from complaints.models import (
    AlertSchedule,
    DeadlineAlert,
    DigestEntry,
    Notification,
    Severity,
)
from complaints.services import alerts, digests
from tests.complaints import test_alerts
from tests.complaints.test_alerts import record, sh
from tests.complaints.test_poisoned_rows import poison
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
team = test_alerts.team  # the fixture: a department, managers and a crisis list
Delivery = DeadlineAlert.Delivery
AT = sh(2026, 11, 2, 9, 0)  # received; the acknowledge reminders fall due by 16:00
SWEEP = sh(2026, 11, 2, 16, 0)
WINDOW = sh(2026, 11, 2, 16, 5)  # the default 5 gathering minutes have passed


def many(manager, team, assignees, **fields):
    return [
        record(AT, manager, team, assignee=user, customer=CustomerFactory(), **fields)
        for user in assignees
    ]


def to(address):
    return [message for message in mail.outbox if message.to == [address]]


def test_each_recipient_gets_one_digest_of_all_their_reminders(manager, team):
    m0, m1 = team["members"]
    mine = many(manager, team, [m0] * 5)
    theirs = many(manager, team, [m1] * 2)
    result = alerts.sweep(now=SWEEP)
    assert result.alerts == 7
    assert set(DeadlineAlert.objects.values_list("delivery", flat=True)) == {Delivery.DIGEST}
    # The inbox is as before: one entry per alert and recipient, at once.
    assert Notification.objects.filter(user=m0).count() == 5
    assert Notification.objects.filter(user=m1).count() == 2

    # Gathered for 5 minutes: nothing goes before, the delivery task sends them after.
    assert digests.pending_digests(now=SWEEP + timedelta(minutes=4)) == []
    with time_machine.travel(SWEEP, tick=False):
        assert tasks.deliver_alerts(result.alert_ids) == {}
    with time_machine.travel(WINDOW, tick=False):
        assert tasks.deliver_pending_alerts() == {"digest sent": 2}
        assert tasks.deliver_pending_alerts() == {}
    assert len(mail.outbox) == 2
    (message,) = to(m0.email)
    assert "5 deadline alerts for you" in message.subject
    for complaint in mine:
        assert message.body.count(complaint.reference) == 2  # Chinese part and English part
        assert f"/admin/complaints/complaint/{complaint.pk}/change/" in message.body
    assert not any(c.reference in message.body for c in theirs)
    assert "Acknowledge" in message.body or "acknowledge" in message.body
    assert "Due: 2026-11-02 18:00" in message.body
    (other,) = to(m1.email)
    assert "2 deadline alerts for you" in other.subject
    assert set(DeadlineAlert.objects.values_list("delivery", "sent_at")) == {
        (Delivery.SENT, WINDOW)
    }
    assert set(DigestEntry.objects.values_list("delivery", flat=True)) == {Delivery.SENT}


def test_digest_is_bilingual_with_the_chinese_first(manager, team):
    many(manager, team, [team["members"][0]] * 3)
    alerts.sweep(now=SWEEP)
    digests.deliver_digests(digests.pending_digests(now=WINDOW), now=WINDOW)
    (message,) = mail.outbox
    with translation.override("zh-hans"):
        chinese = digests.ngettext(
            "%(count)d deadline alert for you", "%(count)d deadline alerts for you", 3
        ) % {"count": 3}
    assert chinese != "3 deadline alerts for you"
    assert message.subject == f"[Redress] {chinese} / 3 deadline alerts for you"
    assert message.body.index(chinese) < message.body.index("3 deadline alerts for you")
    assert "截止" in message.body or "到期" in message.body


def test_an_unassigned_reminder_goes_in_every_member_s_own_digest(manager, team):
    (complaint,) = many(manager, team, [None])
    (alert_id,) = alerts.sweep(now=SWEEP).alert_ids
    department = sorted(u.email for u in [team["head"], *team["members"]])
    assert sorted(DigestEntry.objects.values_list("email", flat=True)) == department
    assert digests.deliver_digests(digests.pending_digests(now=WINDOW), now=WINDOW) == {
        "digest sent": 3
    }
    assert sorted(m.to[0] for m in mail.outbox) == department
    assert all(complaint.reference in m.body for m in mail.outbox)
    assert DeadlineAlert.objects.get(pk=alert_id).delivery == Delivery.SENT


def test_crisis_alerts_never_go_in_a_digest(manager, team, settings):
    settings.REDRESS_ALERT_DIGEST = {"reminder": 0, "escalation": 0}
    crisis = record(AT, manager, team, assignee=team["members"][0], media_risk=True)
    assert crisis.severity == Severity.CRISIS
    ordinary = record(AT, manager, team, assignee=team["members"][0], customer=CustomerFactory())
    alerts.sweep(now=sh(2026, 11, 3, 16, 0))  # escalations too, for both
    rows = DeadlineAlert.objects.select_related("complaint")
    assert {a.delivery for a in rows if a.complaint_id == crisis.pk} == {Delivery.PENDING}
    assert {a.delivery for a in rows if a.complaint_id == ordinary.pk} == {Delivery.DIGEST}
    assert not DigestEntry.objects.filter(alert__complaint=crisis).exists()
    # Each crisis alert is its own email, sent by the delivery task at once.
    crisis_alerts = [a for a in rows if a.complaint_id == crisis.pk]
    outcome = tasks.deliver_alerts([a.pk for a in crisis_alerts])
    assert outcome["sent"] == len(crisis_alerts)
    assert all(crisis.reference in m.subject for m in mail.outbox[: len(crisis_alerts)])


def test_escalations_go_alone_unless_switched_on(manager, team, settings):
    first = record(AT, manager, team, customer=CustomerFactory())
    alerts.sweep(now=sh(2026, 11, 3, 16, 0))  # acknowledge overdue: escalations
    escalations = DeadlineAlert.objects.filter(complaint=first, level__gt=0)
    assert escalations.exists()
    assert set(escalations.values_list("delivery", flat=True)) == {Delivery.PENDING}

    settings.REDRESS_ALERT_DIGEST = {"reminder": None, "escalation": 0}
    second = record(AT, manager, team, customer=CustomerFactory())
    alerts.sweep(now=sh(2026, 11, 3, 16, 0))
    rows = DeadlineAlert.objects.filter(complaint=second)
    assert set(rows.filter(level__gt=0).values_list("delivery", flat=True)) == {Delivery.DIGEST}
    assert set(rows.filter(level=0).values_list("delivery", flat=True)) <= {Delivery.PENDING}


def test_a_failed_digest_is_retried_whole_and_never_duplicated(manager, team, monkeypatch):
    m0, m1 = team["members"]
    many(manager, team, [m0] * 3 + [m1] * 2)
    alerts.sweep(now=SWEEP)
    original = digests.EmailMultiAlternatives.send
    down = {m0.email}

    def send(message, *args, **kwargs):
        if set(message.to) & down:
            raise ConnectionRefusedError("SMTP down")
        return original(message, *args, **kwargs)

    monkeypatch.setattr(digests.EmailMultiAlternatives, "send", send)
    assert digests.deliver_digests(digests.pending_digests(now=WINDOW), now=WINDOW) == {
        "digest retry": 1,
        "digest sent": 1,
    }
    mine = DigestEntry.objects.filter(email=m0.email)
    assert set(mine.values_list("delivery", "attempts", "claim")) == {(Delivery.PENDING, 1, "")}
    assert set(mine.values_list("next_attempt_at", flat=True)) == {WINDOW + timedelta(minutes=1)}
    waiting = DeadlineAlert.objects.filter(digest_entries__email=m0.email)
    assert {(a.delivery, "SMTP down" in a.last_error) for a in waiting} == {(Delivery.DIGEST, True)}
    # Not again before the backoff; then the same three alerts in one digest.
    assert digests.pending_digests(now=WINDOW) == []
    down.clear()
    later = WINDOW + timedelta(minutes=1)
    assert digests.deliver_digests(digests.pending_digests(now=later), now=later) == {
        "digest sent": 1
    }
    assert len(to(m0.email)) == 1 and len(to(m1.email)) == 1
    assert "3 deadline alerts for you" in to(m0.email)[0].subject
    assert set(DeadlineAlert.objects.values_list("delivery", "last_error")) == {(Delivery.SENT, "")}


def test_a_digest_that_keeps_failing_fails_its_alerts_and_can_be_sent_again(
    manager, team, monkeypatch
):
    many(manager, team, [team["members"][0]] * 2)
    alerts.sweep(now=SWEEP)

    def refuse(message, *args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    original = digests.EmailMultiAlternatives.send
    monkeypatch.setattr(digests.EmailMultiAlternatives, "send", refuse)
    now, results = WINDOW, []
    for _ in range(alerts.MAX_ATTEMPTS):
        results.append(digests.deliver_digest(team["members"][0].email, now=now))
        now = DigestEntry.objects.order_by("next_attempt_at").first().next_attempt_at
    assert results == ["retry"] * (alerts.MAX_ATTEMPTS - 1) + ["failed"]
    assert set(DeadlineAlert.objects.values_list("delivery", flat=True)) == {Delivery.FAILED}
    assert digests.pending_digests(now=now + timedelta(days=1)) == []

    monkeypatch.setattr(digests.EmailMultiAlternatives, "send", original)
    ids = list(DeadlineAlert.objects.values_list("pk", flat=True))
    assert alerts.retry_deliveries(ids) == 2  # the admin's "send again"
    assert set(DeadlineAlert.objects.values_list("delivery", flat=True)) == {Delivery.DIGEST}
    assert tasks.deliver_alerts(ids) == {"digest sent": 1}
    assert len(mail.outbox) == 1
    assert set(DeadlineAlert.objects.values_list("delivery", flat=True)) == {Delivery.SENT}


def test_a_digest_held_by_a_dead_worker_is_taken_over_once(manager, team):
    address = team["members"][0].email
    many(manager, team, [team["members"][0]] * 2)
    alerts.sweep(now=SWEEP)
    # A worker claimed the digest and died before sending it.
    assert digests._claim(address, WINDOW)
    assert digests.pending_digests(now=WINDOW) == []
    assert digests.deliver_digest(address, now=WINDOW) == "skipped"  # still held
    soon = WINDOW + alerts.CLAIM_TIMEOUT - timedelta(seconds=1)
    assert digests.deliver_digest(address, now=soon) == "skipped"
    late = WINDOW + alerts.CLAIM_TIMEOUT + timedelta(seconds=1)
    assert digests.pending_digests(now=late) == [address]
    assert digests.deliver_digest(address, now=late) == "sent"
    assert digests.deliver_digest(address, now=late) == "skipped"
    assert len(mail.outbox) == 1
    assert set(DigestEntry.objects.values_list("delivery", "attempts")) == {(Delivery.SENT, 2)}


def test_two_workers_claiming_at_once_send_each_alert_once(manager, team):
    address = team["members"][0].email
    many(manager, team, [team["members"][0]] * 3)
    alerts.sweep(now=SWEEP)
    first = digests._claim(address, WINDOW)
    second = digests._claim(address, WINDOW)
    assert first and second is None
    assert DigestEntry.objects.filter(claim=first).count() == 3


def test_a_poisoned_alert_is_left_out_and_the_others_go(manager, team):
    m0 = team["members"][0]
    complaints = many(manager, team, [m0] * 3)
    alerts.sweep(now=SWEEP)
    unreadable, unrenderable = complaints[0], complaints[1]
    poison(unreadable.pk)
    DeadlineAlert.objects.filter(complaint=unrenderable).update(kind="bogus")
    assert digests.deliver_digests([m0.email], now=WINDOW) == {"digest sent": 1}
    (message,) = mail.outbox
    assert "1 deadline alert for you" in message.subject
    assert complaints[2].reference in message.body
    good = DeadlineAlert.objects.get(complaint=complaints[2])
    assert good.delivery == Delivery.SENT
    bad = DigestEntry.objects.exclude(alert=good)
    assert set(bad.values_list("delivery", "attempts")) == {(Delivery.PENDING, 1)}
    assert all(bad.values_list("last_error", flat=True))
    assert (
        DeadlineAlert.objects.filter(delivery=Delivery.DIGEST).exclude(last_error="").count() == 2
    )
    # Retried later on their own, never stopping the next digests either.
    m0_later = record(AT, manager, team, assignee=m0, customer=CustomerFactory())
    AlertSchedule.objects.filter(complaint_id=m0_later.pk).update(next_alert_at=SWEEP)
    later = WINDOW + timedelta(minutes=10)
    alerts.sweep(now=later - timedelta(minutes=5))
    assert digests.deliver_digests([m0.email], now=later) == {"digest sent": 1}
    assert m0_later.reference in mail.outbox[-1].body


def test_one_bad_address_never_stops_the_others(manager, team, monkeypatch):
    m0, m1 = team["members"]
    many(manager, team, [m0, m1])
    alerts.sweep(now=SWEEP)
    original = digests.deliver_digest

    def explode(address, **kwargs):
        if address == m0.email:
            raise RuntimeError("database hiccup")
        return original(address, **kwargs)

    monkeypatch.setattr(digests, "deliver_digest", explode)
    outcome = digests.deliver_digests([m0.email, m1.email], now=WINDOW)
    assert outcome == {"digest error": 1, "digest sent": 1}
    assert [m.to for m in mail.outbox] == [[m1.email]]


def test_a_large_digest_is_split_and_queries_stay_flat(
    manager, team, monkeypatch, django_assert_max_num_queries
):
    m0 = team["members"][0]
    many(manager, team, [m0] * 7)
    alerts.sweep(now=SWEEP)
    monkeypatch.setattr(digests, "MAX_ITEMS", 3)
    with django_assert_max_num_queries(3 * 12):
        assert digests.deliver_digests([m0.email], now=WINDOW) == {"digest sent": 3}
    assert [m.subject.rsplit(" / ", 1)[1] for m in mail.outbox] == [
        "3 deadline alerts for you",
        "3 deadline alerts for you",
        "1 deadline alert for you",
    ]
    assert DigestEntry.objects.filter(delivery=Delivery.SENT).count() == 7


def test_digest_queries_do_not_grow_with_the_alerts(manager, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    m0 = team["members"][0]
    many(manager, team, [m0] * 2)
    alerts.sweep(now=SWEEP)
    with CaptureQueriesContext(connection) as small:
        digests.deliver_digests([m0.email], now=WINDOW)
    DigestEntry.objects.update(delivery=Delivery.PENDING, attempts=0)
    DeadlineAlert.objects.update(delivery=Delivery.DIGEST)
    many(manager, team, [m0] * 20)
    AlertSchedule.objects.update(next_alert_at=SWEEP)
    alerts.sweep(now=SWEEP)
    DigestEntry.objects.update(next_attempt_at=F("next_attempt_at") - timedelta(hours=1))
    with CaptureQueriesContext(connection) as large:
        assert digests.deliver_digests([m0.email], now=WINDOW) == {"digest sent": 1}
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_setting_switches_reminder_digests_off(manager, team, settings):
    settings.REDRESS_ALERT_DIGEST = {"reminder": None, "escalation": None}
    many(manager, team, [team["members"][0]] * 2)
    ids = alerts.sweep(now=SWEEP).alert_ids
    assert not DigestEntry.objects.exists()
    assert tasks.deliver_alerts(ids) == {"sent": 2}
    assert len(mail.outbox) == 2


def test_the_admin_shows_each_address_s_digest_state(manager, team, login_client, superuser):
    many(manager, team, [None])
    (alert_id,) = alerts.sweep(now=SWEEP).alert_ids
    digests.deliver_digest(team["members"][0].email, now=WINDOW)
    client = login_client(superuser)
    response = client.get(f"/admin/complaints/deadlinealert/{alert_id}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{team['members'][0].email} (Sent)" in page
    assert f"{team['members'][1].email} (Waiting to be sent)" in page
    listing = client.get("/admin/complaints/deadlinealert/").content.decode()
    assert "In the recipients&#x27; digests" in listing or "In the recipients' digests" in listing
