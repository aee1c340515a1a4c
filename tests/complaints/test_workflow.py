"""The status workflow as a user meets it through services.lifecycle.transition.

Every edge of complaints.workflow.EDGES is taken from a complaint walked into its source
state; forbidden moves, unmet preconditions, missing permissions and stale forms must change
nothing at all.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError

from complaints.models import OPEN_STATUSES, Complaint, ComplaintEvent, Status
from complaints.services import lifecycle
from complaints.services.errors import (
    NotPermitted,
    ServiceError,
    StaleVersion,
    TransitionNotAllowed,
)
from complaints.workflow import EDGES
from followups.services.visits import waive
from tests.factories import UserFactory, make_complaint, walk_to

S = Status
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
T1 = T0 + timedelta(hours=3)

# The workflow the complaint managers agreed on (ISO 10002 order). Written out by hand so
# that losing or adding an edge in complaints.workflow is noticed.
EXPECTED_EDGES = {
    (S.NEW, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, S.INVESTIGATING),
    (S.INVESTIGATING, S.AWAITING_CUSTOMER),
    (S.AWAITING_CUSTOMER, S.INVESTIGATING),
    (S.INVESTIGATING, S.SOLUTION_PROPOSED),
    (S.SOLUTION_PROPOSED, S.INVESTIGATING),
    (S.SOLUTION_PROPOSED, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.REOPENED),
    (S.CLOSED, S.REOPENED),
    (S.REOPENED, S.INVESTIGATING),
    (S.NEW, S.INVALID),
    (S.ACKNOWLEDGED, S.INVALID),
    (S.NEW, S.MERGED),
    (S.ACKNOWLEDGED, S.MERGED),
    (S.INVESTIGATING, S.MERGED),
    (S.AWAITING_CUSTOMER, S.MERGED),
    (S.SOLUTION_PROPOSED, S.MERGED),
    (S.REOPENED, S.MERGED),
}


def _edge_id(edge) -> str:
    return f"{edge.source}->{edge.target}"


@pytest.fixture
def new_complaint(manager, department):
    """new_complaint(**fields) -> a complaint fresh from intake, ready for every path."""

    def make(**fields):
        fields.setdefault("department", department)
        fields.setdefault("solution", "Apologise, repair the pipe, refund one month's fee.")
        fields.setdefault("resolution", "Pipe repaired on 12 March; the customer agreed.")
        return make_complaint(user=manager, **fields)

    return make


@pytest.fixture
def at_t0(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def snapshot(complaint_id: int) -> dict:
    """Everything a transition could change, read fresh from the database."""
    c = Complaint.objects.get(pk=complaint_id)
    return {
        "status": c.status,
        "version": c.version,
        "updated_at": c.updated_at,
        "acknowledged_at": c.acknowledged_at,
        "resolved_at": c.resolved_at,
        "closed_at": c.closed_at,
        "reopened_count": c.reopened_count,
        "invalid_reason": c.invalid_reason,
        "merged_into_id": c.merged_into_id,
        "events": list(c.events.order_by("pk").values_list("pk", flat=True)),
    }


def test_workflow_offers_exactly_the_agreed_transitions():
    assert set(EDGES) == EXPECTED_EDGES


@pytest.mark.parametrize("edge", list(EDGES.values()), ids=_edge_id)
def test_every_allowed_edge(edge, manager, new_complaint, at_t0):
    complaint = walk_to(new_complaint(), edge.source, user=manager)
    assert complaint.status == edge.source
    other = new_complaint(subject="Same leak, second caller") if edge.needs_merge_target else None
    if edge.target == S.CLOSED:  # closing needs the follow-ups done or waived (followups)
        waive(complaint.pk, user=manager, reason="Customer asked not to be called back.")
    before = snapshot(complaint.pk)
    other_before = snapshot(other.pk) if other else None
    if edge.target == S.REOPENED:
        # the setup really finished the work, so clearing the clock is observable
        assert before["resolved_at"] == T0
        assert (before["closed_at"] == T0) is (edge.source == S.CLOSED)

    at_t0.move_to(T1, tick=False)
    note = f"Handled by the duty manager ({edge.source} to {edge.target})."
    result = lifecycle.transition(
        complaint.pk,
        edge.target,
        user=manager,
        note=note,
        expected_version=before["version"],
        merge_into=other,
    )

    assert result.status == edge.target
    after = snapshot(complaint.pk)
    assert after["status"] == edge.target
    assert after["version"] == before["version"] + 1
    assert after["updated_at"] == T1

    new_events = list(
        ComplaintEvent.objects.filter(complaint=complaint).exclude(pk__in=before["events"])
    )
    # Waiting for the customer stops the SLA clock, leaving it restarts it and reopening
    # starts a new resolution clock: the clock entry follows the status change.
    moves_clock = edge.target in (S.REOPENED, S.AWAITING_CUSTOMER) or (
        edge.source == S.AWAITING_CUSTOMER and edge.target in OPEN_STATUSES
    )
    kinds = [e.kind for e in new_events]
    assert kinds == [ComplaintEvent.Kind.STATUS] + (
        [ComplaintEvent.Kind.DEADLINES] if moves_clock else []
    )
    event = new_events[0]
    assert event.kind == ComplaintEvent.Kind.STATUS
    assert event.actor == manager
    assert event.from_status == edge.source
    assert event.to_status == edge.target
    assert event.note == note
    assert event.created_at == T1

    expected = {
        key: before[key]
        for key in (
            "acknowledged_at",
            "resolved_at",
            "closed_at",
            "reopened_count",
            "invalid_reason",
            "merged_into_id",
        )
    }
    if edge.target == S.ACKNOWLEDGED:
        expected["acknowledged_at"] = T1
    elif edge.target == S.RESOLVED:
        expected["resolved_at"] = T1
    elif edge.target == S.CLOSED:
        expected["closed_at"] = T1
    elif edge.target == S.REOPENED:
        expected.update(resolved_at=None, closed_at=None, reopened_count=1)
    elif edge.target == S.INVALID:
        expected["invalid_reason"] = note
    elif edge.target == S.MERGED:
        expected["merged_into_id"] = other.pk
    assert {key: after[key] for key in expected} == expected

    if edge.target == S.MERGED:
        assert event.data == {"merged_into": other.reference}
        other_after = snapshot(other.pk)
        # The surviving complaint keeps its status and form version, gains a MERGE entry.
        assert other_after["status"] == other_before["status"]
        assert other_after["version"] == other_before["version"]
        assert other_after["updated_at"] == T1
        merge_events = ComplaintEvent.objects.filter(complaint=other).exclude(
            pk__in=other_before["events"]
        )
        assert [(e.kind, e.actor, e.note, e.data, e.created_at) for e in merge_events] == [
            (ComplaintEvent.Kind.MERGE, manager, note, {"merged_from": complaint.reference}, T1)
        ]


def test_reopen_twice_counts_both(manager, new_complaint, at_t0):
    complaint = walk_to(new_complaint(), S.REOPENED, user=manager)
    for target in (S.INVESTIGATING, S.SOLUTION_PROPOSED, S.RESOLVED, S.CLOSED):
        if target == S.CLOSED:
            waive(complaint.pk, user=manager, reason="Customer asked not to be called back.")
        lifecycle.transition(complaint.pk, target, user=manager, note="again")
    lifecycle.transition(complaint.pk, S.REOPENED, user=manager, note="Leak is back")
    complaint.refresh_from_db()
    assert complaint.reopened_count == 2
    assert complaint.resolved_at is None and complaint.closed_at is None


def test_acknowledged_at_is_first_acknowledgement_and_survives_reopen(
    manager, new_complaint, at_t0
):
    complaint = walk_to(new_complaint(), S.REOPENED, user=manager)
    assert complaint.acknowledged_at == T0


# -- forbidden transitions -----------------------------------------------------------------

FORBIDDEN = [
    (S.NEW, S.RESOLVED),
    (S.NEW, S.CLOSED),
    (S.NEW, S.INVESTIGATING),
    (S.NEW, S.NEW),
    (S.ACKNOWLEDGED, S.RESOLVED),
    (S.INVESTIGATING, S.CLOSED),
    (S.INVESTIGATING, S.INVALID),
    (S.AWAITING_CUSTOMER, S.RESOLVED),
    (S.SOLUTION_PROPOSED, S.CLOSED),
    (S.RESOLVED, S.INVALID),
    (S.RESOLVED, S.MERGED),
    (S.RESOLVED, S.INVESTIGATING),
    (S.CLOSED, S.INVESTIGATING),
    (S.CLOSED, S.RESOLVED),
    (S.CLOSED, S.MERGED),
    (S.REOPENED, S.RESOLVED),
    (S.INVALID, S.ACKNOWLEDGED),
    (S.INVALID, S.REOPENED),
    (S.INVALID, S.MERGED),
    *[(S.MERGED, target) for target in S.values],
    (S.NEW, "escalated"),
]


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=[f"{s}->{t}" for s, t in FORBIDDEN])
def test_forbidden_transition_changes_nothing(source, target, manager, new_complaint, at_t0):
    other = new_complaint(subject="Another complaint")
    merge_target = new_complaint(subject="Merge target") if source == S.MERGED else None
    complaint = walk_to(new_complaint(), source, user=manager, merge_into=merge_target)
    before, other_before = snapshot(complaint.pk), snapshot(other.pk)

    at_t0.move_to(T1, tick=False)
    with pytest.raises(TransitionNotAllowed):
        lifecycle.transition(
            complaint.pk,
            target,
            user=manager,
            note="Trying anyway",
            expected_version=before["version"],
            merge_into=other,
        )

    assert snapshot(complaint.pk) == before
    assert snapshot(other.pk) == other_before


# -- preconditions -------------------------------------------------------------------------

NOTE_EDGES = [e for e in EDGES.values() if e.note_required]


def test_note_is_required_where_the_workflow_asks_for_a_reason():
    assert {(e.source, e.target) for e in NOTE_EDGES} == {
        (S.INVESTIGATING, S.AWAITING_CUSTOMER),
        (S.SOLUTION_PROPOSED, S.INVESTIGATING),
        (S.RESOLVED, S.REOPENED),
        (S.CLOSED, S.REOPENED),
        (S.NEW, S.INVALID),
        (S.ACKNOWLEDGED, S.INVALID),
    }


@pytest.mark.parametrize("note", ["", "   \n\t"], ids=["empty", "blank"])
@pytest.mark.parametrize("edge", NOTE_EDGES, ids=_edge_id)
def test_note_required_edge_refuses_empty_note(edge, note, manager, new_complaint, at_t0):
    complaint = walk_to(new_complaint(), edge.source, user=manager)
    before = snapshot(complaint.pk)
    at_t0.move_to(T1, tick=False)
    with pytest.raises(ServiceError) as exc:
        lifecycle.transition(complaint.pk, edge.target, user=manager, note=note)
    assert str(edge.note_label) in str(exc.value)
    assert snapshot(complaint.pk) == before


@pytest.mark.parametrize("source", [S.ACKNOWLEDGED, S.REOPENED])
def test_investigation_needs_a_responsible_department(source, manager, new_complaint, at_t0):
    complaint = walk_to(new_complaint(), source, user=manager)
    Complaint.objects.filter(pk=complaint.pk).update(department=None)  # setup only
    before = snapshot(complaint.pk)
    with pytest.raises(ServiceError):
        lifecycle.transition(complaint.pk, S.INVESTIGATING, user=manager)
    assert snapshot(complaint.pk) == before


def test_complaint_without_department_cannot_be_acknowledged(manager, at_t0):
    """Defect 5: by acknowledgement a department answers for the complaint."""
    complaint = make_complaint(user=manager)
    assert complaint.department is None
    before = snapshot(complaint.pk)
    with pytest.raises(ServiceError, match="responsible department"):
        lifecycle.transition(complaint.pk, S.ACKNOWLEDGED, user=manager)
    assert snapshot(complaint.pk) == before


def test_acknowledge_sets_the_department_in_the_same_step(manager, department, at_t0):
    complaint = make_complaint(user=manager)
    done = lifecycle.transition(
        complaint.pk, S.ACKNOWLEDGED, user=manager, changes={"department": department}
    )
    assert (done.status, done.department) == (S.ACKNOWLEDGED, department)


def test_transition_refuses_fields_the_step_does_not_ask_for(manager, department, at_t0):
    complaint = make_complaint(user=manager, department=department)
    before = snapshot(complaint.pk)
    with pytest.raises(ServiceError):
        lifecycle.transition(
            complaint.pk, S.ACKNOWLEDGED, user=manager, changes={"subject": "sneaky"}
        )
    assert snapshot(complaint.pk) == before


def test_propose_solution_with_the_solution_in_the_same_step(manager, department, at_t0):
    complaint = walk_to(
        make_complaint(user=manager, department=department), S.INVESTIGATING, user=manager
    )
    done = lifecycle.transition(
        complaint.pk, S.SOLUTION_PROPOSED, user=manager, changes={"solution": "New pipe"}
    )
    assert (done.status, done.solution) == (S.SOLUTION_PROPOSED, "New pipe")


@pytest.mark.parametrize("solution", ["", "  \n "], ids=["empty", "blank"])
def test_propose_solution_needs_solution_text(solution, manager, department, new_complaint, at_t0):
    complaint = walk_to(new_complaint(solution=solution), S.INVESTIGATING, user=manager)
    before = snapshot(complaint.pk)
    with pytest.raises(ServiceError):
        lifecycle.transition(complaint.pk, S.SOLUTION_PROPOSED, user=manager)
    assert snapshot(complaint.pk) == before

    # Once the solution is written down, the same move succeeds.
    lifecycle.update_complaint(
        complaint.pk,
        user=manager,
        changes={"solution": "Replace the pipe at our cost."},
        expected_version=before["version"],
    )
    assert lifecycle.transition(complaint.pk, S.SOLUTION_PROPOSED, user=manager).status == (
        S.SOLUTION_PROPOSED
    )


@pytest.mark.parametrize("resolution", ["", "   "], ids=["empty", "blank"])
def test_resolve_needs_resolution_text(resolution, manager, new_complaint, at_t0):
    complaint = walk_to(new_complaint(resolution=resolution), S.SOLUTION_PROPOSED, user=manager)
    before = snapshot(complaint.pk)
    with pytest.raises(ServiceError):
        lifecycle.transition(complaint.pk, S.RESOLVED, user=manager)
    assert snapshot(complaint.pk) == before

    lifecycle.update_complaint(
        complaint.pk,
        user=manager,
        changes={"resolution": "Pipe replaced; customer satisfied."},
        expected_version=before["version"],
    )
    assert lifecycle.transition(complaint.pk, S.RESOLVED, user=manager).status == S.RESOLVED


@pytest.mark.parametrize("target_kind", ["none", "itself", "merged", "invalid"])
def test_merge_needs_a_valid_target(target_kind, manager, new_complaint, at_t0):
    complaint = walk_to(new_complaint(), S.INVESTIGATING, user=manager)
    if target_kind == "none":
        target = None
    elif target_kind == "itself":
        target = complaint
    elif target_kind == "merged":
        survivor = new_complaint(subject="Survivor")
        target = walk_to(new_complaint(), S.MERGED, user=manager, merge_into=survivor)
    else:
        target = walk_to(new_complaint(), S.INVALID, user=manager)
    before = snapshot(complaint.pk)
    target_before = snapshot(target.pk) if target else None

    with pytest.raises(ServiceError):
        lifecycle.transition(
            complaint.pk, S.MERGED, user=manager, note="duplicate", merge_into=target
        )

    assert snapshot(complaint.pk) == before
    if target is not None:
        assert snapshot(target.pk) == target_before


# -- permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.RESOLVED, S.CLOSED),
        (S.RESOLVED, S.REOPENED),
        (S.CLOSED, S.REOPENED),
        (S.NEW, S.INVALID),
        (S.INVESTIGATING, S.MERGED),
    ],
    ids=lambda v: str(v),
)
def test_handler_lacks_the_special_permissions(
    source, target, handler, manager, new_complaint, at_t0
):
    other = new_complaint(subject="Survivor")
    complaint = walk_to(new_complaint(), source, user=manager)
    before, other_before = snapshot(complaint.pk), snapshot(other.pk)
    with pytest.raises(NotPermitted):
        lifecycle.transition(complaint.pk, target, user=handler, note="I want to", merge_into=other)
    assert snapshot(complaint.pk) == before
    assert snapshot(other.pk) == other_before


def test_close_permission_without_change_permission_is_not_enough(manager, new_complaint, at_t0):
    closer = UserFactory(username="closer", perms=["complaints.close_complaint"])
    complaint = walk_to(new_complaint(), S.RESOLVED, user=manager)
    before = snapshot(complaint.pk)
    with pytest.raises(NotPermitted):
        lifecycle.transition(complaint.pk, S.CLOSED, user=closer)
    assert snapshot(complaint.pk) == before


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
def test_user_without_change_permission_cannot_transition(who, manager, new_complaint, at_t0):
    user = None if who == "anonymous" else UserFactory(perms=["complaints.view_complaint"])
    complaint = new_complaint()
    before = snapshot(complaint.pk)
    with pytest.raises(NotPermitted):
        lifecycle.transition(complaint.pk, S.ACKNOWLEDGED, user=user)
    assert snapshot(complaint.pk) == before


def test_handler_may_take_ordinary_edges(handler, new_complaint, at_t0):
    complaint = new_complaint()
    result = lifecycle.transition(complaint.pk, S.ACKNOWLEDGED, user=handler)
    assert result.status == S.ACKNOWLEDGED
    assert complaint.events.latest("pk").actor == handler


def test_allowed_transitions_follow_permissions(handler, manager, new_complaint, at_t0):
    resolved = walk_to(new_complaint(), S.RESOLVED, user=manager)
    fresh = new_complaint()

    def targets(complaint, user):
        return {e.target for e in lifecycle.allowed_transitions(complaint, user)}

    assert targets(resolved, manager) == {S.CLOSED, S.REOPENED}
    assert targets(resolved, handler) == set()
    assert targets(fresh, manager) == {S.ACKNOWLEDGED, S.INVALID, S.MERGED}
    assert targets(fresh, handler) == {S.ACKNOWLEDGED}
    assert targets(fresh, None) == set()


# -- optimistic locking and atomicity ------------------------------------------------------


def test_stale_version_is_refused_and_nothing_changes(manager, new_complaint, at_t0):
    complaint = new_complaint()
    opened_version = complaint.version
    # A colleague acknowledges it while the form is open.
    lifecycle.transition(complaint.pk, S.ACKNOWLEDGED, user=manager)
    before = snapshot(complaint.pk)

    at_t0.move_to(T1, tick=False)
    with pytest.raises(StaleVersion) as exc:
        lifecycle.transition(
            complaint.pk, S.INVALID, user=manager, note="spam", expected_version=opened_version
        )
    assert complaint.reference in str(exc.value)
    assert snapshot(complaint.pk) == before

    # With the current version the same user succeeds.
    result = lifecycle.transition(
        complaint.pk, S.INVALID, user=manager, note="spam", expected_version=before["version"]
    )
    assert result.status == S.INVALID


def test_failed_merge_leaves_both_complaints_unchanged(manager, new_complaint, at_t0, monkeypatch):
    complaint = walk_to(new_complaint(), S.INVESTIGATING, user=manager)
    survivor = new_complaint(subject="Survivor")
    before, survivor_before = snapshot(complaint.pk), snapshot(survivor.pk)

    real_create = ComplaintEvent.objects.create
    calls = []

    def create_failing_on_second_call(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise DatabaseError("disk full")
        return real_create(**kwargs)

    monkeypatch.setattr(ComplaintEvent.objects, "create", create_failing_on_second_call)
    at_t0.move_to(T1, tick=False)
    with pytest.raises(DatabaseError):
        lifecycle.transition(
            complaint.pk, S.MERGED, user=manager, note="duplicate", merge_into=survivor
        )
    monkeypatch.undo()

    # The status event was written first, the MERGE event on the survivor failed.
    assert [c["kind"] for c in calls] == [ComplaintEvent.Kind.STATUS, ComplaintEvent.Kind.MERGE]
    assert snapshot(complaint.pk) == before
    assert snapshot(survivor.pk) == survivor_before


def test_failed_event_write_leaves_status_unchanged(manager, new_complaint, at_t0, monkeypatch):
    complaint = walk_to(new_complaint(), S.SOLUTION_PROPOSED, user=manager)
    before = snapshot(complaint.pk)

    def failing_create(**kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(ComplaintEvent.objects, "create", failing_create)
    with pytest.raises(DatabaseError):
        lifecycle.transition(complaint.pk, S.RESOLVED, user=manager)
    monkeypatch.undo()
    assert snapshot(complaint.pk) == before
