"""Incident remedies: approved once at the incident level (limit = amount × count), applied
as one approved compensation per linked complaint, idempotently, in batches."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from complaints.messages import render
from complaints.models import (
    Compensation,
    ComplaintEvent,
    Incident,
    IncidentLink,
    IncidentRemedy,
)
from complaints.services import incidents
from complaints.services.errors import NotPermitted, ServiceError
from tests.factories import make_complaint, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, service):
    return Incident.objects.create(
        code="outage-1201",
        title="Water outage, block 3",
        department=service,
        created_by=people["manager"],
    )


@pytest.fixture
def linked(incident, people, service):
    complaints = [make_complaint(user=people["manager"], department=service) for _ in range(5)]
    assert incidents.link_complaints(
        incident.pk, [c.pk for c in complaints], user=people["head"]
    ) == (5, 0)
    return complaints


def remedy(incident, user, amount="400.00"):
    return incidents.propose_remedy(
        incident.pk,
        user=user,
        kind="account_credit",
        amount_per_complaint=amount,
        description="Credit for the outage",
    )


def test_linking_is_on_each_timeline_and_never_twice(incident, linked, people, service):
    event = ComplaintEvent.objects.filter(complaint=linked[0], kind="incident").get()
    assert render(event.data["message"]) == "Linked to incident outage-1201: Water outage, block 3"
    other = Incident.objects.create(code="other", title="Other")
    assert incidents.link_complaints(other.pk, [linked[0].pk], user=people["head"]) == (0, 1)
    assert IncidentLink.objects.count() == 5


def test_limit_is_amount_times_count_exactly_at_and_just_above(incident, linked, people):
    # Head: 2,000 per compensation. 5 × 400.00 = 2,000.00: exactly the limit.
    at = remedy(incident, people["head2"], "400.00")
    approved = incidents.approve_remedy(at.pk, user=people["head"])
    assert approved.approved_count == 5 and approved.approved_total == Decimal("2000.00")
    above = remedy(incident, people["head2"], "400.01")  # 2,000.05
    with pytest.raises(NotPermitted) as refused:
        incidents.approve_remedy(above.pk, user=people["head"])
    assert "2,000.05 CNY (400.01 CNY × 5 complaints)" in refused.value.message
    assert "April" in refused.value.message
    above.refresh_from_db()
    assert above.status == IncidentRemedy.Status.PROPOSED


def test_four_eyes_for_incident_remedies(incident, linked, people):
    r = remedy(incident, people["manager"], "1.00")
    with pytest.raises(NotPermitted, match="someone else"):
        incidents.approve_remedy(r.pk, user=people["manager"])


def test_no_links_no_approval(incident, people):
    r = remedy(incident, people["head2"], "1.00")
    with pytest.raises(ServiceError, match="No complaints"):
        incidents.approve_remedy(r.pk, user=people["head"])


def test_apply_creates_one_approved_compensation_per_complaint(
    incident, linked, people, django_capture_on_commit_callbacks
):
    r = remedy(incident, people["head2"], "300.00")
    with django_capture_on_commit_callbacks(execute=True):  # the Celery task, eagerly
        incidents.approve_remedy(r.pk, user=people["head"])
    r.refresh_from_db()
    assert r.progress == IncidentRemedy.Progress.DONE and r.applied_count == 5
    rows = Compensation.objects.filter(incident_remedy=r)
    assert rows.count() == 5
    assert set(rows.values_list("status", flat=True)) == {Compensation.Status.APPROVED}
    assert {c.complaint_id for c in rows} == {c.pk for c in linked}
    assert set(rows.values_list("decided_by", flat=True)) == {people["head"].pk}
    event = ComplaintEvent.objects.filter(complaint=linked[0], kind="compensation").get()
    assert "approved for incident outage-1201" in render(event.data["message"])
    # Applying again (e.g. after a crash) creates nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        incidents.reapply(r.pk, user=people["head"])
    assert Compensation.objects.filter(incident_remedy=r).count() == 5
    assert ComplaintEvent.objects.filter(kind="compensation").count() == 5
    r.refresh_from_db()
    assert r.applied_count == 5 and r.progress == IncidentRemedy.Progress.DONE


def test_apply_in_small_batches_and_unique_per_complaint(incident, linked, people):
    r = remedy(incident, people["head2"], "1.00")
    incidents.approve_remedy(r.pk, user=people["head"])
    assert incidents.apply_batch(r.pk, batch_size=2) == 2
    r.refresh_from_db()
    assert r.progress == IncidentRemedy.Progress.RUNNING and r.applied_count == 2
    assert incidents.apply_remedy(r.pk, batch_size=2) == 3
    assert incidents.apply_remedy(r.pk, batch_size=2) == 0
    existing = Compensation.objects.filter(incident_remedy=r).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Compensation.objects.create(
            complaint_id=existing.complaint_id,
            kind="cash",
            amount=1,
            description="dup",
            status="approved",
            proposed_by=people["handler"],
            decided_by=people["head"],
            decided_at=existing.decided_at,
            incident_remedy=r,
        )


def test_complaints_linked_after_approval_are_not_covered(incident, linked, people, service):
    r = remedy(incident, people["head2"], "1.00")
    incidents.approve_remedy(r.pk, user=people["head"])
    late = make_complaint(user=people["manager"], department=service)
    incidents.link_complaints(incident.pk, [late.pk], user=people["head"])
    incidents.apply_remedy(r.pk)
    assert not Compensation.objects.filter(complaint=late).exists()
    assert Compensation.objects.filter(incident_remedy=r).count() == 5


def test_merged_and_invalid_complaints_get_nothing(incident, linked, people):
    walk_to(linked[0], "invalid", user=people["manager"])
    walk_to(linked[1], "merged", user=people["manager"], merge_into=linked[2])
    r = remedy(incident, people["head2"], "1.00")
    incidents.approve_remedy(r.pk, user=people["head"])
    assert incidents.apply_remedy(r.pk) == 3
    paid = set(Compensation.objects.values_list("complaint_id", flat=True))
    assert paid == {c.pk for c in linked[2:]}
    r.refresh_from_db()
    assert (r.approved_count, r.applied_count) == (5, 3)


def test_rejected_or_cancelled_remedy_is_never_applied(incident, linked, people):
    r = remedy(incident, people["head2"], "1.00")
    with pytest.raises(ServiceError, match="reason"):
        incidents.reject_remedy(r.pk, user=people["head"], reason="")
    incidents.reject_remedy(r.pk, user=people["head"], reason="Use vouchers")
    assert incidents.apply_remedy(r.pk) == 0
    s = remedy(incident, people["head2"], "1.00")
    incidents.cancel_remedy(s.pk, user=people["head2"], reason="Duplicate")
    with pytest.raises(ServiceError):
        incidents.approve_remedy(s.pk, user=people["head"])
    assert not Compensation.objects.exists()


def test_closed_incident_takes_no_links(incident, people, service):
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.CLOSED)
    c = make_complaint(user=people["manager"], department=service)
    with pytest.raises(ServiceError, match="closed"):
        incidents.link_complaints(incident.pk, [c.pk], user=people["head"])
