"""Return visits scheduled from the follow-up policy on the SLA working-time clock."""

from datetime import timedelta

import pytest
import time_machine

from complaints.models import ComplaintEvent, Severity, Status
from complaints.services import lifecycle
from followups.models import FollowUp, FollowUpPolicy, FollowUpStep, Kind, Method
from followups.services import scheduling
from tests.factories import CategoryFactory, make_complaint, walk_to

from .conftest import sh

pytestmark = pytest.mark.django_db


def visits(complaint):
    return {f.kind: f for f in FollowUp.objects.filter(complaint=complaint)}


def test_default_policy_exists_with_callback_and_satisfaction_check():
    policy = FollowUpPolicy.objects.get(severity=None, category=None, active=True)
    steps = {s.kind: s for s in policy.steps.all()}
    assert (steps[Kind.CALLBACK].amount, steps[Kind.CALLBACK].unit) == (2, "days")
    assert steps[Kind.CALLBACK].working_time and steps[Kind.CALLBACK].required_before_close
    assert (steps[Kind.SATISFACTION].amount, steps[Kind.SATISFACTION].working_time) == (30, False)


def test_resolved_before_national_day_callback_due_after_the_holiday(resolved, cn2026):
    # Wed 30 Sep 2026 15:00: 3 working hours left that day, 1-7 Oct are holidays, Thu 8 Oct
    # gives 9 h, the remaining 6 h end Fri 9 Oct 15:00 (2 working days = 18 h).
    complaint = resolved(sh(2026, 9, 30, 15, 0))
    found = visits(complaint)
    assert found[Kind.CALLBACK].due_at == sh(2026, 10, 9, 15, 0)
    # The satisfaction check counts calendar days.
    assert found[Kind.SATISFACTION].due_at == sh(2026, 10, 30, 15, 0)
    assert found[Kind.CALLBACK].assignee is None
    assert found[Kind.CALLBACK].status == "scheduled"
    assert found[Kind.CALLBACK].round == 0


def test_resolved_on_the_mid_autumn_friday_counts_from_monday(resolved, cn2026):
    # Fri 25 Sep 2026 is the Mid-Autumn holiday: the clock starts Mon 28 Sep 09:00 and two
    # working days end Tue 29 Sep 18:00.
    complaint = resolved(sh(2026, 9, 25, 10, 0))
    assert visits(complaint)[Kind.CALLBACK].due_at == sh(2026, 9, 29, 18, 0)


def test_moved_saturday_working_day_counts(resolved, cn2026):
    # Fri 9 Oct 15:00 -> Sat 10 Oct (a working day, 调休) 15:00 -> Mon 12 Oct 15:00.
    complaint = resolved(sh(2026, 10, 9, 15, 0))
    assert visits(complaint)[Kind.CALLBACK].due_at == sh(2026, 10, 12, 15, 0)


def test_scheduling_is_recorded_on_the_timeline(resolved, cn2026):
    complaint = resolved(sh(2026, 9, 30, 15, 0))
    event = complaint.events.filter(data__source="followups").get()
    assert event.kind == ComplaintEvent.Kind.NOTE
    assert event.data["message"]["params"]["count"] == 2
    assert event.data["message"]["params"]["due"] == "2026-10-09 15:00"


