from datetime import datetime
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine

from complaints.models import BusinessCalendar, CalendarException, CalendarYear
from complaints.services.calendars import touch_calendar
from tests.api.conftest import _own_throttle_cache, api, make_api_client  # noqa: F401
from tests.conftest import ALL_COMPLAINT_PERMS
from tests.factories import UserFactory, make_complaint, walk_to

SH = ZoneInfo("Asia/Shanghai")
FOLLOWUP_PERMS = [
    "complaints.view_complaint",
    "complaints.view_department_complaints",
    "followups.view_followup",
    "followups.change_followup",
    "followups.view_surveyinvitation",
    "followups.add_surveyinvitation",
    "followups.view_repeatlink",
    "followups.view_followupwaiver",
    "followups.view_improvementaction",
    "followups.add_improvementaction",
    "followups.change_improvementaction",
    "followups.review_improvementaction",
    "followups.view_followuppolicy",
    "followups.change_followuppolicy",
    "followups.view_messagetemplate",
    "followups.change_messagetemplate",
    "followups.view_reminder",
]


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def calendar(db):
    return BusinessCalendar.objects.get(is_default=True)


@pytest.fixture
def cn2026(calendar):
    """The default calendar with the official 2026 schedule (holidays and moved workdays)."""
    rows = [
        CalendarException(calendar=calendar, date=d, kind="holiday", name=name)
        for d, name in chinese_calendar.holidays.items()
        if d.year == 2026
    ] + [
        CalendarException(calendar=calendar, date=d, kind="workday", name=name)
        for d, name in chinese_calendar.workdays.items()
        if d.year == 2026
    ]
    CalendarException.objects.bulk_create(rows)
    CalendarYear.objects.create(calendar=calendar, year=2026)
    touch_calendar(calendar.pk)
    return calendar


@pytest.fixture
def fmanager(db):
    """A complaint manager with every complaint and follow-up permission."""
    return UserFactory(username="fmanager", perms=ALL_COMPLAINT_PERMS + FOLLOWUP_PERMS)


@pytest.fixture
def resolved(department, fmanager, django_capture_on_commit_callbacks):
    """resolved(at=..., **fields) -> a complaint recorded and resolved at `at` (after-commit
    hooks run, as in production)."""

    def make(at: datetime, *, user=None, **fields):
        user = user or fmanager
        fields.setdefault("department", department)
        fields.setdefault("solution", "Repair the pipe and apologise.")
        fields.setdefault("resolution", "Pipe repaired; the customer agreed.")
        with (
            time_machine.travel(at, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            complaint = make_complaint(user=user, received_at=at, **fields)
            complaint = walk_to(complaint, "resolved", user=user)
        return complaint

    return make
