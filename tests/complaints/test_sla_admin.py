"""The admin of business calendars, calendar exceptions and SLA policies."""

import re
from datetime import date, time, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from complaints.admin import sla as sla_admin
from complaints.admin.sla import format_duration, format_years
from complaints.messages import render
from complaints.models import (
    BusinessCalendar,
    CalendarException,
    CalendarYear,
    SLAPolicy,
    WorkingInterval,
)
from tests.factories import CategoryFactory, form_fields

pytestmark = pytest.mark.django_db

Kind = CalendarException.Kind
Source = CalendarException.Source


def url(model, view="changelist", *args):
    return reverse(f"admin:complaints_{model}_{view}", args=args)


@pytest.fixture
def client(login_client, superuser):
    return login_client(superuser)


@pytest.fixture
def cn():
    return BusinessCalendar.objects.get(code="cn")


@pytest.fixture
def recompute():
    """schedule_recompute as the admin calls it (the job is tested in test_recompute_jobs)."""
    with mock.patch.object(sla_admin, "schedule_recompute", return_value=None) as patched:
        yield patched


def text_of(response) -> str:
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def rows(response, field) -> int:
    assert response.status_code == 200
    return response.content.decode().count(f'class="field-{field}')


def count_queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def post_form(client, path, changes=None, *, follow=True):
    """Submit the admin form at `path` as a browser would, with `changes` applied."""
    page = client.get(path)
    assert page.status_code == 200
    data = form_fields(page.content.decode(), action="")
    data.pop("_addanother", None)
    data.pop("_continue", None)
    for key, value in (changes or {}).items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value if isinstance(value, list) else [value]
    return client.post(path, data, follow=follow)


# -- formatting ------------------------------------------------------------------------------


@translation.override("en")
def test_format_duration():
    assert format_duration(4, "hours", working=True) == "4 working hours"
    assert format_duration(1, "hours", working=True) == "1 working hour"
    assert format_duration(3, "days", working=True) == "3 working days"
    assert format_duration(30, "minutes", working=True) == "30 working minutes"
    assert format_duration(24, "hours", working=False) == "24 hours"
    assert format_duration(1, "days", working=False) == "1 day"


def test_format_years():
    assert format_years([]) == ""
    assert format_years([2026]) == "2026"
    assert format_years([2023, 2019, 2021, 2022]) == "2019, 2021–2023"


# -- pages render ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["businesscalendar", "calendarexception", "slapolicy"])
def test_changelist_and_add_form_render(client, cn, model):
    CalendarException.objects.create(calendar=cn, date=date(2026, 10, 1), kind=Kind.HOLIDAY)
    assert client.get(url(model)).status_code == 200
    assert client.get(url(model, "add")).status_code == 200


def test_change_forms_render(client, cn):
    CalendarYear.objects.create(calendar=cn, year=2026, source=Source.CHINESE_CALENDAR)
    day = CalendarException.objects.create(
        calendar=cn, date=date(2026, 10, 1), kind=Kind.HOLIDAY, name="National Day"
    )
    policy = SLAPolicy.objects.get(severity=2, active=True)

    page = text_of(client.get(url("businesscalendar", "change", cn.pk)))
    assert "Years with holiday data" in page or "years with holiday data" in page.lower()
    assert "2026" in page and "China mainland office hours" in page
    assert "1 day" in page  # link to the calendar's exceptions
    assert "National Day" in text_of(client.get(url("calendarexception", "change", day.pk)))
    assert "2 · Major" in text_of(client.get(url("slapolicy", "change", policy.pk)))


def test_calendar_list_columns(client, cn):
    for year in (2024, 2025, 2026):
        CalendarYear.objects.create(calendar=cn, year=year)
    for day in (1, 2, 3):
        CalendarException.objects.create(calendar=cn, date=date(2026, 10, day), kind=Kind.HOLIDAY)
    page = text_of(client.get(url("businesscalendar")))
    assert "China mainland office hours" in page
    assert "Asia/Shanghai" in page
    assert "2024–2026" in page
    html = client.get(url("businesscalendar")).content.decode()
    assert re.search(r"field-exception_count[^>]*>\s*3\s*<", html)


