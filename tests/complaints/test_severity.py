"""Automatic severity: every rule of the DOMAIN.md table, only rising, overrides."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from complaints.messages import render, source_text
from complaints.models import Complaint, ComplaintEvent, Fault, Severity, Status
from complaints.services import lifecycle, severity
from complaints.services.errors import NotPermitted, ServiceError, StaleVersion
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    DepartmentFactory,
    UserFactory,
    make_complaint,
    walk_to,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def leak():
    return CategoryFactory(code="leak", name="Leak")


def intake(user, **fields) -> Complaint:
    fields.setdefault("department", DepartmentFactory(code="service"))
    fields.setdefault("solution", "Fix it.")
    fields.setdefault("resolution", "Fixed.")
    return make_complaint(user=user, **fields)


def severity_events(complaint):
    return list(complaint.events.filter(kind=ComplaintEvent.Kind.SEVERITY).order_by("pk"))


@pytest.mark.parametrize(
    ("fields", "level", "reason"),
    [
        ({}, Severity.GENERAL, "No rule for a higher level applies."),
        ({"media_risk": True}, Severity.CRISIS, "Risk of negative media exposure."),
        ({"households_affected": 10}, Severity.CRISIS, "10 households/customers affected"),
        ({"households_affected": 250}, Severity.CRISIS, "250 households/customers affected"),
        ({"litigation_risk": True}, Severity.MAJOR, "May lead to litigation."),
        ({"households_affected": 3}, Severity.MAJOR, "3 households/customers affected (3 to 9)"),
        ({"households_affected": 9}, Severity.MAJOR, "9 households/customers affected (3 to 9)"),
        ({"households_affected": 2}, Severity.GENERAL, "No rule"),
        ({"needs_other_departments": True}, Severity.ELEVATED, "Needs help from other"),
        ({"media_risk": True, "litigation_risk": True}, Severity.CRISIS, "media exposure"),
    ],
)
def test_intake_rules(manager, fields, level, reason):
    c = intake(manager, **fields)
    assert c.severity == level
    assert reason in source_text(c.severity_reason)
    created = c.events.get(kind=ComplaintEvent.Kind.CREATED)
    assert created.data["severity"] == level


def test_assisting_departments_make_it_elevated(manager):
    c = lifecycle.register_complaint(
        Complaint(
            channel="hotline",
            subject="Needs engineering",
            received_at=timezone.now(),
            customer=CustomerFactory(),
            department=DepartmentFactory(code="service"),
        ),
        user=manager,
        assisting=[DepartmentFactory(code="engineering")],
    )
    assert c.severity == Severity.ELEVATED


def test_staff_may_start_higher_but_the_rules_never_start_lower(manager):
    assert intake(manager, severity=Severity.MAJOR).severity == Severity.MAJOR
    assert intake(manager, severity=Severity.GENERAL, media_risk=True).severity == 1


def test_cluster_of_three_customers_raises_every_open_complaint(manager, leak):
    now = timezone.now()
    first = intake(manager, category=leak, item_ref="B7-1203", received_at=now - timedelta(days=20))
    closed = intake(
        manager, category=leak, item_ref="B7-1203", received_at=now - timedelta(days=10)
    )
    walk_to(closed, Status.CLOSED, user=manager)
    assert Complaint.objects.get(pk=first.pk).severity == Severity.GENERAL

    third = intake(manager, category=leak, item_ref="B7-1203", received_at=now)
    assert third.severity == Severity.MAJOR
    assert "3 customers reported item B7-1203 in category Leak within 30 days" in (
        source_text(third.severity_reason)
    )
    for ref in (first.reference, closed.reference, third.reference):
        assert ref in source_text(third.severity_reason)
    first.refresh_from_db()
    assert first.severity == Severity.MAJOR
    (event,) = severity_events(first)
    message = event.data.pop("message")
    assert event.data == {"from": 4, "to": 2, "automatic": True}
    assert third.reference in render(message) and event.note == ""
    # The raised complaint's deadlines follow its new level.
    assert first.events.filter(kind=ComplaintEvent.Kind.DEADLINES).exists()
    # Finished work keeps its level.
    assert Complaint.objects.get(pk=closed.pk).severity == Severity.GENERAL


@pytest.mark.parametrize(
    "variant", ["same-customer", "older-than-30-days", "other-item", "invalid-one", "no-item"]
)
def test_what_is_not_a_cluster(manager, leak, variant):
    now = timezone.now()
    customer = CustomerFactory()
    invalid = None
    for i in range(3):
        fields = {"category": leak, "item_ref": "B7-1203", "received_at": now - timedelta(days=i)}
        if variant == "same-customer":
            fields["customer"] = customer
        if variant == "older-than-30-days" and i == 2:
            fields["received_at"] = now - timedelta(days=31)
        if variant == "other-item" and i == 2:
            fields["item_ref"] = "B7-1204"
        if variant == "no-item":
            fields["item_ref"] = ""
        c = intake(manager, **fields)
        if variant == "invalid-one" and i == 0:
            invalid = lifecycle.transition(c.pk, Status.INVALID, user=manager, note="Prank call")
    last = Complaint.objects.order_by("-pk").first()
    if variant == "same-customer":
        # The same customer's third complaint is not a cluster (and none was resolved).
        assert last.severity == Severity.GENERAL
    else:
        assert last.severity == Severity.GENERAL, source_text(last.severity_reason)
    if invalid:
        assert invalid.severity == Severity.GENERAL


def test_third_complaint_about_the_same_item_after_one_was_handled(manager):
    customer = CustomerFactory()
    now = timezone.now()
    first = intake(manager, customer=customer, item_ref="Order 88", received_at=now - timedelta(5))
    second = intake(manager, customer=customer, item_ref="Order 88", received_at=now - timedelta(3))
    assert second.severity == Severity.GENERAL
    walk_to(first, Status.RESOLVED, user=manager)
    third = intake(manager, customer=customer, item_ref="Order 88", received_at=now)
    assert third.severity == Severity.ELEVATED
    assert "Complaint number 3 by this customer about item Order 88" in source_text(
        third.severity_reason
    )
    assert first.reference in source_text(
        third.severity_reason
    ) and second.reference in source_text(third.severity_reason)


def test_third_complaint_without_an_earlier_resolution_is_general(manager):
    customer = CustomerFactory()
    now = timezone.now()
    for days in (5, 3):
        intake(manager, customer=customer, item_ref="Order 88", received_at=now - timedelta(days))
    assert intake(manager, customer=customer, item_ref="Order 88").severity == Severity.GENERAL


def test_editing_a_fact_raises_the_level_with_reason_and_new_deadlines(manager):
    c = intake(manager)
    old_ack_due = c.ack_due_at
    c = lifecycle.update_complaint(
        c.pk, user=manager, changes={"media_risk": True}, expected_version=1
    )
    c.refresh_from_db()
    assert c.severity == Severity.CRISIS
    assert source_text(c.severity_reason) == "Risk of negative media exposure."
    (event,) = severity_events(c)
    assert (event.actor, event.data["from"], event.data["to"]) == (manager, 4, 1)
    assert c.ack_due_at < old_ack_due  # 1 hour around the clock
    assert c.events.filter(kind=ComplaintEvent.Kind.DEADLINES).count() == 1


def test_the_level_only_rises_automatically(manager):
    c = intake(manager, media_risk=True)
    c = lifecycle.update_complaint(
        c.pk, user=manager, changes={"media_risk": False}, expected_version=1
    )
    c.refresh_from_db()
    assert c.severity == Severity.CRISIS
    assert severity_events(c) == []


def test_open_for_30_days_through_our_fault(manager):
    now = timezone.now()
    ours = intake(manager, fault=Fault.OURS, received_at=now - timedelta(days=31))
    theirs = intake(manager, fault=Fault.CUSTOMER, received_at=now - timedelta(days=40))
    recent = intake(manager, fault=Fault.OURS, received_at=now - timedelta(days=29))
    finished = intake(manager, fault=Fault.OURS, received_at=now - timedelta(days=60))
    # Already major at intake: it was received long ago through our fault.
    assert ours.severity == Severity.MAJOR and finished.severity == Severity.MAJOR
    Complaint.objects.filter(pk__in=[ours.pk, finished.pk]).update(severity=Severity.GENERAL)
    walk_to(Complaint.objects.get(pk=finished.pk), Status.CLOSED, user=manager)

    assert severity.reevaluate_open(now=now) == 1
    assert severity.reevaluate_open(now=now) == 0  # safe to run again
    ours.refresh_from_db()
    assert ours.severity == Severity.MAJOR
    assert "more than 30 days through our own fault" in source_text(ours.severity_reason)
    for other in (theirs, recent, finished):
        assert Complaint.objects.get(pk=other.pk).severity == Severity.GENERAL
    # A month later the recent one qualifies too.
    assert severity.reevaluate_open(now=now + timedelta(days=2)) == 1


def test_override_needs_a_reason_and_the_permission(manager, handler):
    c = intake(manager)
    with pytest.raises(ServiceError):
        severity.override(c.pk, user=manager, severity=2, reason="  ")
    with pytest.raises(NotPermitted):
        severity.override(c.pk, user=handler, severity=2, reason="Board member")
    with pytest.raises(ServiceError):
        severity.override(c.pk, user=manager, severity=7, reason="x")
    assert Complaint.objects.get(pk=c.pk).severity == Severity.GENERAL


def test_override_holds_until_cleared(manager):
    c = intake(manager, households_affected=4)
    assert c.severity == Severity.MAJOR
    c = severity.override(
        c.pk, user=manager, severity=Severity.GENERAL, reason="Only one flat really affected"
    )
    assert (c.severity, c.severity_overridden) == (Severity.GENERAL, True)
    assert source_text(c.severity_reason) == "Only one flat really affected"
    assert c.sla_policy.severity == Severity.GENERAL  # deadlines follow the override
    # The rules leave an overridden level alone.
    c = lifecycle.update_complaint(
        c.pk, user=manager, changes={"litigation_risk": True}, expected_version=c.version
    )
    assert Complaint.objects.get(pk=c.pk).severity == Severity.GENERAL
    c = severity.clear_override(c.pk, user=manager)
    assert (c.severity, c.severity_overridden) == (Severity.MAJOR, False)
    assert "May lead to litigation." in source_text(c.severity_reason)
    events = severity_events(c)
    assert [e.data.get("override") for e in events] == [True, False]
    assert (events[1].data["from"], events[1].data["to"]) == (Severity.GENERAL, Severity.MAJOR)


def test_override_refuses_a_stale_form(manager):
    c = intake(manager)
    lifecycle.update_complaint(c.pk, user=manager, changes={"subject": "x"}, expected_version=1)
    with pytest.raises(StaleVersion):
        severity.override(c.pk, user=manager, severity=2, reason="VIP", expected_version=1)


def test_admin_override_and_clear(manager_client, manager):
    c = intake(manager)
    url = f"/admin/complaints/complaint/{c.pk}/severity/"
    page = manager_client.get(f"/admin/complaints/complaint/{c.pk}/change/").content.decode()
    assert url in page and "No rule for a higher level applies." in page
    response = manager_client.post(url, {"version": 1, "severity": 2, "reason": ""})
    assert response.status_code == 200  # the form comes back with an error
    assert Complaint.objects.get(pk=c.pk).severity == Severity.GENERAL
    response = manager_client.post(url, {"version": 1, "severity": 2, "reason": "Journalist"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert (c.severity, c.severity_overridden) == (2, True)
    response = manager_client.post(f"{url}clear/", {"version": c.version})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.severity_overridden is False
    assert c.severity == Severity.GENERAL  # the rules decide again


def test_user_without_override_permission_sees_no_override(login_client, manager):
    c = intake(manager)
    clerk = UserFactory(
        perms=[
            "complaints.view_complaint",
            "complaints.change_complaint",
            "complaints.view_all_complaints",
        ]
    )
    client = login_client(clerk)
    page = client.get(f"/admin/complaints/complaint/{c.pk}/change/").content.decode()
    assert "/severity/" not in page
    response = client.post(
        f"/admin/complaints/complaint/{c.pk}/severity/",
        {"version": 1, "severity": 1, "reason": "x"},
    )
    assert response.status_code == 200 and "permission" in response.content.decode()
    assert Complaint.objects.get(pk=c.pk).severity == Severity.GENERAL


def test_clearing_an_override_on_a_finished_complaint_is_refused(manager):
    c = intake(manager)
    c = severity.override(c.pk, user=manager, severity=Severity.CRISIS, reason="Press")
    walk_to(c, Status.CLOSED, user=manager)
    with pytest.raises(ServiceError):
        severity.clear_override(c.pk, user=manager)
    c.refresh_from_db()
    assert (c.severity, c.severity_overridden) == (Severity.CRISIS, True)


def test_cluster_completed_by_a_backdated_intake(manager, leak):
    now = timezone.now()
    a = intake(manager, category=leak, item_ref="B7-9", received_at=now - timedelta(days=10))
    b = intake(manager, category=leak, item_ref="B7-9", received_at=now - timedelta(days=2))
    # Logged after the fact: received before the other two.
    c = intake(manager, category=leak, item_ref="B7-9", received_at=now - timedelta(days=20))
    assert c.severity == Severity.MAJOR
    assert {Complaint.objects.get(pk=x.pk).severity for x in (a, b)} == {Severity.MAJOR}


def test_cluster_completed_by_correcting_an_older_complaint(manager, leak):
    now = timezone.now()
    typo = intake(manager, category=leak, item_ref="B7-1", received_at=now - timedelta(days=9))
    intake(manager, category=leak, item_ref="B7-9", received_at=now - timedelta(days=5))
    intake(manager, category=leak, item_ref="B7-9", received_at=now - timedelta(days=1))
    lifecycle.update_complaint(
        typo.pk, user=manager, changes={"item_ref": "B7-9"}, expected_version=1
    )
    assert set(Complaint.objects.filter(item_ref="B7-9").values_list("severity", flat=True)) == {
        Severity.MAJOR
    }


def test_a_merged_complaint_still_counts_its_customer(manager, leak):
    x = intake(manager, category=leak, item_ref="B7-9")
    y = intake(manager, category=leak, item_ref="B7-9")
    lifecycle.transition(y.pk, Status.MERGED, user=manager, note="Same leak", merge_into=x)
    z = intake(manager, category=leak, item_ref="B7-9")
    assert z.severity == Severity.MAJOR
    assert Complaint.objects.get(pk=x.pk).severity == Severity.MAJOR


def test_periodic_check_finds_a_cluster_missed_by_concurrent_edits(manager, leak):
    complaints = [intake(manager, category=leak, item_ref="B7-9") for _ in range(3)]
    # As if two edits committed side by side, each seeing only two customers.
    Complaint.objects.filter(pk__in=[c.pk for c in complaints]).update(severity=Severity.GENERAL)
    assert severity.reevaluate_open() == 3
    assert severity.reevaluate_open() == 0
    assert set(Complaint.objects.filter(item_ref="B7-9").values_list("severity", flat=True)) == {
        Severity.MAJOR
    }


def test_reasons_are_stored_as_messages_and_read_in_each_readers_language(manager):
    """Issue 11: a reason written while staff used the Chinese UI read in English, and back."""
    with translation.override("zh-hans"):
        c = intake(manager, media_risk=True)
        plain = intake(manager)
    assert render(c.severity_reason) == "Risk of negative media exposure."
    assert render(plain.severity_reason) == "No rule for a higher level applies."
    with translation.override("zh-hans"):
        assert "媒体" in render(c.severity_reason)
        assert "No rule" not in render(plain.severity_reason)
    # Old rows hold plain text: shown as it is.
    assert render("Set by the old importer") == "Set by the old importer"
