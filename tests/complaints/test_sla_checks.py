"""System checks: holiday data missing for calendars in use, provisional deadlines."""

from datetime import date, datetime
from io import StringIO
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import translation

from complaints.checks import sla_data_check, years_needed
from complaints.models import BusinessCalendar, CalendarYear, Complaint, SLAPolicy, Status
from complaints.services.calendars import mark_year_loaded
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("Asia/Shanghai")
MID_YEAR = datetime(2026, 6, 15, 12, tzinfo=LOCAL)
LATE_YEAR = datetime(2026, 11, 27, 12, tzinfo=LOCAL)


def run_check(**kwargs):
    with translation.override("en"):
        return sla_data_check(**kwargs)


def by_id(messages, check_id):
    return [m for m in messages if m.id == check_id]


@pytest.fixture
def cn():
    return BusinessCalendar.objects.get(code="cn")


def test_years_needed_adds_next_year_in_the_last_90_days():
    assert years_needed(date(2026, 6, 15)) == [2026]
    assert years_needed(date(2026, 10, 2)) == [2026]
    assert years_needed(date(2026, 10, 3)) == [2026, 2027]
    assert years_needed(date(2026, 12, 31)) == [2026, 2027]
    assert years_needed(date(2027, 1, 1)) == [2027]


@time_machine.travel(MID_YEAR, tick=False)
def test_default_calendar_without_this_years_holidays_is_reported(cn):
    [warning] = by_id(run_check(), "complaints.W001")
    assert "China mainland office hours" in warning.msg
    assert "2026" in warning.msg and "2027" not in warning.msg
    assert warning.hint == "Run: python manage.py load_holidays --calendar cn --year 2026"
    assert warning.obj == cn


@time_machine.travel(MID_YEAR, tick=False)
def test_calendar_with_this_years_holidays_is_fine(cn):
    mark_year_loaded(cn, 2026, "chinesecalendar")
    assert run_check() == []


@time_machine.travel(LATE_YEAR, tick=False)
def test_near_year_end_next_year_is_needed_too(cn):
    mark_year_loaded(cn, 2026, "chinesecalendar")
    [warning] = by_id(run_check(), "complaints.W001")
    assert "2027" in warning.msg and "2026" not in warning.msg
    assert warning.hint.endswith("--calendar cn --year 2027")
    mark_year_loaded(cn, 2027, "manual")
    assert run_check() == []


@time_machine.travel(MID_YEAR, tick=False)
def test_calendars_used_by_active_policies_are_checked_unused_ones_not(cn):
    mark_year_loaded(cn, 2026, "chinesecalendar")
    BusinessCalendar.objects.create(code="unused", name="Unused calendar")
    shop = BusinessCalendar.objects.create(code="shop", name="Shop hours")
    retired = BusinessCalendar.objects.create(code="retired", name="Retired hours")
    SLAPolicy.objects.filter(severity=4).update(calendar=shop)
    SLAPolicy.objects.filter(severity=3).update(calendar=retired, active=False)

    warnings = by_id(run_check(), "complaints.W001")
    assert [w.obj for w in warnings] == [shop]
    assert "Shop hours" in warnings[0].msg


@time_machine.travel(MID_YEAR, tick=False)
def test_open_complaints_with_provisional_deadlines_are_counted(cn, manager):
    mark_year_loaded(cn, 2026, "chinesecalendar")
    first, second, closed = (make_complaint(user=manager) for _i in range(3))
    Complaint.objects.filter(pk__in=[first.pk, second.pk, closed.pk]).update(
        deadline_provisional=True
    )
    Complaint.objects.filter(pk=closed.pk).update(status=Status.CLOSED)

    [warning] = by_id(run_check(), "complaints.W002")
    assert warning.msg.startswith("2 open complaints have provisional deadlines")
    assert "load_holidays" in warning.hint


@time_machine.travel(MID_YEAR, tick=False)
def test_the_check_is_cheap(cn, manager, django_assert_max_num_queries):
    for code in ("a", "b", "c"):
        calendar = BusinessCalendar.objects.create(code=code, name=code)
        SLAPolicy.objects.filter(severity=2).update(calendar=calendar)
    with django_assert_max_num_queries(4):
        run_check()


def test_no_messages_before_migrate():
    # What introspection reports on a fresh database: none of the app's tables.
    with mock.patch.object(connection.introspection, "table_names", return_value=[]):
        assert run_check() == []


def test_no_messages_when_the_database_cannot_be_reached():
    with mock.patch.object(
        connection.introspection, "table_names", side_effect=OperationalError("no server")
    ):
        assert run_check() == []


def test_other_apps_only_checks_skip_it():
    from django.apps import apps

    assert run_check(app_configs=[apps.get_app_config("auth")]) == []


@time_machine.travel(MID_YEAR, tick=False)
def test_registered_with_manage_py_check(cn):
    CalendarYear.objects.all().delete()
    err = StringIO()
    with translation.override("en"):
        call_command("check", stdout=StringIO(), stderr=err)
    assert "complaints.W001" in err.getvalue()