def test_policy_list_columns(client):
    page = text_of(client.get(url("slapolicy")))
    # Crisis: 24x7; the others count working time on the default calendar.
    assert "24x7" in page
    assert "1 hour 4 hours 24 hours" in page
    assert "4 working hours 1 working day 3 working days" in page
    assert "China mainland office hours" in page
    assert "75 %" in page


def test_exception_list_columns_filters_and_search(client, cn):
    other = BusinessCalendar.objects.create(code="shop", name="Shop hours")
    CalendarException.objects.create(
        calendar=cn, date=date(2026, 10, 10), kind=Kind.WORKDAY, name="National Day (working)"
    )
    CalendarException.objects.create(
        calendar=cn,
        date=date(2025, 10, 1),
        kind=Kind.HOLIDAY,
        name="National Day",
        source=Source.CHINESE_CALENDAR,
    )
    CalendarException.objects.create(
        calendar=other, date=date(2026, 5, 1), kind=Kind.HOLIDAY, name="Labour Day"
    )
    page = text_of(client.get(url("calendarexception")))
    assert "Saturday" in page  # 10 Oct 2026
    assert page.index("Oct. 1, 2025") < page.index("May 1, 2026") < page.index("Oct. 10, 2026")

    def shown(query):
        return rows(client.get(url("calendarexception") + query), "weekday")

    assert shown("") == 3
    assert shown(f"?calendar__id__exact={other.pk}") == 1
    assert shown("?kind__exact=workday") == 1
    assert shown("?source__exact=chinesecalendar") == 1
    assert shown("?year=2026") == 2
    assert shown("?year=nonsense") == 3
    assert shown("?q=national") == 2


# -- query counts ----------------------------------------------------------------------------


def _add_calendars(start, count):
    for i in range(start, start + count):
        calendar = BusinessCalendar.objects.create(code=f"cal-{i}", name=f"Calendar {i}")
        WorkingInterval.objects.create(
            calendar=calendar, weekday=i % 7, start=time(9), end=time(17)
        )
        CalendarYear.objects.create(calendar=calendar, year=2020 + i % 5)
        CalendarYear.objects.create(calendar=calendar, year=2026)
        CalendarException.objects.create(
            calendar=calendar, date=date(2026, 1, 1) + timedelta(days=i), kind=Kind.HOLIDAY
        )


def test_calendar_changelist_query_count_does_not_grow(client):
    _add_calendars(0, 3)
    few, response = count_queries(client, url("businesscalendar"))
    assert rows(response, "code") == 4
    _add_calendars(3, 30)
    many, response = count_queries(client, url("businesscalendar"))
    assert rows(response, "code") == 34
    assert many == few


def test_exception_changelist_query_count_does_not_grow(client, cn):
    def add(start, count):
        calendars = [
            BusinessCalendar.objects.create(code=f"c{start}-{i}", name=f"C {start}-{i}")
            for i in range(3)
        ]
        for i in range(start, start + count):
            CalendarException.objects.create(
                calendar=calendars[i % 3],
                date=date(2020, 1, 1) + timedelta(days=i),
                kind=Kind.HOLIDAY,
                name=f"Day {i}",
            )

    add(0, 4)
    few, response = count_queries(client, url("calendarexception") + "?year=2020")
    assert rows(response, "weekday") == 4
    add(4, 60)
    many, response = count_queries(client, url("calendarexception") + "?year=2020")
    assert rows(response, "weekday") == 64
    assert many == few


def test_policy_changelist_query_count_does_not_grow(client, cn):
    def add(start, count):
        for i in range(start, start + count):
            calendar = BusinessCalendar.objects.create(code=f"p{i}", name=f"P {i}")
            SLAPolicy.objects.create(
                name=f"Policy {i}",
                severity=1 + i % 4,
                category=CategoryFactory(),
                calendar=calendar if i % 2 else None,
                ack_amount=1,
                ack_unit="hours",
                response_amount=2,
                response_unit="days",
                resolve_amount=3,
                resolve_unit="days",
            )

    add(0, 2)
    few, response = count_queries(client, url("slapolicy"))
    assert rows(response, "clock") == 6
    add(2, 30)
    many, response = count_queries(client, url("slapolicy"))
    assert rows(response, "clock") == 36
    assert many == few