def test_most_specific_policy_wins(resolved, cn2026, department):
    parent = CategoryFactory(code="property", default_department=department)
    child = CategoryFactory(code="leaks", parent=parent, default_department=department)
    by_severity = FollowUpPolicy.objects.create(name="Major", severity=Severity.MAJOR)
    FollowUpStep.objects.create(policy=by_severity, kind=Kind.CALLBACK, amount=1, unit="days")
    by_parent = FollowUpPolicy.objects.create(name="Property", category=parent)
    FollowUpStep.objects.create(
        policy=by_parent, kind=Kind.CALLBACK, amount=4, unit="hours", method=Method.VISIT
    )
    by_child = FollowUpPolicy.objects.create(name="Leaks", category=child)
    FollowUpStep.objects.create(policy=by_child, kind=Kind.CALLBACK, amount=3, unit="days")

    leak = resolved(sh(2026, 11, 2, 10, 0), category=child, subject="Leak")
    other = resolved(sh(2026, 11, 2, 10, 0), category=parent, subject="Lift")
    major = resolved(sh(2026, 11, 2, 10, 0), litigation_risk=True, subject="Lawyer")
    assert major.severity == Severity.MAJOR
    assert {f.policy.name for f in FollowUp.objects.filter(complaint=leak)} == {"Leaks"}
    assert visits(leak)[Kind.CALLBACK].due_at == sh(2026, 11, 5, 10, 0)  # Mon + 3 days
    assert visits(other)[Kind.CALLBACK].due_at == sh(2026, 11, 2, 14, 0)  # 4 working hours
    assert visits(other)[Kind.CALLBACK].method == Method.VISIT
    assert set(visits(major)) == {Kind.CALLBACK}  # only the step the Major policy names
    assert visits(major)[Kind.CALLBACK].due_at == sh(2026, 11, 3, 10, 0)


def test_scheduling_twice_adds_nothing(resolved, cn2026):
    complaint = resolved(sh(2026, 11, 2, 10, 0))
    assert scheduling.schedule_for(complaint.pk) == []
    assert scheduling.schedule_missing() == 0
    assert FollowUp.objects.filter(complaint=complaint).count() == 2


def test_periodic_catch_up_schedules_what_the_hook_missed(fmanager, department, cn2026):
    at = sh(2026, 11, 2, 10, 0)
    with time_machine.travel(at, tick=False):  # no on-commit callbacks: the hook never ran
        complaint = make_complaint(
            user=fmanager, department=department, solution="Fix", resolution="Fixed"
        )
        walk_to(complaint, "resolved", user=fmanager)
    assert not FollowUp.objects.filter(complaint=complaint).exists()
    assert scheduling.schedule_missing() == 1
    assert visits(complaint)[Kind.CALLBACK].due_at == sh(2026, 11, 4, 10, 0)


def test_resolving_again_after_reopening_schedules_a_new_round(
    resolved, cn2026, fmanager, django_capture_on_commit_callbacks
):
    complaint = resolved(sh(2026, 11, 2, 10, 0))
    with time_machine.travel(sh(2026, 11, 3, 10, 0), tick=False):
        lifecycle.transition(complaint.pk, Status.REOPENED, user=fmanager, note="Leaks again")
        for target in (Status.INVESTIGATING, Status.SOLUTION_PROPOSED):
            lifecycle.transition(complaint.pk, target, user=fmanager)
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.transition(complaint.pk, Status.RESOLVED, user=fmanager)
    rounds = sorted(
        FollowUp.objects.filter(complaint=complaint).values_list("round", "kind", "status")
    )
    # The first resolution's visits, never made, are superseded by the new ones.
    assert rounds == [
        (0, "callback", "cancelled"),
        (0, "satisfaction", "cancelled"),
        (1, "callback", "scheduled"),
        (1, "satisfaction", "scheduled"),
    ]
    second = FollowUp.objects.get(complaint=complaint, round=1, kind=Kind.CALLBACK)
    assert second.due_at == sh(2026, 11, 5, 10, 0)


def test_assignee_is_the_complaints_handler(resolved, cn2026, fmanager, department):
    from tests.factories import MembershipFactory

    MembershipFactory(department=department, user=fmanager)
    complaint = resolved(sh(2026, 11, 2, 10, 0), assignee=fmanager)
    assert visits(complaint)[Kind.CALLBACK].assignee == fmanager


def test_overdue_follow_ups(resolved, cn2026):
    complaint = resolved(sh(2026, 11, 2, 10, 0))
    callback = visits(complaint)[Kind.CALLBACK]
    assert not callback.is_overdue(sh(2026, 11, 4, 9, 59))
    assert callback.is_overdue(sh(2026, 11, 4, 10, 1))
    assert list(FollowUp.objects.overdue(sh(2026, 11, 4, 10, 1))) == [callback]
    assert callback.due_at - complaint.resolved_at == timedelta(days=2)
