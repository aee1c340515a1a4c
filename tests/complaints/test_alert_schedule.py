"""The deadline sweep's schedule (AlertSchedule, migration 0035): one row per complaint, kept
in step with the complaint by the database, written by the sweep without touching the
complaint row."""

from datetime import datetime, timedelta
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints.models import OPEN_STATUSES, AlertSchedule, Complaint, Status
from complaints.services import alerts, lifecycle
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MONDAY_9 = datetime(2026, 11, 2, 9, 0, tzinfo=SH)


def record(user, **fields):
    with time_machine.travel(MONDAY_9, tick=False):
        return make_complaint(user=user, received_at=MONDAY_9, **fields)


def look(complaint) -> datetime | None:
    return AlertSchedule.objects.get(complaint_id=complaint.pk).next_alert_at


def test_migration_knows_the_open_statuses_of_the_model():
    migration = import_module("complaints.migrations.0035_alert_schedule")
    assert set(migration.OPEN_STATUSES) == {str(s) for s in OPEN_STATUSES}


def test_a_new_complaint_gets_its_schedule_from_the_deadline_rules(manager):
    complaint = record(manager)
    schedule = AlertSchedule.objects.get(complaint_id=complaint.pk)
    assert schedule.next_alert_at == complaint.next_alert_at is not None
    assert schedule.escalation_level == 0


def test_the_sweep_moves_the_schedule_and_leaves_the_complaint_row_alone(manager):
    complaint = record(manager)
    before = Complaint.objects.filter(pk=complaint.pk).values()[0]
    with CaptureQueriesContext(connection) as queries:
        result = alerts.sweep(now=MONDAY_9 + timedelta(hours=7))
    assert result.alerts == 1
    assert look(complaint) > MONDAY_9 + timedelta(hours=7)
    assert Complaint.objects.filter(pk=complaint.pk).values()[0] == before
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("UPDATE")]
    assert writes and not [sql for sql in writes if "complaints_complaint" in sql.split()[1]]


def test_a_deadline_change_sends_the_sweep_back_to_the_new_first_point(manager):
    """The sweep has moved past the first reminder; a later change of what the alert points
    depend on (here the deadlines, as a policy change recomputes them) sets its next look to
    the complaint's first point again, whatever else the change wrote."""
    complaint = record(manager)
    alerts.sweep(now=MONDAY_9 + timedelta(hours=7))
    moved_on = look(complaint)
    earlier = MONDAY_9 + timedelta(hours=1)
    Complaint.objects.filter(pk=complaint.pk).update(ack_due_at=earlier, next_alert_at=earlier)
    assert look(complaint) == earlier < moved_on
    # A change of an unrelated column leaves the sweep where it is.
    AlertSchedule.objects.filter(complaint_id=complaint.pk).update(next_alert_at=moved_on)
    Complaint.objects.filter(pk=complaint.pk).update(subject="Another subject")
    assert look(complaint) == moved_on
    # So does writing the same values again (Django's save() writes every column).
    Complaint.objects.get(pk=complaint.pk).save()
    assert look(complaint) == moved_on


def test_finished_work_leaves_nothing_for_the_sweep(manager):
    complaint = record(manager)
    with time_machine.travel(MONDAY_9 + timedelta(minutes=5), tick=False):
        lifecycle.transition(complaint.pk, Status.INVALID, user=manager, note="spam")
    assert look(complaint) is None
    assert not alerts._due(MONDAY_9 + timedelta(days=30)).filter(pk=complaint.pk).exists()


def test_a_closed_complaint_never_comes_back_to_the_claim(manager):
    """Even a status written straight to the database (no service) takes it off the schedule."""
    complaint = record(manager)
    Complaint.objects.filter(pk=complaint.pk).update(status=Status.CLOSED)
    assert look(complaint) is None


def test_a_claimed_complaint_another_connection_has_just_processed_is_left_alone(manager):
    """The claim's snapshot can predate another connection's commit while the lock it then
    takes comes after it: the complaint row looks unchanged, only the schedule moved on."""
    complaint = record(manager)
    now = MONDAY_9 + timedelta(hours=7)
    batch, failed = alerts._claim(now, 10)
    assert [c.pk for c in batch] == [complaint.pk] and not failed
    assert alerts._still_due(batch, now) == batch
    AlertSchedule.objects.filter(complaint_id=complaint.pk).update(
        next_alert_at=now + timedelta(hours=2)
    )
    assert alerts._still_due(batch, now) == []


def test_both_triggers_exist():
    """A later migration that rebuilds the complaint table (SQLite does for most changes)
    drops its triggers: new complaints would then never be swept."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'complaints_complaint'::regclass "
                "AND NOT tgisinternal"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'complaints_complaint'"
            )
        names = {row[0] for row in cursor.fetchall()}
    assert {"complaint_alert_schedule_added", "complaint_alert_schedule_moved"} <= names


def test_a_recompute_that_moves_only_the_first_point_is_saved_and_reaches_the_schedule(manager):
    """next_alert_at alone is no longer the sweep's bookmark: a recompute that changes only it
    (here a stale value) writes it, and the schedule follows, without a timeline entry."""
    from complaints.services import sla

    complaint = record(manager)
    right = complaint.next_alert_at
    Complaint.objects.filter(pk=complaint.pk).update(next_alert_at=None)
    assert look(complaint) is None
    stale = Complaint.objects.get(pk=complaint.pk)
    changes, event = sla.recompute_one(
        stale, sla.Context.load(), reason="test", user=None, now=MONDAY_9
    )
    assert set(changes) == {"next_alert_at"} and event is None
    stale.save(update_fields=["next_alert_at"])
    assert look(complaint) == right


def level(complaint) -> int:
    return AlertSchedule.objects.get(complaint_id=complaint.pk).escalation_level


def test_a_complaint_that_is_no_longer_open_is_no_longer_escalated(manager):
    """The level counts the current deadlines (migration 0037): resolving or closing ends
    them, also when the status is written straight to the database. Reopening leaves the
    level as it is (0 after a close) until the sweep counts the new deadline's escalations."""
    complaint = record(manager)
    other = record(manager)
    AlertSchedule.objects.filter(complaint_id__in=[complaint.pk, other.pk]).update(
        escalation_level=2
    )
    with time_machine.travel(MONDAY_9 + timedelta(minutes=5), tick=False):
        lifecycle.transition(complaint.pk, Status.INVALID, user=manager, note="spam")
    assert level(complaint) == 0
    assert level(other) == 2  # still open
    Complaint.objects.filter(pk=other.pk).update(status=Status.CLOSED)
    assert level(other) == 0
    AlertSchedule.objects.filter(complaint_id=other.pk).update(escalation_level=1)
    Complaint.objects.filter(pk=other.pk).update(status=Status.REOPENED)
    assert level(other) == 1  # open again: what the sweep counted stays until it counts again


def test_the_migration_sets_the_level_of_complaints_no_longer_open_to_0(manager):
    """What 0037 does to the levels an earlier version left on resolved and closed ones."""
    migration = import_module("complaints.migrations.0037_escalation_level_current")
    open_one, closed_one = record(manager), record(manager)
    Complaint.objects.filter(pk=closed_one.pk).update(status=Status.CLOSED)
    # As an earlier version left them (the trigger did not touch the level then).
    AlertSchedule.objects.filter(complaint_id__in=[open_one.pk, closed_one.pk]).update(
        escalation_level=1
    )
    with connection.cursor() as cursor:
        migration.reset_closed(cursor.execute)
    assert (level(open_one), level(closed_one)) == (1, 0)