# -- saving and deleting: the calendar is marked changed, deadlines recomputed -----------------


def test_saving_an_exception_bumps_changed_at_and_recomputes(client, cn, recompute):
    day = CalendarException.objects.create(
        calendar=cn,
        date=date(2026, 10, 1),
        kind=Kind.HOLIDAY,
        name="National Day",
        source=Source.CHINESE_CALENDAR,
    )
    before = BusinessCalendar.objects.get(pk=cn.pk).changed_at
    response = post_form(client, url("calendarexception", "change", day.pk), {"kind": "workday"})
    assert response.status_code == 200
    day.refresh_from_db()
    assert day.kind == Kind.WORKDAY
    assert day.source == Source.MANUAL  # staff's edit: load_holidays will keep it
    assert BusinessCalendar.objects.get(pk=cn.pk).changed_at > before
    recompute.assert_called_once()
    assert recompute.call_args.kwargs["calendar_id"] == cn.pk
    assert "2026-10-01" in render(recompute.call_args.kwargs["reason"])


def test_adding_an_exception_recomputes(client, cn, recompute):
    before = BusinessCalendar.objects.get(pk=cn.pk).changed_at
    post_form(
        client,
        url("calendarexception", "add"),
        {"calendar": str(cn.pk), "date": "2026-12-24", "kind": "holiday", "name": "Company day"},
    )
    day = CalendarException.objects.get(calendar=cn, date=date(2026, 12, 24))
    assert day.source == Source.MANUAL
    assert BusinessCalendar.objects.get(pk=cn.pk).changed_at > before
    assert recompute.call_args.kwargs["calendar_id"] == cn.pk


def test_moving_an_exception_to_another_calendar_touches_both(client, cn, recompute):
    other = BusinessCalendar.objects.create(code="shop", name="Shop hours")
    day = CalendarException.objects.create(
        calendar=cn, date=date(2026, 10, 1), kind=Kind.HOLIDAY, name="National Day"
    )
    post_form(client, url("calendarexception", "change", day.pk), {"calendar": str(other.pk)})
    assert CalendarException.objects.get(pk=day.pk).calendar_id == other.pk
    assert {c.kwargs["calendar_id"] for c in recompute.call_args_list} == {cn.pk, other.pk}


def test_deleting_exceptions_recomputes(client, cn, recompute):
    first = CalendarException.objects.create(calendar=cn, date=date(2026, 10, 1), kind=Kind.HOLIDAY)
    second = CalendarException.objects.create(
        calendar=cn, date=date(2026, 10, 2), kind=Kind.HOLIDAY
    )
    before = BusinessCalendar.objects.get(pk=cn.pk).changed_at
    response = client.post(url("calendarexception", "delete", first.pk), {"post": "yes"})
    assert response.status_code == 302
    assert recompute.call_args.kwargs["calendar_id"] == cn.pk
    after_one = BusinessCalendar.objects.get(pk=cn.pk).changed_at
    assert after_one > before

    recompute.reset_mock()
    client.post(
        url("calendarexception"),
        {"action": "delete_selected", "_selected_action": [second.pk], "post": "yes"},
    )
    assert not CalendarException.objects.exists()
    assert recompute.call_args.kwargs["calendar_id"] == cn.pk
    assert BusinessCalendar.objects.get(pk=cn.pk).changed_at > after_one


