"""SLA deadlines stored on complaints: policies, calendars, pauses, reopening, provisional."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine
from django.utils import translation

from complaints.messages import render
from complaints.models import (
    BusinessCalendar,
    CalendarException,
    CalendarYear,
    Complaint,
    ComplaintEvent,
    Customer,
    Severity,
    SLAPolicy,
    Status,
    WorkingInterval,
)
from complaints.services import lifecycle, sla
from complaints.services.calendars import touch_calendar
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    DepartmentFactory,
    make_complaint,
    walk_to,
)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def calendar():
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


def record(at: datetime, user, **fields) -> Complaint:
    fields.setdefault("department", DepartmentFactory(code="service"))
    fields.setdefault("solution", "Repair and apologise.")
    fields.setdefault("resolution", "Repaired.")
    with time_machine.travel(at, tick=False):
        return make_complaint(user=user, received_at=at, **fields)


def test_default_policies_exist_per_severity():
    policies = {p.severity: p for p in SLAPolicy.objects.filter(category=None, customer_tier="")}
    assert set(policies) == {1, 2, 3, 4}
    assert policies[1].calendar is None  # crisis: 24x7
    assert (policies[1].ack_amount, policies[1].ack_unit) == (1, "hours")
    assert (policies[1].resolve_amount, policies[1].resolve_unit) == (24, "hours")
    assert (policies[2].ack_amount, policies[2].ack_unit) == (4, "hours")
    assert (policies[2].resolve_amount, policies[2].resolve_unit) == (3, "days")
    assert (policies[3].ack_amount, policies[3].resolve_amount) == (1, 5)
    assert (policies[4].ack_amount, policies[4].resolve_amount) == (1, 7)
    assert all(p.warning_percent == 75 for p in policies.values())


def test_general_complaint_on_friday_afternoon_is_due_next_week(manager, cn2026):
    c = record(sh(2026, 11, 27, 17, 0), manager)
    assert c.severity == Severity.GENERAL
    # 1 working day = 9 h: Fri 17-18, Mon 09-17.
    assert c.ack_due_at == sh(2026, 11, 30, 17, 0)
    # 75 % of 9 h = 6 h 45 min: Fri 1 h, Mon 09:00 + 5 h 45 min.
    assert c.ack_warn_at == sh(2026, 11, 30, 14, 45)
    # 3 working days: Fri 1 h, Mon 9, Tue 9, Wed 8 -> 17:00.
    assert c.response_due_at == sh(2026, 12, 2, 17, 0)
    # 7 working days (63 h): Fri 1 h, six full days to Mon 7 Dec, then 8 h on Tue.
    assert c.resolve_due_at == sh(2026, 12, 8, 17, 0)
    assert c.due_at == c.ack_due_at
    assert c.deadline_provisional is False


def test_received_at_the_weekend_starts_on_monday_morning(manager, cn2026):
    c = record(sh(2026, 11, 28, 11, 0), manager, media_risk=False, households_affected=3)
    assert c.severity == Severity.MAJOR  # 3 households
    assert c.ack_due_at == sh(2026, 11, 30, 13, 0)  # 4 working hours from Mon 09:00


def test_national_day_holiday_and_its_weekend_working_day(manager, cn2026):
    # Wed 30 Sep 10:00 + 1 working day: Oct 1-7 are holidays, Thu 8 Oct works.
    c = record(sh(2026, 9, 30, 10, 0), manager)
    assert c.ack_due_at == sh(2026, 10, 8, 10, 0)
    # 7 working days: Sep 30 (8 h), Oct 8, Oct 9, Sat Oct 10 (moved working day), Oct 12-14,
    # then 1 h on Oct 15.
    assert c.resolve_due_at == sh(2026, 10, 15, 10, 0)


def test_saturday_working_day_counts(manager, cn2026):
    c = record(sh(2026, 10, 9, 10, 0), manager)  # Friday before the moved Saturday
    assert c.ack_due_at == sh(2026, 10, 10, 10, 0)


def test_crisis_runs_around_the_clock(manager, cn2026):
    c = record(sh(2026, 10, 1, 23, 0), manager, media_risk=True)
    assert c.severity == Severity.CRISIS
    assert c.ack_due_at == sh(2026, 10, 2, 0, 0)
    assert c.ack_warn_at == sh(2026, 10, 1, 23, 45)
    assert c.resolve_due_at == sh(2026, 10, 2, 23, 0)


def test_lunch_break_is_not_working_time(manager):
    lunch = BusinessCalendar.objects.create(code="lunch", name="With lunch break")
    WorkingInterval.objects.bulk_create(
        WorkingInterval(calendar=lunch, weekday=d, start=time(h1), end=time(h2))
        for d in range(5)
        for h1, h2 in ((9, 12), (13, 18))
    )
    CalendarYear.objects.create(calendar=lunch, year=2026)
    SLAPolicy.objects.filter(severity=Severity.MAJOR).update(calendar=lunch)
    c = record(sh(2026, 11, 25, 10, 30), manager, litigation_risk=True)
    assert c.severity == Severity.MAJOR
    # 4 working hours: 10:30-12:00 (1.5 h), 13:00-15:30 (2.5 h).
    assert c.ack_due_at == sh(2026, 11, 25, 15, 30)
    # A working day on this calendar is 8 h: 3 days = 24 h = Wed rest 6.5 h, Thu 8, Fri 8, Mon 1.5.
    assert c.resolve_due_at == sh(2026, 11, 30, 10, 30)


def test_year_without_holiday_data_is_provisional(manager, cn2026, superuser, login_client):
    c = record(sh(2026, 12, 28, 10, 0), manager)
    # 2027 has no data: weekends only. 63 working hours from Mon 28 Dec 10:00: Dec 28 (8 h),
    # Dec 29-31, Fri 1 Jan (counted: no data), Jan 4, Jan 5, then 1 h on Wed 6 Jan.
    assert c.resolve_due_at == sh(2027, 1, 6, 10, 0)
    assert c.deadline_provisional is True
    page = (
        login_client(superuser).get(f"/admin/complaints/complaint/{c.pk}/change/").content.decode()
    )
    assert "Provisional deadline" in page

    c2 = record(sh(2026, 11, 2, 10, 0), manager)
    assert c2.deadline_provisional is False


def test_loading_the_missing_year_recomputes_provisional_deadlines(manager, cn2026, calendar):
    c = record(sh(2026, 12, 28, 10, 0), manager)
    assert c.deadline_provisional
    CalendarException.objects.create(
        calendar=calendar, date=datetime(2027, 1, 1).date(), kind="holiday", name="New Year"
    )
    CalendarYear.objects.create(calendar=calendar, year=2027)
    touch_calendar(calendar.pk)
    with time_machine.travel(sh(2026, 12, 28, 11, 0), tick=False):
        moved = sla.recompute_open(reason="2027 holidays loaded", provisional_only=True)
    assert moved == 1
    c.refresh_from_db()
    assert c.deadline_provisional is False
    assert c.resolve_due_at == sh(2027, 1, 7, 10, 0)  # one day later: Jan 1 is a holiday
    event = c.events.get(kind=ComplaintEvent.Kind.DEADLINES)
    assert event.note == "2027 holidays loaded"
    # Running again changes nothing.
    assert sla.recompute_open(reason="again", provisional_only=True) == 0


def test_awaiting_customer_pauses_and_resumes_with_the_remaining_time(manager, cn2026):
    c = record(sh(2026, 11, 2, 9, 0), manager)  # Monday; resolve by Tue 10 Nov 18:00
    assert c.resolve_due_at == sh(2026, 11, 10, 18, 0)
    with time_machine.travel(sh(2026, 11, 3, 9, 0), tick=False):
        walk_to(c, Status.INVESTIGATING, user=manager)
        c = lifecycle.transition(
            c.pk, Status.AWAITING_CUSTOMER, user=manager, note="Photos of the damage"
        )
    assert c.due_at is None  # nothing is due while the clock stands
    assert c.sla_paused_at == sh(2026, 11, 3, 9, 0)
    # The customer answers two working days later (Thu 09:00).
    with time_machine.travel(sh(2026, 11, 5, 9, 0), tick=False):
        c = lifecycle.transition(c.pk, Status.INVESTIGATING, user=manager)
    assert c.sla_paused_at is None
    assert c.resolve_due_at == sh(2026, 11, 12, 18, 0)
    # The first response (due Wed 4 Nov 18:00, not yet given) moves by the same two days.
    assert c.response_due_at == sh(2026, 11, 6, 18, 0)
    assert c.due_at == c.response_due_at
    stopped, resumed = c.events.filter(kind=ComplaintEvent.Kind.DEADLINES).order_by("pk")
    assert render(stopped.data["message"]) == "The clock stopped while waiting for the customer."
    assert render(resumed.data["message"]) == "The clock resumed after waiting for the customer."
    with translation.override("zh-hans"):  # stored as messages: each reader's language
        assert "恢复计时" in render(resumed.data["message"])
    event = resumed
    assert event.data["changes"]["resolve_due_at"][1].startswith("2026-11-12T18:00")


def test_a_deadline_missed_before_the_pause_stays_missed(manager, cn2026):
    c = record(sh(2026, 11, 2, 9, 0), manager)  # first response due Wed 4 Nov 18:00
    with time_machine.travel(sh(2026, 11, 5, 9, 0), tick=False):
        walk_to(c, Status.INVESTIGATING, user=manager)
        lifecycle.transition(c.pk, Status.AWAITING_CUSTOMER, user=manager, note="Photos")
    with time_machine.travel(sh(2026, 11, 6, 9, 0), tick=False):
        c = lifecycle.transition(c.pk, Status.INVESTIGATING, user=manager)
    assert c.response_due_at == sh(2026, 11, 4, 18, 0)  # still missed
    assert c.resolve_due_at == sh(2026, 11, 11, 18, 0)  # moved by one working day
    assert c.due_at == c.response_due_at


def test_reopening_starts_a_new_resolution_clock(manager, cn2026):
    c = record(sh(2026, 11, 2, 9, 0), manager)
    with time_machine.travel(sh(2026, 11, 4, 10, 0), tick=False):
        lifecycle.log_contact(
            c.pk, user=manager, channel="hotline", direction="out", summary="Apologised"
        )
        c = walk_to(c, Status.RESOLVED, user=manager)
    assert c.due_at is None
    with time_machine.travel(sh(2026, 11, 20, 14, 0), tick=False):
        c = lifecycle.transition(c.pk, Status.REOPENED, user=manager, note="Leak is back")
    assert c.resolve_clock_started_at == sh(2026, 11, 20, 14, 0)
    # 7 working days from Fri 20 Nov 14:00.
    assert c.resolve_due_at == sh(2026, 12, 1, 14, 0)
    assert c.due_at == c.resolve_due_at
    # The met acknowledgement keeps its historical deadline.
    assert c.ack_due_at == sh(2026, 11, 2, 18, 0)


def test_most_specific_policy_wins(manager, cn2026, calendar):
    parent = CategoryFactory(code="quality", name="Quality")
    child = CategoryFactory(code="leak", name="Leak", parent=parent)
    common = {
        "severity": Severity.GENERAL,
        "calendar": calendar,
        "ack_unit": "hours",
        "response_amount": 1,
        "response_unit": "days",
        "resolve_amount": 7,
        "resolve_unit": "days",
    }
    by_parent = SLAPolicy.objects.create(name="Quality", category=parent, ack_amount=2, **common)
    vip = SLAPolicy.objects.create(name="VIP", customer_tier="vip", ack_amount=3, **common)
    by_both = SLAPolicy.objects.create(
        name="VIP leak", category=child, customer_tier="vip", ack_amount=1, **common
    )
    standard = CustomerFactory(tier=Customer.Tier.STANDARD)
    vip_customer = CustomerFactory(tier=Customer.Tier.VIP)
    at = sh(2026, 11, 2, 9, 0)
    assert record(at, manager, category=child, customer=standard).sla_policy == by_parent
    assert record(at, manager, customer=vip_customer).sla_policy == vip
    c = record(at, manager, category=child, customer=vip_customer)
    assert c.sla_policy == by_both
    assert c.ack_due_at == sh(2026, 11, 2, 10, 0)
    generic = record(at, manager, customer=standard)
    assert generic.sla_policy.category is None and generic.sla_policy.customer_tier == ""


def test_editing_the_category_moves_deadlines_with_an_event(manager, cn2026, calendar):
    fast = CategoryFactory(code="fast", name="Fast lane")
    SLAPolicy.objects.create(
        name="Fast",
        severity=Severity.GENERAL,
        category=fast,
        calendar=calendar,
        ack_amount=1,
        ack_unit="hours",
        response_amount=2,
        response_unit="hours",
        resolve_amount=1,
        resolve_unit="days",
    )
    c = record(sh(2026, 11, 2, 9, 0), manager)
    with time_machine.travel(sh(2026, 11, 2, 9, 30), tick=False):
        c = lifecycle.update_complaint(
            c.pk, user=manager, changes={"category": fast}, expected_version=1
        )
    c.refresh_from_db()
    assert c.ack_due_at == sh(2026, 11, 2, 10, 0)
    assert c.resolve_due_at == sh(2026, 11, 2, 18, 0)
    assert c.events.filter(kind=ComplaintEvent.Kind.DEADLINES).count() == 1


def test_policy_change_recomputes_open_complaints_of_that_severity(manager, cn2026):
    open_one = record(sh(2026, 11, 2, 9, 0), manager)
    done = walk_to(record(sh(2026, 11, 2, 9, 0), manager), Status.CLOSED, user=manager)
    policy = SLAPolicy.objects.get(severity=Severity.GENERAL, category=None, customer_tier="")
    policy.resolve_amount = 10
    policy.save()
    moved = sla.recompute_open(reason="Policy changed", severity=Severity.GENERAL)
    assert moved == 1
    open_one.refresh_from_db()
    assert open_one.resolve_due_at == sh(2026, 11, 13, 18, 0)
    done_before = done.resolve_due_at
    done.refresh_from_db()
    assert done.resolve_due_at == done_before


def test_deadline_computation_is_batched_without_per_row_queries(manager, cn2026):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for day in range(2, 7):
        record(sh(2026, 11, day, 9, 0), manager)
    SLAPolicy.objects.filter(severity=Severity.GENERAL).update(resolve_amount=9)
    with CaptureQueriesContext(connection) as few:
        sla.recompute_open(reason="x", severity=Severity.GENERAL)
    for day in range(9, 14):
        for _ in range(4):
            record(sh(2026, 11, day, 9, 0), manager)
    SLAPolicy.objects.filter(severity=Severity.GENERAL).update(resolve_amount=8)
    with CaptureQueriesContext(connection) as many:
        sla.recompute_open(reason="y", severity=Severity.GENERAL)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_pause_is_measured_on_the_clock_in_force(manager, cn2026):
    """Paused two working days on the business calendar, then raised to a crisis (24x7):
    the pause counts as the 48 wall-clock hours it lasted."""
    c = record(sh(2026, 11, 2, 9, 0), manager)  # Monday
    with time_machine.travel(sh(2026, 11, 2, 9, 0), tick=False):
        walk_to(c, Status.INVESTIGATING, user=manager)
        lifecycle.transition(c.pk, Status.AWAITING_CUSTOMER, user=manager, note="Photos")
    with time_machine.travel(sh(2026, 11, 4, 9, 0), tick=False):
        c = lifecycle.transition(c.pk, Status.INVESTIGATING, user=manager)
    with time_machine.travel(sh(2026, 11, 4, 10, 0), tick=False):
        c = lifecycle.update_complaint(
            c.pk, user=manager, changes={"media_risk": True}, expected_version=c.version
        )
    c.refresh_from_db()
    assert c.severity == Severity.CRISIS
    # 24 h around the clock from Mon 09:00, plus the 48 h the clock stood.
    assert c.resolve_due_at == sh(2026, 11, 5, 9, 0)


def test_met_deadlines_survive_a_deactivated_policy(manager, cn2026):
    c = record(sh(2026, 11, 2, 9, 0), manager)
    with time_machine.travel(sh(2026, 11, 2, 10, 0), tick=False):
        c = lifecycle.transition(c.pk, Status.ACKNOWLEDGED, user=manager)
    ack_due = c.ack_due_at
    SLAPolicy.objects.filter(severity=Severity.GENERAL).update(active=False)
    sla.recompute_open(reason="Policies retired")
    c.refresh_from_db()
    assert c.ack_due_at == ack_due
    assert c.resolve_due_at is None and c.due_at is None
