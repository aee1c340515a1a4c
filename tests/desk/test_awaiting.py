"""Awaiting customer: the follow-up date asked on the step's page and saved with it, the
reminder on that date (once), the silence a contact restarts, and the optional auto-close."""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from complaints.messages import render
from complaints.models import (
    AwaitingPeriod,
    Complaint,
    ComplaintEvent,
    DeadlineAlert,
    Notification,
    Status,
)
from complaints.services import awaiting, lifecycle
from complaints.services.errors import ServiceError
from tests.complaints.test_poisoned_rows import poison
from tests.factories import CustomerFactory, form_fields, make_complaint, walk_to

from .conftest import sh

pytestmark = pytest.mark.django_db
START = sh(2026, 12, 1, 10, 0)  # a Tuesday


def waiting(team, *, follow_up_on=date(2026, 12, 3), assignee="handler.service", at=START):
    """A complaint of the service department, awaiting the customer since `at`."""
    with time_machine.travel(at, tick=False):
        complaint = make_complaint(
            user=team["manager"],
            received_at=at - timedelta(hours=1),
            department=team["service"],
            assignee=team[assignee] if assignee else None,
            customer=CustomerFactory(),
        )
        walk_to(complaint, "investigating", user=team["manager"], now=at)
        return lifecycle.transition(
            complaint.pk,
            Status.AWAITING_CUSTOMER,
            user=team["manager"],
            note="Waiting for the photos of the damage",
            follow_up_on=follow_up_on,
            now=at,
        )


def period_of(complaint) -> AwaitingPeriod:
    return AwaitingPeriod.objects.get(complaint=complaint, ended_at__isnull=True)


# -- the step -----------------------------------------------------------------------------------


def test_waiting_opens_a_period_with_the_follow_up_date(team):
    complaint = waiting(team)
    period = period_of(complaint)
    assert period.follow_up_on == date(2026, 12, 3)
    assert period.remind_at == sh(2026, 12, 3, 9, 0)  # that morning
    assert period.silent_since == START
    event = ComplaintEvent.objects.filter(complaint=complaint, to_status=Status.AWAITING_CUSTOMER)
    assert event.get().data["follow_up_on"] == "2026-12-03"


def test_the_follow_up_date_defaults_and_is_checked(team, settings):
    settings.REDRESS_AWAITING_FOLLOW_UP_DAYS = 5
    complaint = waiting(team, follow_up_on=None)
    assert period_of(complaint).follow_up_on == date(2026, 12, 6)
    other = waiting(team, follow_up_on=None)
    lifecycle.transition(other.pk, Status.INVESTIGATING, user=team["manager"], now=START)
    with pytest.raises(ServiceError, match="past"):
        lifecycle.transition(
            other.pk,
            Status.AWAITING_CUSTOMER,
            user=team["manager"],
            note="x",
            follow_up_on=date(2026, 11, 30),
            now=START,
        )
    with pytest.raises(ServiceError, match="only when waiting"):
        lifecycle.transition(
            other.pk,
            Status.SOLUTION_PROPOSED,
            user=team["manager"],
            follow_up_on=date(2026, 12, 5),
            changes={"solution": "Refund"},
            now=START,
        )
    assert AwaitingPeriod.objects.filter(complaint=other, ended_at__isnull=True).count() == 0


def test_leaving_the_status_ends_the_period_and_its_reminder(team):
    complaint = waiting(team)
    lifecycle.transition(complaint.pk, Status.INVESTIGATING, user=team["manager"], now=START)
    period = AwaitingPeriod.objects.get(complaint=complaint)
    assert period.ended_at == START and period.end == AwaitingPeriod.End.LEFT
    assert awaiting.sweep(now=sh(2026, 12, 3, 9, 30)).reminded == 0
    assert not DeadlineAlert.objects.exists()