def test_changing_working_hours_recomputes(client, cn, recompute):
    before = BusinessCalendar.objects.get(pk=cn.pk).changed_at
    page = client.get(url("businesscalendar", "change", cn.pk)).content.decode()
    data = form_fields(page, action="")
    # Friday (the 5th interval row) ends at 17:00 instead of 18:00.
    friday = next(
        key[: -len("-weekday")]
        for key, value in data.items()
        if key.startswith("intervals-") and key.endswith("-weekday") and value == ["4"]
    )
    data[f"{friday}-end"] = ["17:00"]
    response = client.post(url("businesscalendar", "change", cn.pk), data, follow=True)
    assert response.status_code == 200
    assert WorkingInterval.objects.get(calendar=cn, weekday=4).end == time(17)
    assert BusinessCalendar.objects.get(pk=cn.pk).changed_at > before
    recompute.assert_called_once()
    assert recompute.call_args.kwargs["calendar_id"] == cn.pk


def test_saving_an_unchanged_calendar_recomputes_nothing(client, cn, recompute):
    post_form(client, url("businesscalendar", "change", cn.pk))
    recompute.assert_not_called()


def test_overlapping_hours_are_refused(client, cn, recompute):
    page = client.get(url("businesscalendar", "change", cn.pk)).content.decode()
    data = form_fields(page, action="")
    total = int(data["intervals-TOTAL_FORMS"][0])
    data["intervals-TOTAL_FORMS"] = [str(total + 1)]
    data.update(
        {
            f"intervals-{total}-weekday": ["0"],
            f"intervals-{total}-start": ["17:00"],
            f"intervals-{total}-end": ["20:00"],
            f"intervals-{total}-calendar": [str(cn.pk)],
        }
    )
    response = client.post(url("businesscalendar", "change", cn.pk), data)
    assert "The working hours on Monday overlap." in text_of(response)
    assert WorkingInterval.objects.filter(calendar=cn).count() == 5
    recompute.assert_not_called()


def test_a_calendar_without_working_hours_is_refused(client, cn, recompute):
    # A new calendar: the one hours row offered must be filled in.
    response = post_form(
        client,
        url("businesscalendar", "add"),
        {"name": "Empty", "code": "empty", "time_zone": "Asia/Shanghai"},
        follow=False,
    )
    assert response.status_code == 200
    assert "This field is required." in text_of(response)
    assert not BusinessCalendar.objects.filter(code="empty").exists()

    # An existing calendar: deleting every hours row.
    page = client.get(url("businesscalendar", "change", cn.pk)).content.decode()
    data = form_fields(page, action="")
    for i in range(int(data["intervals-TOTAL_FORMS"][0])):
        data[f"intervals-{i}-DELETE"] = ["on"]
    response = client.post(url("businesscalendar", "change", cn.pk), data)
    assert "A calendar needs working hours on at least one weekday." in text_of(response)
    assert WorkingInterval.objects.filter(calendar=cn).count() == 5
    recompute.assert_not_called()


def test_a_second_default_calendar_is_refused_with_a_clear_message(client, cn, recompute):
    other = BusinessCalendar.objects.create(code="shop", name="Shop hours")
    WorkingInterval.objects.create(calendar=other, weekday=0, start=time(9), end=time(17))
    response = post_form(
        client, url("businesscalendar", "change", other.pk), {"is_default": "on"}, follow=False
    )
    assert "“China mainland office hours” is the default calendar" in text_of(response)
    other.refresh_from_db()
    assert not other.is_default


