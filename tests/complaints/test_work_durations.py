"""Working time to first response and to resolution, stored on the complaint by the services
(the same clock as the deadlines; the time the clock stood while awaiting the customer is
left out)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from complaints.models import ComplaintEvent, Severity, Status
from complaints.services import lifecycle
from tests.factories import DepartmentFactory, UserFactory, make_complaint

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def user():
    from tests.conftest import ALL_COMPLAINT_PERMS

    return UserFactory(perms=ALL_COMPLAINT_PERMS)


def test_first_response_counts_working_hours_only(user):
    # Friday 17:00 → Monday 10:00 on the Mon-Fri 09-18 calendar: 1 h + 1 h = 2 working hours.
    complaint = make_complaint(received_at=sh(2026, 11, 27, 17), department=DepartmentFactory())
    lifecycle.log_contact(
        complaint.pk,
        user=user,
        channel="hotline",
        direction=ComplaintEvent.Direction.OUTBOUND,
        summary="Called back",
        contacted_at=sh(2026, 11, 30, 10),
        now=sh(2026, 11, 30, 10, 5),
    )
    complaint.refresh_from_db()
    assert complaint.first_response_work_seconds == 2 * 3600
    assert complaint.resolution_work_seconds is None


def test_resolution_leaves_out_the_wait_for_the_customer_and_reopening_clears_it(user):
    complaint = make_complaint(
        received_at=sh(2026, 11, 30, 9),  # Monday 09:00
        department=DepartmentFactory(),
        solution="Repair",
        resolution="Repaired",
    )
    for target, at in [
        ("acknowledged", sh(2026, 11, 30, 10)),
        ("investigating", sh(2026, 11, 30, 11)),
        ("awaiting_customer", sh(2026, 11, 30, 12)),  # clock stands 12:00 → Tue 12:00 (9 h)
        ("investigating", sh(2026, 12, 1, 12)),
        ("solution_proposed", sh(2026, 12, 1, 13)),
        ("resolved", sh(2026, 12, 1, 15)),
    ]:
        lifecycle.transition(complaint.pk, target, user=user, note="step", now=at)
    complaint.refresh_from_db()
    # Mon 09-18 (9 h) + Tue 09-15 (6 h) = 15 working hours, less the 9 h waiting = 6 h.
    assert complaint.resolution_work_seconds == 6 * 3600
    lifecycle.transition(
        complaint.pk, "reopened", user=user, note="Leaks again", now=sh(2026, 12, 2, 9)
    )
    complaint.refresh_from_db()
    assert complaint.status == Status.REOPENED
    assert complaint.resolution_work_seconds is None


def test_crisis_counts_on_the_wall_clock(user):
    complaint = make_complaint(
        received_at=sh(2026, 11, 28, 22),  # Saturday night
        media_risk=True,
        department=DepartmentFactory(),
    )
    assert complaint.severity == Severity.CRISIS
    lifecycle.log_contact(
        complaint.pk,
        user=user,
        channel="hotline",
        direction=ComplaintEvent.Direction.OUTBOUND,
        summary="Called",
        contacted_at=sh(2026, 11, 28, 23, 30),
        now=sh(2026, 11, 28, 23, 31),
    )
    complaint.refresh_from_db()
    assert complaint.first_response_work_seconds == 90 * 60