def test_transition_page_asks_for_the_date_and_saves_it_with_the_step(team, login_client):
    with time_machine.travel(START, tick=False):
        complaint = make_complaint(
            user=team["manager"], department=team["service"], customer=CustomerFactory()
        )
        walk_to(complaint, "investigating", user=team["manager"], now=START)
        client = login_client(team["handler.service"])
        url = reverse(
            "admin:complaints_complaint_transition", args=[complaint.pk, "awaiting_customer"]
        )
        page = client.get(url).content.decode()
        assert 'name="follow_up_on"' in page and 'type="date"' in page
        assert 'value="2026-12-04"' in page  # the default: three days ahead
        data = form_fields(page, action="")
        data.update(note=["Waiting for the repair invoice"], follow_up_on=["2026-11-20"])
        refused = client.post(url, data)
        assert refused.status_code == 200
        assert "cannot be in the future" not in refused.content.decode()
        assert "past" in refused.content.decode()
        assert Complaint.objects.get(pk=complaint.pk).status == Status.INVESTIGATING
        data["follow_up_on"] = ["2026-12-08"]
        assert client.post(url, data).status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.AWAITING_CUSTOMER
    assert period_of(complaint).follow_up_on == date(2026, 12, 8)


def test_change_page_shows_the_wait_in_both_languages(team, login_client, settings):
    settings.REDRESS_AWAITING_AUTO_CLOSE_DAYS = 14
    complaint = waiting(team)
    client = login_client(team["handler.service"])
    url = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        english = client.get(url).content.decode()
        chinese = client.get(url, headers={"accept-language": "zh-hans"}).content.decode()
    assert "Waiting for the customer" in english and "Follow up on 2026-12-03" in english
    assert "closes automatically 2026-12-15" in english
    assert "等待客户回复" in chinese and "跟进日期 2026-12-03" in chinese
    assert "自动关闭" in chinese


# -- the reminder -------------------------------------------------------------------------------


def test_reminder_on_the_date_once_to_the_assignee(team):
    complaint = waiting(team)
    assert awaiting.sweep(now=sh(2026, 12, 3, 8, 59)).reminded == 0
    result = awaiting.sweep(now=sh(2026, 12, 3, 9, 1))
    assert result.reminded == 1
    alert = DeadlineAlert.objects.get()
    assert (alert.kind, alert.deadline) == (DeadlineAlert.Kind.FOLLOW_UP, sh(2026, 12, 3, 9, 0))
    assert alert.recipients == [team["handler.service"].pk]
    assert alert.emails == ["handler.service@example.com"]
    inbox = Notification.objects.get()
    assert inbox.user == team["handler.service"] and inbox.alert == alert
    assert complaint.reference in str(inbox)
    with translation.override("zh-hans"):  # stored as a message: read in the reader's language
        assert str(inbox).startswith("跟进客户")
    event = ComplaintEvent.objects.get(complaint=complaint, kind=ComplaintEvent.Kind.ALERT)
    assert "Follow up with the customer" in render(event.data["message"])
    with translation.override("zh-hans"):
        assert "跟进客户" in render(event.data["message"])
    # Again, and again later: nothing new.
    assert awaiting.sweep(now=sh(2026, 12, 3, 9, 2)).reminded == 0
    assert awaiting.sweep(now=sh(2026, 12, 9, 9, 0)).reminded == 0
    assert (DeadlineAlert.objects.count(), Notification.objects.count()) == (1, 1)
    assert period_of(complaint).reminded_at == sh(2026, 12, 3, 9, 1)


def test_without_an_assignee_the_department_is_reminded(team):
    waiting(team, assignee=None)
    awaiting.sweep(now=sh(2026, 12, 3, 9, 0))
    told = set(Notification.objects.values_list("user_id", flat=True))
    assert told == {team["head.service"].pk, team["handler.service"].pk, team["masked"].pk}


def test_a_worker_that_dies_mid_batch_reminds_nobody_twice(team, monkeypatch):
    complaints = [waiting(team) for _ in range(3)]
    real = ComplaintEvent.objects.bulk_create

    def die(*args, **kwargs):
        raise SystemExit("worker killed")  # not an Exception: nothing catches it

    monkeypatch.setattr(ComplaintEvent.objects, "bulk_create", die)
    with pytest.raises(SystemExit):
        awaiting.sweep(now=sh(2026, 12, 3, 9, 0))
    # The batch's transaction died with it: no alert, no inbox entry, nobody marked.
    assert not DeadlineAlert.objects.exists() and not Notification.objects.exists()
    monkeypatch.setattr(ComplaintEvent.objects, "bulk_create", real)
    assert awaiting.sweep(now=sh(2026, 12, 3, 9, 5)).reminded == 3
    assert awaiting.sweep(now=sh(2026, 12, 3, 9, 6)).reminded == 0
    assert DeadlineAlert.objects.count() == 3
    assert Notification.objects.count() == 3
    assert {a.complaint_id for a in DeadlineAlert.objects.all()} == {c.pk for c in complaints}