def test_deleting_a_calendar_used_by_a_policy_is_refused_with_a_message(client, cn, recompute):
    delete_url = url("businesscalendar", "delete", cn.pk)
    page = text_of(client.get(delete_url))
    assert "protected" in page.lower()
    assert "2 · Major" in page
    response = client.post(delete_url, {"post": "yes"})
    assert response.status_code in (200, 403)
    assert BusinessCalendar.objects.filter(pk=cn.pk).exists()

    response = client.post(
        url("businesscalendar"),
        {"action": "delete_selected", "_selected_action": [cn.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert "protected" in text_of(response).lower()
    assert BusinessCalendar.objects.filter(pk=cn.pk).exists()
    recompute.assert_not_called()


def test_deleting_an_unused_calendar(client, recompute):
    spare = BusinessCalendar.objects.create(code="spare", name="Spare")
    response = client.post(url("businesscalendar", "delete", spare.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not BusinessCalendar.objects.filter(pk=spare.pk).exists()
    assert recompute.call_args.kwargs["calendar_id"] == spare.pk


def test_saving_a_policy_recomputes_its_severity(client, recompute):
    policy = SLAPolicy.objects.get(severity=3, active=True)
    before = policy.changed_at
    post_form(client, url("slapolicy", "change", policy.pk), {"resolve_amount": "4"})
    policy.refresh_from_db()
    assert policy.resolve_amount == 4
    assert policy.changed_at > before
    recompute.assert_called_once()
    assert recompute.call_args.kwargs["severity"] == 3
    assert "calendar_id" not in recompute.call_args.kwargs


def test_moving_a_policy_to_another_severity_recomputes_both(client, recompute):
    policy = SLAPolicy.objects.get(severity=3, active=True)
    SLAPolicy.objects.filter(severity=2).update(active=False)
    post_form(client, url("slapolicy", "change", policy.pk), {"severity": "2"})
    assert sorted(c.kwargs["severity"] for c in recompute.call_args_list) == [2, 3]


def test_a_clashing_active_policy_is_refused_with_a_clear_message(client, recompute):
    response = post_form(
        client,
        url("slapolicy", "add"),
        {
            "name": "Another major",
            "severity": "2",
            "ack_amount": "1",
            "ack_unit": "hours",
            "response_amount": "1",
            "response_unit": "days",
            "resolve_amount": "2",
            "resolve_unit": "days",
            "warning_percent": "80",
            "active": "on",
        },
        follow=False,
    )
    assert "The active policy “2 · Major” already covers" in text_of(response)
    assert SLAPolicy.objects.filter(severity=2).count() == 1
    recompute.assert_not_called()


def test_a_message_links_to_the_background_recomputation(client, cn):
    from complaints.models import RecomputeJob

    day = CalendarException.objects.create(calendar=cn, date=date(2026, 10, 1), kind=Kind.HOLIDAY)
    response = post_form(client, url("calendarexception", "change", day.pk), {"name": "x"})
    assert "are being recomputed in the background" in text_of(response)
    job = RecomputeJob.objects.get()
    assert url("recomputejob", "change", job.pk) in response.content.decode()


def test_with_the_real_recompute_service(client, cn, manager, django_capture_on_commit_callbacks):
    """No mocks: an admin edit runs through touch_calendar and, after commit, the job."""
    from tests.factories import make_complaint

    complaint = make_complaint(user=manager, severity=4, received_at=timezone.now())
    complaint.refresh_from_db()
    due = complaint.resolve_due_at
    assert due is not None
    # A holiday on every weekday of the next three weeks pushes the resolve deadline out.
    today = timezone.localdate()
    for offset in range(0, 21):
        CalendarException.objects.create(
            calendar=cn, date=today + timedelta(days=offset), kind=Kind.HOLIDAY, name="Closed"
        )
    day = CalendarException.objects.filter(calendar=cn).first()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(client, url("calendarexception", "change", day.pk), {"name": "Shut"})
    assert response.status_code == 200
    complaint.refresh_from_db()
    assert complaint.resolve_due_at > due


def test_deleting_a_policy_that_complaints_use_is_refused_with_a_message(
    client, manager, recompute
):
    from tests.factories import make_complaint

    complaint = make_complaint(user=manager, severity=2)
    complaint.refresh_from_db()
    policy = complaint.sla_policy
    assert policy is not None
    delete_url = url("slapolicy", "delete", policy.pk)
    page = text_of(client.get(delete_url))
    assert "would require deleting the following protected related objects" in page
    assert complaint.reference in page
    assert "permission" not in page
    response = client.post(delete_url, {"post": "yes"})
    assert response.status_code == 200
    assert SLAPolicy.objects.filter(pk=policy.pk).exists()
    recompute.assert_not_called()


def test_deleting_an_unused_policy_recomputes_its_severity(client, recompute):
    policy = SLAPolicy.objects.get(severity=3, active=True)
    response = client.post(url("slapolicy", "delete", policy.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not SLAPolicy.objects.filter(pk=policy.pk).exists()
    assert recompute.call_args.kwargs["severity"] == 3
