"""Recording return visits: reopen on dissatisfaction, close only when satisfied or waived."""

import pytest
import time_machine
from django.utils import translation

from complaints.messages import render
from complaints.models import ComplaintEvent, Status
from complaints.services import lifecycle
from complaints.services.errors import NotPermitted, ServiceError
from followups.models import FollowUp, FollowUpWaiver, Kind
from followups.services import visits
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory

from .conftest import FOLLOWUP_PERMS, sh

pytestmark = pytest.mark.django_db
AT = sh(2026, 11, 2, 10, 0)
LATER = sh(2026, 11, 3, 11, 0)


def callback(complaint) -> FollowUp:
    return FollowUp.objects.get(complaint=complaint, kind=Kind.CALLBACK)


def test_solved_and_satisfied_keeps_it_resolved(resolved, cn2026, fmanager):
    complaint = resolved(AT)
    with time_machine.travel(LATER, tick=False):
        visits.record_outcome(
            callback(complaint).pk,
            user=fmanager,
            reached=True,
            solved=True,
            satisfaction=4,
            comment="Happy with the repair.",
        )
    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED
    done = callback(complaint)
    assert (done.status, done.reached, done.solved, done.satisfaction) == ("done", True, True, 4)
    assert done.done_by == fmanager and done.done_at == LATER
    event = complaint.events.filter(kind=ComplaintEvent.Kind.CONTACT).get()
    assert event.note == "Happy with the repair."
    assert render(event.data["message"]) == (
        "Callback (verify the fix) done: problem solved: yes; satisfaction: 4/5."
    )


def test_not_solved_reopens_with_the_reason_on_the_timeline(resolved, cn2026, fmanager):
    complaint = resolved(AT)
    with time_machine.travel(LATER, tick=False):
        visits.record_outcome(
            callback(complaint).pk,
            user=fmanager,
            reached=True,
            solved=False,
            satisfaction=3,
            comment="Still dripping.",
        )
    complaint.refresh_from_db()
    assert complaint.status == Status.REOPENED
    assert complaint.reopened_count == 1
    reopen = complaint.events.get(kind=ComplaintEvent.Kind.STATUS, to_status=Status.REOPENED)
    assert reopen.actor == fmanager
    assert reopen.note == "Still dripping."
    assert render(reopen.data["message"]) == (
        "Reopened automatically: in the return visit the customer said the problem is not solved."
    )
    with translation.override("zh-hans"):
        assert "重新打开" in render(reopen.data["message"])


@pytest.mark.parametrize("score,reopens", [(1, True), (2, True), (3, False), (5, False)])
def test_satisfaction_1_or_2_reopens(resolved, cn2026, fmanager, score, reopens):
    complaint = resolved(AT)
    visits.record_outcome(
        callback(complaint).pk, user=fmanager, reached=True, solved=True, satisfaction=score
    )
    complaint.refresh_from_db()
    assert (complaint.status == Status.REOPENED) is reopens
    if reopens:
        reopen = complaint.events.get(to_status=Status.REOPENED)
        assert render(reopen.data["message"]) == (
            "Reopened automatically: in the return visit the customer gave a satisfaction of "
            f"{score} out of 5."
        )


def test_a_handler_without_reopen_permission_still_triggers_the_rule(resolved, cn2026, department):
    handler = UserFactory(
        username="caller",
        perms=["complaints.view_complaint", "complaints.change_complaint", *FOLLOWUP_PERMS[:4]],
    )
    MembershipFactory(department=department, user=handler)
    complaint = resolved(AT)
    assert not handler.has_perm("complaints.reopen_complaint")
    visits.record_outcome(callback(complaint).pk, user=handler, reached=True, solved=False)
    complaint.refresh_from_db()
    assert complaint.status == Status.REOPENED


def test_not_reached(resolved, cn2026, fmanager):
    complaint = resolved(AT)
    visits.record_outcome(callback(complaint).pk, user=fmanager, reached=False, comment="No answer")
    assert callback(complaint).status == "not_reached"
    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"reached": True}, "Say whether the problem is really solved."),
        ({"reached": True, "solved": True, "satisfaction": 6}, "Satisfaction is a number"),
        ({"reached": False, "solved": True}, "The customer was not reached"),
    ],
)
def test_bad_input_changes_nothing(resolved, cn2026, fmanager, kwargs, message):
    complaint = resolved(AT)
    before = complaint.events.count()
    with pytest.raises(ServiceError, match=message):
        visits.record_outcome(callback(complaint).pk, user=fmanager, **kwargs)
    assert callback(complaint).status == "scheduled"
    assert complaint.events.count() == before