def test_an_alert_already_written_is_linked_not_duplicated(team):
    complaint = waiting(team)
    period = period_of(complaint)
    # Left by a crash between the alert and the mark (the unique row is the guard).
    existing = DeadlineAlert.objects.create(
        complaint=complaint,
        kind=DeadlineAlert.Kind.FOLLOW_UP,
        level=0,
        deadline=period.remind_at,
        recipients=[],
    )
    assert awaiting.sweep(now=sh(2026, 12, 3, 9, 0)).reminded == 0
    period.refresh_from_db()
    assert period.alert == existing and period.reminded_at is not None
    assert DeadlineAlert.objects.count() == 1


def test_a_poisoned_complaint_does_not_stop_the_others(team):
    complaints = [waiting(team) for _ in range(4)]
    bad = complaints[1]
    poison(bad.pk)
    now = sh(2026, 12, 3, 9, 0)
    result = awaiting.sweep(now=now, batch_size=2)
    assert result.reminded == 3 and result.failed == 1
    assert set(DeadlineAlert.objects.values_list("complaint_id", flat=True)) == {
        c.pk for c in complaints if c.pk != bad.pk
    }
    row = AwaitingPeriod.objects.get(complaint_id=bad.pk)
    assert row.failures == 1 and row.last_error and row.reminded_at is None
    assert row.retry_at > now  # backoff, not a hot loop
    again = awaiting.sweep(now=now + timedelta(minutes=1))
    assert (again.reminded, again.failed) == (0, 0)
    assert AwaitingPeriod.objects.get(complaint_id=bad.pk).failures == 1


def test_a_row_that_fails_while_processed_is_isolated_and_cleared_later(team, monkeypatch):
    complaints = [waiting(team) for _ in range(3)]
    original = awaiting._recipients

    def explode(periods):
        if any(p.complaint_id == complaints[0].pk for p in periods):
            raise OverflowError("date value out of range")
        return original(periods)

    monkeypatch.setattr(awaiting, "_recipients", explode)
    now = sh(2026, 12, 3, 9, 0)
    assert awaiting.sweep(now=now).reminded == 2
    failed = AwaitingPeriod.objects.get(complaint=complaints[0])
    assert "OverflowError" in failed.last_error
    monkeypatch.setattr(awaiting, "_recipients", original)
    assert awaiting.sweep(now=failed.retry_at).reminded == 1
    failed.refresh_from_db()
    assert (failed.failures, failed.last_error, failed.retry_at) == (0, "", None)


def test_the_sweep_is_set_based(team, django_assert_max_num_queries):
    for _ in range(3):
        waiting(team)
    with django_assert_max_num_queries(20) as few:
        awaiting.sweep(now=sh(2026, 12, 3, 9, 0))
    for _ in range(30):
        waiting(team, at=START + timedelta(minutes=5))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert awaiting.sweep(now=sh(2026, 12, 3, 9, 5)).reminded == 30


# -- silence and auto-close ------------------------------------------------------------------


def test_auto_close_is_off_by_default(team):
    complaint = waiting(team)
    awaiting.sweep(now=START + timedelta(days=400))
    assert Complaint.objects.get(pk=complaint.pk).status == Status.AWAITING_CUSTOMER


def test_silent_customer_is_closed_after_the_configured_days(team, settings):
    settings.REDRESS_AWAITING_AUTO_CLOSE_DAYS = 10
    complaint = waiting(team)
    assert awaiting.sweep(now=START + timedelta(days=9, hours=23)).closed == 0
    now = START + timedelta(days=10, minutes=1)
    result = awaiting.sweep(now=now)
    assert result.closed == 1
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED and complaint.closed_at == now
    assert complaint.sla_paused_at is None and complaint.sla_pauses  # the pause was ended
    assert complaint.due_at is None and complaint.next_alert_at is None
    period = AwaitingPeriod.objects.get(complaint=complaint)
    assert period.end == AwaitingPeriod.End.AUTO_CLOSED and period.ended_at == now
    event = ComplaintEvent.objects.get(complaint=complaint, to_status=Status.CLOSED)
    assert event.actor is None and event.from_status == Status.AWAITING_CUSTOMER
    assert "no answer from the customer for 10 days" in render(event.data["message"])
    with translation.override("zh-hans"):
        assert "客户 10 天未回复" in render(event.data["message"])
    # A closed complaint can be reopened when the customer comes back.
    walk_to_reopen = lifecycle.transition(
        complaint.pk, Status.REOPENED, user=team["manager"], note="Customer called back"
    )
    assert walk_to_reopen.status == Status.REOPENED


