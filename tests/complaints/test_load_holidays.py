"""`manage.py load_holidays`: official holidays and moved working days into a calendar."""

from datetime import date, datetime, timedelta
from io import StringIO
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from complaints.management.commands import load_holidays
from complaints.messages import render
from complaints.models import (
    BusinessCalendar,
    CalendarException,
    CalendarYear,
    Complaint,
    SLAPolicy,
    WorkingInterval,
)

pytestmark = pytest.mark.django_db

Kind = CalendarException.Kind
Source = CalendarException.Source
LOCAL = ZoneInfo("Asia/Shanghai")


def run(*args, language="en") -> str:
    out = StringIO()
    with translation.override(language):
        call_command("load_holidays", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def cn():
    """The default calendar created by the migration (Mon-Fri 09:00-18:00)."""
    return BusinessCalendar.objects.get(code="cn")


def exceptions(calendar, year=2026) -> dict[date, tuple[str, str, str]]:
    return {
        row.date: (row.kind, row.name_en or row.name, row.source)
        for row in CalendarException.objects.filter(calendar=calendar, date__year=year)
    }


def test_2026_china_national_day_week_and_moved_working_days(cn):
    before = cn.changed_at
    output = run("--country", "CN", "--year", "2026")

    rows = exceptions(cn)
    for day in range(1, 8):
        assert rows[date(2026, 10, day)][:1] == (Kind.HOLIDAY,)
    assert rows[date(2026, 10, 1)] == (Kind.HOLIDAY, "National Day", Source.CHINESE_CALENDAR)
    # Sun 20 Sep and Sat 10 Oct are working days (调休).
    assert rows[date(2026, 9, 20)][0] == Kind.WORKDAY
    assert rows[date(2026, 10, 10)][0] == Kind.WORKDAY
    assert rows[date(2026, 10, 10)][2] == Source.CHINESE_CALENDAR
    # An ordinary Thursday and an ordinary Saturday are left to the weekly hours.
    assert date(2026, 10, 15) not in rows
    assert date(2026, 10, 17) not in rows

    assert CalendarYear.objects.filter(
        calendar=cn, year=2026, source=Source.CHINESE_CALENDAR
    ).exists()
    cn.refresh_from_db()
    assert cn.changed_at > before
    assert f"{len(rows)} added, 0 changed, 0 removed" in output
    assert "2026 is now marked as a year with holiday data" in output


def test_default_calendar_and_country_are_used_without_options(cn):
    run("--year", "2026")
    assert exceptions(cn)[date(2026, 10, 10)][0] == Kind.WORKDAY


def test_second_run_changes_nothing(cn):
    run("--year", "2026")
    rows = exceptions(cn)
    changed_at = BusinessCalendar.objects.get(pk=cn.pk).changed_at
    with mock.patch.object(load_holidays, "recompute_open") as recompute:
        output = run("--year", "2026")
    assert "0 added, 0 changed, 0 removed" in output
    assert "Nothing changed; no deadlines recomputed." in output
    assert exceptions(cn) == rows
    assert BusinessCalendar.objects.get(pk=cn.pk).changed_at == changed_at
    recompute.assert_not_called()


def test_rows_entered_by_staff_are_kept(cn):
    # Staff decided the office works on 1 October and has an extra day off on 15 October.
    CalendarException.objects.create(
        calendar=cn, date=date(2026, 10, 1), kind=Kind.WORKDAY, name="Stocktaking"
    )
    CalendarException.objects.create(
        calendar=cn, date=date(2026, 10, 15), kind=Kind.HOLIDAY, name="Company day"
    )
    output = run("--year", "2026")
    rows = exceptions(cn)
    assert rows[date(2026, 10, 1)] == (Kind.WORKDAY, "Stocktaking", Source.MANUAL)
    assert rows[date(2026, 10, 15)] == (Kind.HOLIDAY, "Company day", Source.MANUAL)
    assert rows[date(2026, 10, 2)][0] == Kind.HOLIDAY
    assert "1 day entered by staff kept as it is" in output

    assert "0 added, 0 changed" in run("--year", "2026")
    assert exceptions(cn)[date(2026, 10, 1)] == (Kind.WORKDAY, "Stocktaking", Source.MANUAL)


def test_library_rows_that_drifted_are_corrected_and_stale_ones_removed(cn):
    run("--year", "2026")
    CalendarException.objects.filter(calendar=cn, date=date(2026, 10, 2)).update(name_en="typo")
    CalendarException.objects.create(
        calendar=cn,
        date=date(2026, 11, 11),
        kind=Kind.HOLIDAY,
        name="Not official",
        source=Source.HOLIDAYS,
    )
    with mock.patch.object(load_holidays, "recompute_open", return_value=0) as recompute:
        output = run("--year", "2026")
    assert "0 added, 1 changed, 1 removed" in output
    assert exceptions(cn)[date(2026, 10, 2)][1] == "National Day"
    assert date(2026, 11, 11) not in exceptions(cn)
    # The year was known already: any deadline on the calendar may move.
    assert recompute.call_args.kwargs["provisional_only"] is False


def test_unknown_year_is_an_error_and_writes_nothing(cn):
    with (
        mock.patch.object(load_holidays, "recompute_open") as recompute,
        pytest.raises(CommandError, match="No official holiday schedule for CN 2031"),
    ):
        run("--year", "2026", "--year", "2031")
    assert not CalendarException.objects.exists()
    assert not CalendarYear.objects.exists()
    recompute.assert_not_called()


def test_recomputes_provisional_deadlines_of_the_calendar(cn):
    with mock.patch.object(load_holidays, "recompute_open", return_value=3) as recompute:
        output = run("--year", "2026")
    recompute.assert_called_once()
    kwargs = recompute.call_args.kwargs
    assert kwargs["calendar_id"] == cn.pk
    assert kwargs["provisional_only"] is True
    assert "2026" in render(kwargs["reason"])
    assert "Deadlines of 3 open complaints recomputed." in output


def test_provisional_deadline_moves_past_national_day(cn, manager):
    """End to end with the real SLA service: a general complaint received on 30 Sep 2026
    had its deadlines counted over weekends only; loading 2026 pushes them past 1-7 Oct."""
    from tests.factories import make_complaint

    policy = SLAPolicy.objects.get(severity=4, active=True)
    assert policy.calendar_id == cn.pk
    complaint = make_complaint(
        user=manager, severity=4, received_at=datetime(2026, 9, 30, 10, tzinfo=LOCAL)
    )
    complaint.refresh_from_db()
    assert complaint.deadline_provisional
    old_due = complaint.ack_due_at
    assert old_due is not None and old_due.astimezone(LOCAL).date() == date(2026, 10, 1)

    output = run("--year", "2026")

    complaint.refresh_from_db()
    assert not complaint.deadline_provisional
    # One working day after Wed 30 Sep 10:00 is Thu 8 Oct 10:00 (1-7 Oct off).
    assert complaint.ack_due_at.astimezone(LOCAL) == datetime(2026, 10, 8, 10, tzinfo=LOCAL)
    assert "Deadlines of 1 open complaint recomputed." in output
    assert Complaint.objects.filter(deadline_provisional=True).count() == 0


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_holidays_have_chinese_and_english_names_whoever_loads_them(cn, language):
    """Issue 11: reference data is bilingual, not in the language of whoever ran the load."""
    run("--year", "2026", language=language)
    day = CalendarException.objects.get(calendar=cn, date=date(2026, 10, 1))
    assert (day.name, day.name_en) == ("国庆节", "National Day")
    moved = CalendarException.objects.get(calendar=cn, date=date(2026, 10, 10))
    assert moved.name.startswith("国庆节") and moved.name_en == "National Day (working day)"
    with translation.override("en"):
        assert "National Day" in str(day)
    with translation.override("zh-hans"):
        assert "国庆节" in str(day)


def test_several_years_at_once(cn):
    run("--year", "2025", "--year", "2026")
    assert set(CalendarYear.objects.filter(calendar=cn).values_list("year", flat=True)) == {
        2025,
        2026,
    }
    assert exceptions(cn, 2025)[date(2025, 10, 8)][0] == Kind.HOLIDAY


def test_named_calendar(cn):
    other = BusinessCalendar.objects.create(code="hk-office", name="HK office")
    WorkingInterval.objects.create(calendar=other, weekday=0, start="09:00", end="17:00")
    run("--year", "2026", "--calendar", "hk-office")
    assert exceptions(other)
    assert not exceptions(cn)


def test_unknown_calendar_code_is_an_error(cn):
    with pytest.raises(CommandError, match="No business calendar with the code “nope”"):
        run("--year", "2026", "--calendar", "nope")


def test_no_default_calendar_is_an_error(cn):
    BusinessCalendar.objects.update(is_default=False)
    with pytest.raises(CommandError, match="no default business calendar"):
        run("--year", "2026")


def test_unknown_country_is_an_error(cn):
    with pytest.raises(CommandError, match="Unknown country code “XX”"):
        run("--country", "XX", "--year", "2026")


def test_fallback_to_holidays_library_when_chinesecalendar_lacks_the_year(cn):
    with mock.patch.object(load_holidays, "from_chinese_calendar", return_value=None):
        output = run("--year", "2026")
    rows = exceptions(cn)
    assert rows[date(2026, 10, 1)][::2] == (Kind.HOLIDAY, Source.HOLIDAYS)
    assert rows[date(2026, 10, 7)][0] == Kind.HOLIDAY
    assert rows[date(2026, 9, 20)][0] == Kind.WORKDAY
    assert rows[date(2026, 10, 10)] == (Kind.WORKDAY, "Moved working day", Source.HOLIDAYS)
    assert "chinesecalendar has no data for 2026" in output
    assert "does not name moved working days" in output
    assert "does not list the weekend days inside a holiday week" in output
    assert CalendarYear.objects.get(calendar=cn, year=2026).source == Source.HOLIDAYS

    # Once chinesecalendar has the year, its rows replace the fallback's.
    output = run("--year", "2026")
    assert exceptions(cn)[date(2026, 10, 10)][2] == Source.CHINESE_CALENDAR
    assert CalendarYear.objects.get(calendar=cn, year=2026).source == Source.CHINESE_CALENDAR


def test_no_fallback_to_an_estimated_china_schedule(cn):
    # The holidays library computes 2027 from rules, without the State Council's moves.
    with pytest.raises(CommandError, match="CN 2027"):
        run("--year", "2027")
    assert not CalendarException.objects.exists()


def test_other_country_from_holidays_library(cn):
    output = run("--country", "de", "--year", "2026")
    rows = exceptions(cn)
    assert rows[date(2026, 12, 25)][::2] == (Kind.HOLIDAY, Source.HOLIDAYS)
    assert rows[date(2026, 10, 3)][0] == Kind.HOLIDAY  # a Saturday: stored, harmless
    assert not any(kind == Kind.WORKDAY for kind, _n, _s in rows.values())
    assert "DE 2026" in output


def test_loading_adds_no_rows_outside_the_year(cn):
    run("--year", "2026")
    days = CalendarException.objects.filter(calendar=cn).values_list("date", flat=True)
    assert all(d.year == 2026 for d in days)
    assert min(days) >= date(2026, 1, 1) and max(days) <= date(2026, 12, 31)
    assert max(days) - min(days) < timedelta(days=366)
