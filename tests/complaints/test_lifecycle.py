"""Intake, edits, notes and customer contacts through services.lifecycle."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from complaints.messages import render
from complaints.models import (
    Channel,
    Complaint,
    ComplaintEvent,
    Fault,
    ReferenceCounter,
    Status,
)
from complaints.services import lifecycle
from complaints.services.errors import NotPermitted, ServiceError, StaleVersion
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    make_complaint,
    walk_to,
)

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
T1 = T0 + timedelta(hours=2)
Kind = ComplaintEvent.Kind
Direction = ComplaintEvent.Direction


@pytest.fixture
def at_t0(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def intake(user, **fields) -> Complaint:
    """An unsaved complaint as the intake form would hand it to the service."""
    fields.setdefault("channel", Channel.HOTLINE)
    fields.setdefault("subject", "Delivery three days late")
    fields.setdefault("description", "Parcel promised for Monday arrived Thursday.")
    if "customer" not in fields:
        fields["customer"] = CustomerFactory()
    return lifecycle.register_complaint(Complaint(**fields), user=user)


# -- intake --------------------------------------------------------------------------------


def test_intake_records_complaint_with_reference_and_created_event(manager, at_t0):
    complaint = intake(manager, received_at=T0 - timedelta(days=2))

    stored = Complaint.objects.get(pk=complaint.pk)
    assert re.fullmatch(r"C-\d{4}-\d{6}", stored.reference)
    assert stored.reference == "C-2026-000001"
    assert stored.status == Status.NEW
    assert stored.version == 1
    assert stored.created_by == manager
    assert stored.created_at == stored.updated_at == T0
    # received earlier than recorded: accepted and kept as given
    assert stored.received_at == T0 - timedelta(days=2)

    events = list(stored.events.all())
    assert len(events) == 1
    event = events[0]
    assert event.kind == Kind.CREATED
    assert event.actor == manager
    assert event.to_status == Status.NEW
    assert event.created_at == T0
    assert event.data["channel"] == Channel.HOTLINE


def test_references_are_sequential_within_a_year(manager, at_t0):
    refs = [intake(manager).reference for _ in range(3)]
    assert refs == ["C-2026-000001", "C-2026-000002", "C-2026-000003"]


def test_numbering_restarts_in_a_new_year(manager, time_machine):
    time_machine.move_to(datetime(2025, 6, 1, 4, 0, tzinfo=UTC), tick=False)
    assert [intake(manager).reference for _ in range(2)] == ["C-2025-000001", "C-2025-000002"]
    time_machine.move_to(datetime(2026, 2, 1, 4, 0, tzinfo=UTC), tick=False)
    assert intake(manager).reference == "C-2026-000001"
    time_machine.move_to(datetime(2025, 12, 1, 4, 0, tzinfo=UTC), tick=False)
    # a late 2025 number continues the 2025 sequence
    assert intake(manager).reference == "C-2025-000003"


@pytest.mark.parametrize(
    ("utc_moment", "expected"),
    [
        # 31 Dec 17:00 UTC is already 1 Jan 01:00 in Shanghai: the new year's first number
        (datetime(2025, 12, 31, 17, 0, tzinfo=UTC), "C-2026-000001"),
        # 31 Dec 15:59 UTC is 23:59 local: still the old year
        (datetime(2025, 12, 31, 15, 59, tzinfo=UTC), "C-2025-000001"),
    ],
    ids=["local-new-year", "local-old-year"],
)
def test_reference_year_is_the_local_year(utc_moment, expected, manager, time_machine):
    time_machine.move_to(utc_moment, tick=False)
    assert make_complaint(user=manager).reference == expected


def test_department_defaults_from_category(manager, at_t0):
    facilities = DepartmentFactory(code="facilities", name="设施部", name_en="Facilities")
    category = CategoryFactory(name="Water leak", default_department=facilities)
    complaint = intake(manager, category=category)
    assert Complaint.objects.get(pk=complaint.pk).department == facilities
    # Stored bilingual: each reader sees the department in their language (issue 11).
    stored_name = complaint.events.get().data["department"]
    assert render(stored_name) == "Facilities"
    with translation.override("zh-hans"):
        assert render(stored_name) == "设施部"


def test_explicit_department_wins_over_category_default(manager, department, at_t0):
    category = CategoryFactory(default_department=DepartmentFactory(code="sales"))
    complaint = intake(manager, category=category, department=department)
    assert Complaint.objects.get(pk=complaint.pk).department == department


def test_category_without_default_department_leaves_it_empty(manager, at_t0):
    category = CategoryFactory(default_department=None)
    complaint = intake(manager, category=category)
    assert Complaint.objects.get(pk=complaint.pk).department is None


def test_received_in_the_future_is_refused_and_consumes_no_number(manager, at_t0):
    with pytest.raises(ServiceError):
        intake(manager, received_at=T0 + timedelta(hours=1))
    assert Complaint.objects.count() == 0
    assert ComplaintEvent.objects.count() == 0
    assert not ReferenceCounter.objects.exists()
    assert intake(manager).reference == "C-2026-000001"


def test_small_clock_skew_in_received_at_is_tolerated(manager, at_t0):
    complaint = intake(manager, received_at=T0 + timedelta(minutes=2))
    assert complaint.pk is not None


def test_assignee_must_belong_to_the_department(manager, department, at_t0):
    outsider = UserFactory(username="outsider")
    MembershipFactory(department=DepartmentFactory(code="sales"), user=outsider)
    with pytest.raises(ServiceError):
        intake(manager, department=department, assignee=outsider)
    assert Complaint.objects.count() == 0
    assert not ReferenceCounter.objects.exists()


def test_assignee_member_of_category_default_department_is_accepted(manager, at_t0):
    facilities = DepartmentFactory(code="facilities")
    member = UserFactory(username="plumber")
    MembershipFactory(department=facilities, user=member)
    category = CategoryFactory(default_department=facilities)
    complaint = intake(manager, category=category, assignee=member)
    stored = Complaint.objects.get(pk=complaint.pk)
    assert (stored.department, stored.assignee) == (facilities, member)


def test_assignee_without_department_is_refused(manager, handler, at_t0):
    with pytest.raises(ServiceError):
        intake(manager, assignee=handler)
    assert Complaint.objects.count() == 0


def test_inactive_assignee_is_refused(manager, department, at_t0):
    leaver = UserFactory(username="leaver", is_active=False)
    MembershipFactory(department=department, user=leaver)
    with pytest.raises(ServiceError):
        intake(manager, department=department, assignee=leaver)
    assert Complaint.objects.count() == 0


def test_intake_needs_add_permission(db, at_t0):
    viewer = UserFactory(perms=["complaints.view_complaint"])
    with pytest.raises(NotPermitted):
        intake(viewer)
    assert Complaint.objects.count() == 0


def test_a_recorded_complaint_cannot_be_registered_again(manager, at_t0):
    complaint = intake(manager)
    with pytest.raises(ServiceError):
        lifecycle.register_complaint(complaint, user=manager)
    assert Complaint.objects.count() == 1
    assert ComplaintEvent.objects.count() == 1


# -- update_complaint ----------------------------------------------------------------------


@pytest.fixture
def recorded(manager, department, at_t0):
    return make_complaint(user=manager, department=department)


def events_of(complaint, kind=None):
    qs = ComplaintEvent.objects.filter(complaint=complaint).order_by("pk")
    return list(qs.filter(kind=kind) if kind else qs)


def test_field_changes_are_recorded_with_old_and_new_values(manager, recorded, at_t0):
    at_t0.move_to(T1, tick=False)
    new_received = T0 - timedelta(hours=5)
    result = lifecycle.update_complaint(
        recorded.pk,
        user=manager,
        changes={
            "subject": "Ceiling leak in flat 1203",
            "households_affected": 4,
            "received_at": new_received,
        },
        expected_version=1,
    )

    stored = Complaint.objects.get(pk=recorded.pk)
    assert result.version == stored.version == 2
    assert stored.subject == "Ceiling leak in flat 1203"
    assert stored.households_affected == 4
    assert stored.received_at == new_received
    assert stored.updated_at == T1
    [event] = events_of(recorded, Kind.FIELD_CHANGE)
    assert event.actor == manager
    assert event.created_at == T1
    assert event.data == {
        "changes": {
            "subject": ["Water leaking from the ceiling", "Ceiling leak in flat 1203"],
            "households_affected": [1, 4],
            "received_at": [T0.isoformat(), new_received.isoformat()],
        }
    }
    assert events_of(recorded, Kind.ASSIGNMENT) == []


def test_assignment_changes_are_recorded_as_assignment(manager, handler, recorded, at_t0):
    lifecycle.update_complaint(
        recorded.pk, user=manager, changes={"assignee": handler}, expected_version=1
    )
    sales = DepartmentFactory(code="sales", name="Sales")
    lifecycle.update_complaint(
        recorded.pk,
        user=manager,
        changes={"department": sales, "assignee": None},
        expected_version=2,
    )

    stored = Complaint.objects.get(pk=recorded.pk)
    assert (stored.department, stored.assignee, stored.version) == (sales, None, 3)
    first, second = events_of(recorded, Kind.ASSIGNMENT)
    assert first.data == {"assignee": [None, str(handler)]}
    assert second.data["assignee"] == [str(handler), None]
    assert [render(v) for v in second.data["department"]] == ["Property management", "Sales"]
    assert events_of(recorded, Kind.FIELD_CHANGE) == []


def test_mixed_change_writes_assignment_and_field_change(manager, handler, recorded, at_t0):
    lifecycle.update_complaint(
        recorded.pk,
        user=manager,
        changes={"assignee": handler, "root_cause": "Corroded joint"},
        expected_version=1,
    )
    [assignment] = events_of(recorded, Kind.ASSIGNMENT)
    [field_change] = events_of(recorded, Kind.FIELD_CHANGE)
    assert set(assignment.data) == {"assignee"}
    assert field_change.data == {"changes": {"root_cause": ["", "Corroded joint"]}}
    assert Complaint.objects.get(pk=recorded.pk).version == 2


def test_assign_helper_refuses_non_member(manager, recorded, at_t0):
    outsider = UserFactory(username="outsider")
    with pytest.raises(ServiceError):
        lifecycle.assign(
            recorded.pk, user=manager, department=recorded.department, assignee=outsider
        )
    stored = Complaint.objects.get(pk=recorded.pk)
    assert stored.assignee is None and stored.version == 1
    assert events_of(recorded, Kind.ASSIGNMENT) == []


def test_saving_without_changes_writes_nothing(manager, recorded, at_t0):
    at_t0.move_to(T1, tick=False)
    lifecycle.update_complaint(
        recorded.pk,
        user=manager,
        changes={"subject": recorded.subject, "department": recorded.department},
        expected_version=1,
    )
    stored = Complaint.objects.get(pk=recorded.pk)
    assert stored.version == 1
    assert stored.updated_at == T0
    assert [e.kind for e in events_of(recorded)] == [Kind.CREATED]


def test_stale_edit_is_refused(manager, handler, recorded, at_t0):
    lifecycle.update_complaint(
        recorded.pk, user=handler, changes={"subject": "First edit"}, expected_version=1
    )
    with pytest.raises(StaleVersion) as exc:
        lifecycle.update_complaint(
            recorded.pk, user=manager, changes={"subject": "Second edit"}, expected_version=1
        )
    # the message names who changed it
    assert (handler.get_full_name() or handler.get_username()) in str(exc.value)
    stored = Complaint.objects.get(pk=recorded.pk)
    assert (stored.subject, stored.version) == ("First edit", 2)
    assert len(events_of(recorded, Kind.FIELD_CHANGE)) == 1


def test_edit_needs_change_permission(recorded, at_t0):
    viewer = UserFactory(perms=["complaints.view_complaint"])
    with pytest.raises(NotPermitted):
        lifecycle.update_complaint(
            recorded.pk, user=viewer, changes={"subject": "x"}, expected_version=1
        )
    assert Complaint.objects.get(pk=recorded.pk).subject != "x"


@pytest.mark.parametrize("field", ["status", "reference", "version", "merged_into"])
def test_workflow_and_bookkeeping_fields_cannot_be_edited(field, manager, recorded, at_t0):
    before = Complaint.objects.values().get(pk=recorded.pk)
    with pytest.raises(ServiceError):
        lifecycle.update_complaint(
            recorded.pk, user=manager, changes={field: "closed"}, expected_version=1
        )
    assert Complaint.objects.values().get(pk=recorded.pk) == before


def test_future_received_at_is_refused_on_edit(manager, recorded, at_t0):
    with pytest.raises(ServiceError):
        lifecycle.update_complaint(
            recorded.pk,
            user=manager,
            changes={"received_at": T0 + timedelta(days=1)},
            expected_version=1,
        )
    assert Complaint.objects.get(pk=recorded.pk).received_at == T0


@pytest.fixture
def closed(manager, department, at_t0):
    complaint = make_complaint(
        user=manager, department=department, solution="Refund", resolution="Refunded"
    )
    return walk_to(complaint, Status.CLOSED, user=manager)


def test_closed_complaint_accepts_analysis_fields(manager, closed, at_t0):
    category = CategoryFactory(name="Plumbing")
    lifecycle.update_complaint(
        closed.pk,
        user=manager,
        changes={"category": category, "fault": Fault.THIRD_PARTY, "root_cause": "Contractor"},
        expected_version=closed.version,
    )
    stored = Complaint.objects.get(pk=closed.pk)
    assert (stored.category, stored.fault, stored.root_cause) == (
        category,
        Fault.THIRD_PARTY,
        "Contractor",
    )
    assert stored.status == Status.CLOSED
    assert stored.version == closed.version + 1


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Rewritten after closing"},
        {"resolution": "Something else"},
        {"severity": 1},
        {"department": "other"},
        {"root_cause": "Contractor", "subject": "Sneaked in"},
    ],
    ids=["subject", "resolution", "severity", "department", "mixed"],
)
def test_closed_complaint_refuses_other_fields(changes, manager, closed, at_t0):
    if changes.get("department") == "other":
        changes = {"department": DepartmentFactory(code="other")}
    before = Complaint.objects.values().get(pk=closed.pk)
    events_before = len(events_of(closed))
    with pytest.raises(ServiceError):
        lifecycle.update_complaint(
            closed.pk, user=manager, changes=changes, expected_version=closed.version
        )
    assert Complaint.objects.values().get(pk=closed.pk) == before
    assert len(events_of(closed)) == events_before


def test_closed_complaint_refuses_assisting_department_change(manager, closed, at_t0):
    with pytest.raises(ServiceError):
        lifecycle.update_complaint(
            closed.pk,
            user=manager,
            changes={},
            assisting=[DepartmentFactory(code="legal")],
            expected_version=closed.version,
        )
    assert not closed.assisting_departments.exists()


def test_assisting_departments_change_is_recorded(manager, recorded, at_t0):
    legal = DepartmentFactory(code="legal", name="Legal")
    lifecycle.update_complaint(
        recorded.pk, user=manager, changes={}, assisting=[legal], expected_version=1
    )
    stored = Complaint.objects.get(pk=recorded.pk)
    assert list(stored.assisting_departments.all()) == [legal]
    assert stored.version == 2
    [event] = events_of(recorded, Kind.FIELD_CHANGE)
    old, new = event.data["changes"]["assisting_departments"]
    assert old == [] and [render(v) for v in new] == ["Legal"]


# -- add_note / log_contact ----------------------------------------------------------------


def test_add_note_writes_event_and_touches_without_new_version(handler, recorded, at_t0):
    at_t0.move_to(T1, tick=False)
    event = lifecycle.add_note(recorded.pk, user=handler, text="  Called the plumber.  ")
    assert (event.kind, event.actor, event.note, event.created_at) == (
        Kind.NOTE,
        handler,
        "Called the plumber.",
        T1,
    )
    stored = Complaint.objects.get(pk=recorded.pk)
    assert stored.updated_at == T1
    assert stored.version == 1


@pytest.mark.parametrize("text", ["", "  \n "])
def test_empty_note_is_refused(text, handler, recorded, at_t0):
    at_t0.move_to(T1, tick=False)
    with pytest.raises(ServiceError):
        lifecycle.add_note(recorded.pk, user=handler, text=text)
    assert [e.kind for e in events_of(recorded)] == [Kind.CREATED]
    assert Complaint.objects.get(pk=recorded.pk).updated_at == T0


def test_note_needs_change_permission(recorded, at_t0):
    viewer = UserFactory(perms=["complaints.view_complaint"])
    with pytest.raises(NotPermitted):
        lifecycle.add_note(recorded.pk, user=viewer, text="hello")
    assert [e.kind for e in events_of(recorded)] == [Kind.CREATED]


def test_first_outbound_contact_is_the_first_response(handler, recorded, at_t0):
    at_t0.move_to(T1, tick=False)
    inbound = lifecycle.log_contact(
        recorded.pk,
        user=handler,
        channel=Channel.HOTLINE,
        direction=Direction.INBOUND,
        summary="Customer called again, angry.",
        contacted_at=T0 + timedelta(minutes=30),
    )
    stored = Complaint.objects.get(pk=recorded.pk)
    assert stored.first_response_at is None
    assert (stored.updated_at, stored.version) == (T1, 1)
    assert (inbound.kind, inbound.contact_channel, inbound.contact_direction) == (
        Kind.CONTACT,
        Channel.HOTLINE,
        Direction.INBOUND,
    )
    assert inbound.note == "Customer called again, angry."
    assert inbound.data == {"contacted_at": (T0 + timedelta(minutes=30)).isoformat()}

    first_call = T0 + timedelta(hours=1)
    lifecycle.log_contact(
        recorded.pk,
        user=handler,
        channel=Channel.HOTLINE,
        direction=Direction.OUTBOUND,
        summary="Apologised, plumber booked for tomorrow.",
        contacted_at=first_call,
    )
    assert Complaint.objects.get(pk=recorded.pk).first_response_at == first_call

    lifecycle.log_contact(
        recorded.pk,
        user=handler,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        summary="Sent the appointment by email.",
    )
    stored = Complaint.objects.get(pk=recorded.pk)
    assert stored.first_response_at == first_call
    assert stored.version == 1
    assert [e.kind for e in events_of(recorded)] == [Kind.CREATED] + [Kind.CONTACT] * 3


def test_backdated_outbound_contact_logged_late_is_still_the_first_response(
    handler, recorded, at_t0
):
    """Staff log calls after the fact: the earliest outbound contact is the first response,
    whatever order the contacts were logged in."""
    at_t0.move_to(T1, tick=False)
    email_sent = T0 + timedelta(hours=1, minutes=30)
    lifecycle.log_contact(
        recorded.pk,
        user=handler,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        summary="Emailed an apology.",
        contacted_at=email_sent,
    )
    earlier_call = T0 + timedelta(minutes=20)
    lifecycle.log_contact(
        recorded.pk,
        user=handler,
        channel=Channel.HOTLINE,
        direction=Direction.OUTBOUND,
        summary="Called back right away (logged late).",
        contacted_at=earlier_call,
    )
    assert Complaint.objects.get(pk=recorded.pk).first_response_at == earlier_call


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"summary": "   "}, "empty summary"),
        ({"contacted_at": T0 - timedelta(minutes=1)}, "before the complaint was received"),
        ({"contacted_at": T1 + timedelta(hours=1)}, "in the future"),
        ({"channel": "pigeon"}, "unknown channel"),
        ({"direction": "sideways"}, "unknown direction"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_invalid_contact_is_refused(kwargs, why, handler, recorded, at_t0):
    at_t0.move_to(T1, tick=False)
    params = {
        "channel": Channel.HOTLINE,
        "direction": Direction.OUTBOUND,
        "summary": "Called the customer.",
        "contacted_at": T0 + timedelta(minutes=10),
    } | kwargs
    with pytest.raises(ServiceError):
        lifecycle.log_contact(recorded.pk, user=handler, **params)
    stored = Complaint.objects.get(pk=recorded.pk)
    assert stored.first_response_at is None
    assert stored.updated_at == T0
    assert [e.kind for e in events_of(recorded)] == [Kind.CREATED]


def test_contact_needs_change_permission(recorded, at_t0):
    viewer = UserFactory(perms=["complaints.view_complaint"])
    with pytest.raises(NotPermitted):
        lifecycle.log_contact(
            recorded.pk,
            user=viewer,
            channel=Channel.HOTLINE,
            direction=Direction.OUTBOUND,
            summary="Hi",
        )
    assert Complaint.objects.get(pk=recorded.pk).first_response_at is None