def test_recording_twice_is_refused(resolved, cn2026, fmanager):
    complaint = resolved(AT)
    visits.record_outcome(callback(complaint).pk, user=fmanager, reached=True, solved=True)
    with pytest.raises(ServiceError, match="already"):
        visits.record_outcome(callback(complaint).pk, user=fmanager, reached=True, solved=False)
    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED


def test_other_departments_cannot_record(resolved, cn2026):
    complaint = resolved(AT)
    outsider = UserFactory(username="outsider", perms=FOLLOWUP_PERMS)
    MembershipFactory(department=DepartmentFactory(code="sales"), user=outsider)
    with pytest.raises(NotPermitted):
        visits.record_outcome(callback(complaint).pk, user=outsider, reached=True, solved=False)
    assert callback(complaint).status == "scheduled"


def test_closing_needs_the_required_callback_done(resolved, cn2026, fmanager):
    complaint = resolved(AT)
    with pytest.raises(ServiceError, match="required follow-up"):
        lifecycle.transition(complaint.pk, Status.CLOSED, user=fmanager)
    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED
    visits.record_outcome(callback(complaint).pk, user=fmanager, reached=True, solved=True)
    # The satisfaction check is not required before closing (default policy).
    lifecycle.transition(complaint.pk, Status.CLOSED, user=fmanager)
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED


def test_a_not_reached_callback_does_not_satisfy_the_policy(resolved, cn2026, fmanager):
    complaint = resolved(AT)
    visits.record_outcome(callback(complaint).pk, user=fmanager, reached=False)
    with pytest.raises(ServiceError, match="required follow-up"):
        lifecycle.transition(complaint.pk, Status.CLOSED, user=fmanager)


def test_waiver_with_reason_allows_closing(resolved, cn2026, fmanager):
    complaint = resolved(AT)
    with pytest.raises(ServiceError, match="reason"):
        visits.waive(complaint.pk, user=fmanager, reason="  ")
    assert not FollowUpWaiver.objects.exists()
    visits.waive(complaint.pk, user=fmanager, reason="Customer asked not to be called.")
    assert set(FollowUp.objects.filter(complaint=complaint).values_list("status", flat=True)) == {
        "cancelled"
    }
    lifecycle.transition(complaint.pk, Status.CLOSED, user=fmanager)
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED
    note = complaint.events.get(data__message__msg__startswith="Follow-ups waived")
    assert note.note == "Customer asked not to be called."


def test_hook_missing_does_not_let_a_close_slip_through(fmanager, department, cn2026):
    """Without the after-commit scheduling (a lost hook) closing still applies the policy."""
    from tests.factories import make_complaint, walk_to

    with time_machine.travel(AT, tick=False):
        complaint = make_complaint(
            user=fmanager, department=department, solution="Fix", resolution="Fixed"
        )
        complaint = walk_to(complaint, "resolved", user=fmanager)
        with pytest.raises(ServiceError, match="required follow-up"):
            lifecycle.transition(complaint.pk, Status.CLOSED, user=fmanager)
    # The refused close rolled back everything, the follow-ups it scheduled included; the
    # periodic schedule_missing task creates them.
    assert not FollowUp.objects.filter(complaint=complaint).exists()


def test_dissatisfied_after_closing_reopens_the_closed_complaint(resolved, cn2026, fmanager):
    complaint = resolved(AT)
    visits.record_outcome(callback(complaint).pk, user=fmanager, reached=True, solved=True)
    lifecycle.transition(complaint.pk, Status.CLOSED, user=fmanager)
    check = FollowUp.objects.get(complaint=complaint, kind=Kind.SATISFACTION)
    visits.record_outcome(check.pk, user=fmanager, reached=True, solved=True, satisfaction=2)
    complaint.refresh_from_db()
    assert complaint.status == Status.REOPENED
    assert complaint.closed_at is None


def test_reschedule(resolved, cn2026, fmanager, department):
    complaint = resolved(AT)
    other = UserFactory(username="colleague", perms=FOLLOWUP_PERMS)
    MembershipFactory(department=department, user=other)
    outsider = UserFactory(username="outsider2")
    followup = callback(complaint)
    with pytest.raises(ServiceError, match="cannot see"):
        visits.reschedule(
            followup.pk, user=fmanager, assignee=outsider, method="phone", due_at=followup.due_at
        )
    visits.reschedule(followup.pk, user=fmanager, assignee=other, method="visit", due_at=LATER)
    followup.refresh_from_db()
    assert (followup.assignee, followup.method, followup.due_at) == (other, "visit", LATER)