def test_a_logged_contact_restarts_the_silence(team, settings):
    settings.REDRESS_AWAITING_AUTO_CLOSE_DAYS = 10
    complaint = waiting(team)
    contact = START + timedelta(days=8)
    with time_machine.travel(contact, tick=False):
        lifecycle.log_contact(
            complaint.pk,
            user=team["handler.service"],
            channel="hotline",
            direction="out",
            summary="Reminded the customer to send the photos",
        )
    assert period_of(complaint).silent_since == contact
    assert awaiting.sweep(now=START + timedelta(days=11)).closed == 0
    assert Complaint.objects.get(pk=complaint.pk).status == Status.AWAITING_CUSTOMER
    assert awaiting.sweep(now=contact + timedelta(days=10, minutes=1)).closed == 1


def test_an_earlier_contact_logged_late_does_not_shorten_the_silence(team):
    complaint = waiting(team)
    later = START + timedelta(days=2)
    with time_machine.travel(later, tick=False):
        lifecycle.log_contact(
            complaint.pk,
            user=team["handler.service"],
            channel="hotline",
            direction="in",
            summary="Customer: photos follow",
        )
        lifecycle.log_contact(
            complaint.pk,
            user=team["handler.service"],
            channel="email",
            direction="in",
            summary="Logged late: the first email",
            contacted_at=START + timedelta(hours=1),
        )
    assert period_of(complaint).silent_since == later


def test_auto_close_isolates_a_poisoned_complaint_and_goes_on(team, settings):
    settings.REDRESS_AWAITING_AUTO_CLOSE_DAYS = 1
    first, second = waiting(team), waiting(team)
    poison(first.pk, column="resolve_due_at")
    result = awaiting.sweep(now=START + timedelta(days=2))
    assert result.closed == 1 and result.failed == 1
    assert Complaint.objects.filter(pk=second.pk, status=Status.CLOSED).exists()


def test_contact_page_resumes_when_the_customer_answered(team, login_client):
    complaint = waiting(team)
    client = login_client(team["handler.service"])
    url = reverse("admin:complaints_complaint_contact", args=[complaint.pk])
    with time_machine.travel(START + timedelta(days=1), tick=False):
        page = client.get(url).content.decode()
        assert 'name="resume"' in page
        response = client.post(
            url,
            {
                "channel": "hotline",
                "direction": "in",
                "summary": "The customer sent the photos",
                "resume": "on",
            },
        )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert AwaitingPeriod.objects.get(complaint=complaint).end == AwaitingPeriod.End.LEFT
    # Not waiting any more: the contact form no longer offers it.
    other = make_complaint(user=team["manager"], department=team["service"])
    assert (
        'name="resume"'
        not in client.get(
            reverse("admin:complaints_complaint_contact", args=[other.pk])
        ).content.decode()
    )


def test_the_task_runs_the_sweep(team):
    from complaints import tasks

    waiting(team)
    with time_machine.travel(sh(2026, 12, 3, 9, 0), tick=False):
        assert tasks.sweep_awaiting.delay().get() == {"reminded": 1, "closed": 0, "failed": 0}


def test_moving_the_follow_up_date_reminds_again_on_the_new_date(team, login_client):
    complaint = waiting(team)
    awaiting.sweep(now=sh(2026, 12, 3, 9, 0))
    client = login_client(team["handler.service"])
    url = reverse("admin:complaints_complaint_follow_up", args=[complaint.pk])
    with time_machine.travel(sh(2026, 12, 3, 10, 0), tick=False):
        assert (
            'name="follow_up_on"'
            in client.get(
                reverse("admin:complaints_complaint_change", args=[complaint.pk])
            ).content.decode()
        )
        assert client.get(url).status_code == 405
        refused = client.post(url, {"follow_up_on": "2026-12-01"}, follow=True)
        assert "cannot be in the past" in refused.content.decode()
        assert client.post(url, {"follow_up_on": "2026-12-07"}).status_code == 302
    period = period_of(complaint)
    assert (period.follow_up_on, period.reminded_at) == (date(2026, 12, 7), None)
    moved = ComplaintEvent.objects.filter(complaint=complaint, kind="deadlines").last()
    assert render(moved.data["message"]) == "Follow-up date moved from 2026-12-03 to 2026-12-07."
    assert moved.actor == team["handler.service"]
    assert awaiting.sweep(now=sh(2026, 12, 6, 9, 0)).reminded == 0
    assert awaiting.sweep(now=sh(2026, 12, 7, 9, 0)).reminded == 1
    assert DeadlineAlert.objects.filter(complaint=complaint).count() == 2


