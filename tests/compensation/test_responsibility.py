"""Responsibility determination and the remedy plan, on the complaint's timeline."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from complaints.messages import render
from complaints.models import (
    ComplaintEvent,
    Fault,
    RemedyPlan,
    RootCause,
    Severity,
    Validity,
)
from complaints.services import responsibility
from complaints.services.errors import NotPermitted, ServiceError

pytestmark = pytest.mark.django_db


@pytest.fixture
def cause(db):
    return RootCause.objects.create(code="process", name="流程缺陷", name_en="Process gap")


def decide(complaint, user, **kw):
    kw.setdefault("validity", Validity.VALID)
    kw.setdefault("department", complaint.department)
    return responsibility.decide(complaint.pk, user=user, **kw)


def test_decision_is_recorded_with_who_and_when(complaint, people, elsewhere, cause):
    result = decide(
        complaint,
        people["head"],
        assisting=[elsewhere],
        fault=Fault.OURS,
        root_cause_category=cause,
        finding="The plumber skipped the pressure test.",
        validity_reason="Leak confirmed on site.",
    )
    assert result.validity == Validity.VALID and result.fault == Fault.OURS
    assert (
        result.root_cause_category == cause and result.responsibility_decided_by == people["head"]
    )
    assert result.responsibility_decided_at is not None
    assert list(result.assisting_departments.all()) == [elsewhere]
    event = ComplaintEvent.objects.get(complaint=complaint, kind="responsibility")
    assert render(event.data["message"]) == (
        "Responsibility decided: Valid; fault: Our fault; responsible: Customer service"
    )
    with translation.override("zh-hans"):
        assert "有效" in render(event.data["message"])
    assert "pressure test" in event.note
    # Assisting departments mean other departments are needed: severity 3 (elevated).
    assert result.severity == Severity.ELEVATED


def test_needs_other_departments_feeds_the_severity_rules(complaint, people):
    result = decide(complaint, people["head"], needs_other_departments=True)
    assert result.needs_other_departments and result.severity == Severity.ELEVATED


def test_invalid_needs_a_reason_and_the_permission(complaint, people):
    with pytest.raises(ServiceError, match="reason"):
        decide(complaint, people["head"], validity=Validity.INVALID)
    with pytest.raises(NotPermitted):
        decide(complaint, people["handler"], validity=Validity.INVALID, validity_reason="x")
    complaint.refresh_from_db()
    assert complaint.validity == Validity.UNDETERMINED
    assert not ComplaintEvent.objects.filter(kind="responsibility").exists()


def test_inactive_root_cause_refused(complaint, people, cause):
    cause.active = False
    cause.save()
    with pytest.raises(ServiceError, match="no longer in use"):
        decide(complaint, people["head"], root_cause_category=cause)


def test_remedy_plan_and_the_customers_answer(complaint, people):
    plan = responsibility.record_plan(
        complaint.pk,
        user=people["handler"],
        apology=True,
        apology_text="We are sorry.",
        explanation="The valve failed.",
        correction="Valve replaced.",
    )
    assert plan.answer == RemedyPlan.Answer.PENDING and plan.version == 1
    with pytest.raises(ServiceError, match="escalation path"):
        responsibility.record_answer(complaint.pk, user=people["handler"], answer="rejected")
    plan = responsibility.record_answer(
        complaint.pk,
        user=people["handler"],
        answer="rejected",
        escalation_path="external",
        escalation_note="Consumer association mediation",
    )
    assert plan.escalation_path == "external" and plan.answered_at is not None
    messages = [
        render(e.data["message"])
        for e in ComplaintEvent.objects.filter(complaint=complaint, kind="remedy").order_by("pk")
    ]
    assert messages == [
        "Remedy plan recorded (version 1)",
        "The customer rejected the remedy; offered: External dispute resolution",
    ]
    # A revision waits for a new answer.
    plan = responsibility.record_plan(
        complaint.pk, user=people["handler"], apology=True, correction="Ceiling repainted too."
    )
    assert plan.answer == RemedyPlan.Answer.PENDING and plan.escalation_path == ""
    plan = responsibility.record_answer(complaint.pk, user=people["handler"], answer="accepted")
    assert plan.answer == "accepted"


def test_remedy_plan_constraints(complaint, people):
    with pytest.raises(ServiceError, match="at least"):
        responsibility.record_plan(complaint.pk, user=people["handler"], apology=False)
    with pytest.raises(ServiceError, match="before the customer's answer"):
        responsibility.record_answer(complaint.pk, user=people["handler"], answer="accepted")
    plan = responsibility.record_plan(complaint.pk, user=people["handler"], apology=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        RemedyPlan.objects.filter(pk=plan.pk).update(answer="rejected")  # no path, no date