def test_only_staff_who_see_the_complaint_move_its_date(team, login_client):
    complaint = waiting(team)
    url = reverse("admin:complaints_complaint_follow_up", args=[complaint.pk])
    with time_machine.travel(START, tick=False):
        other = login_client(team["handler.property"])
        assert other.post(url, {"follow_up_on": "2026-12-09"}).status_code == 404
        lifecycle.transition(complaint.pk, Status.INVESTIGATING, user=team["manager"])
        with pytest.raises(ServiceError, match="not waiting"):
            awaiting.reschedule(
                complaint.pk, user=team["handler.service"], follow_up_on=date(2026, 12, 9)
            )
    assert period_of_any(complaint).follow_up_on == date(2026, 12, 3)


def period_of_any(complaint) -> AwaitingPeriod:
    return AwaitingPeriod.objects.filter(complaint=complaint).latest("started_at")


def test_the_upgrade_gives_complaints_already_waiting_a_wait(team):
    """Migration 0027's data step (run here with the current models)."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("complaints.migrations.0027_desk")
    complaint = waiting(team)
    AwaitingPeriod.objects.filter(complaint=complaint).delete()  # as before the upgrade
    other = waiting(team)
    lifecycle.transition(other.pk, Status.INVESTIGATING, user=team["manager"], now=START)
    AwaitingPeriod.objects.filter(complaint=other).delete()
    with time_machine.travel(sh(2026, 12, 2, 15, 0), tick=False):
        migration.open_periods(apps, None)
    period = AwaitingPeriod.objects.get(complaint=complaint)
    assert period.started_at == period.silent_since == START  # since the clock stopped
    assert (period.follow_up_on, period.remind_at) == (date(2026, 12, 5), sh(2026, 12, 5, 9, 0))
    assert not AwaitingPeriod.objects.filter(complaint=other).exists()


def test_an_assignee_who_left_is_replaced_by_the_department(team):
    complaint = waiting(team)
    team["handler.service"].is_active = False
    team["handler.service"].save()
    awaiting.sweep(now=sh(2026, 12, 3, 9, 0))
    alert = DeadlineAlert.objects.get(complaint=complaint)
    assert set(alert.recipients) == {team["head.service"].pk, team["masked"].pk}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_auto_close_leaves_a_complaint_someone_holds_for_the_next_sweep(team, settings):
    """A complaint locked by someone at that moment is skipped (not waited for, not claimed
    again and again in the same sweep); the others close; the next sweep closes it."""
    import threading

    from django.db import connection as main_connection
    from django.db import transaction

    settings.REDRESS_AWAITING_AUTO_CLOSE_DAYS = 1
    later = date(2026, 12, 10)  # no reminder in the way: only the close is tested
    held, free = waiting(team, follow_up_on=later), waiting(team, follow_up_on=later)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Complaint.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(30)
        finally:
            from django.db import connection

            connection.close()

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert locked.wait(10)
        result = awaiting.sweep(now=START + timedelta(days=2))
    finally:
        release.set()
        worker.join(10)
    assert (result.closed, result.failed) == (1, 0)
    assert Complaint.objects.get(pk=free.pk).status == Status.CLOSED
    assert Complaint.objects.get(pk=held.pk).status == Status.AWAITING_CUSTOMER
    assert awaiting.sweep(now=START + timedelta(days=2, minutes=1)).closed == 1
    assert Complaint.objects.get(pk=held.pk).status == Status.CLOSED
    assert main_connection.vendor == "postgresql"


def test_a_failed_wait_shows_its_error_on_the_complaint(team, login_client):
    complaint = waiting(team)
    AwaitingPeriod.objects.filter(complaint=complaint).update(
        failures=2, last_error="OverflowError: date value out of range"
    )
    client = login_client(team["handler.service"])
    url = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    html = client.get(url).content.decode()
    assert "The follow-up sweep failed 2 times: OverflowError" in html
    zh = client.get(url, headers={"accept-language": "zh-hans"}).content.decode()
    assert "跟进提醒处理失败 2 次：OverflowError" in zh
