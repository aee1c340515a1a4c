"""A small hand-built data set whose figures are written out in the tests.

Frozen "now": Monday 30 November 2026, 12:00 in Shanghai. Period: 1-30 November 2026
(previous period: 2-31 October). Each complaint is recorded through the intake service and
then given the exact timestamps and status of the story in its comment.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from complaints.models import Complaint, RootCause
from tests.factories import CategoryFactory, DepartmentFactory, make_complaint

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 12, tzinfo=SH)
H = 3600


def sh(month, day, hour=10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def dataset(db, frozen):
    a = DepartmentFactory(code="dept-a", name="Property A")
    b = DepartmentFactory(code="dept-b", name="Sales B")
    leak = CategoryFactory(code="leak", name="Leak", default_department=a)
    noise = CategoryFactory(code="noise", name="Noise", default_department=a)
    cause = RootCause.objects.create(code="pipes", name="管道老化", name_en="Old pipes")
    made = {}

    def add(key, received, *, dept=a, category=leak, channel="hotline", **fields):
        complaint = make_complaint(
            received_at=received, department=dept, category=category, channel=channel
        )
        defaults = {
            "status": "new",
            "validity": "undetermined",
            "severity": 4,
            "ack_due_at": None,
            "resolve_due_at": None,
            "due_at": None,
            "acknowledged_at": None,
            "resolved_at": None,
            "closed_at": None,
            "first_response_at": None,
            "first_response_work_seconds": None,
            "resolution_work_seconds": None,
            "reopened_count": 0,
            "root_cause_category": None,
        }
        Complaint.objects.filter(pk=complaint.pk).update(**{**defaults, **fields})
        made[key] = Complaint.objects.get(pk=complaint.pk)
        return made[key]

    # c1: closed; acknowledged and resolved on time; 1 h to first response, 2 h to resolve.
    add(
        "c1",
        sh(11, 2),
        status="closed",
        validity="valid",
        ack_due_at=sh(11, 3),
        acknowledged_at=sh(11, 2, 11),
        resolve_due_at=sh(11, 11),
        resolved_at=sh(11, 5),
        closed_at=sh(11, 6),
        first_response_work_seconds=1 * H,
        resolution_work_seconds=2 * H,
        root_cause_category=cause,
    )
    # c2: resolved after a reopening; acknowledged late, resolved late; 10 h / 100000 s.
    add(
        "c2",
        sh(11, 3),
        category=noise,
        status="resolved",
        ack_due_at=sh(11, 4),
        acknowledged_at=sh(11, 5),
        resolve_due_at=sh(11, 12),
        resolved_at=sh(11, 20),
        reopened_count=1,
        first_response_work_seconds=10 * H,
        resolution_work_seconds=100000,
        root_cause_category=cause,
    )
    # c3: investigating, acknowledged on time, resolution deadline 19 Nov passed: late.
    add(
        "c3",
        sh(11, 10),
        status="investigating",
        ack_due_at=sh(11, 11),
        acknowledged_at=sh(11, 10, 11),
        resolve_due_at=sh(11, 19),
        due_at=sh(11, 19),
        first_response_work_seconds=H // 2,
    )
    # c4: new, acknowledgement deadline 21 Nov passed (late); resolution not yet due.
    add("c4", sh(11, 20), ack_due_at=sh(11, 21), resolve_due_at=sh(12, 1), due_at=sh(11, 21))
    # c5: invalid; c6: merged into c1; c7: judged invalid while still acknowledged (open).
    add("c5", sh(11, 25), status="invalid", channel="email")
    add("c6", sh(11, 26), status="merged", merged_into=made["c1"])
    add("c7", sh(11, 27), status="acknowledged", validity="invalid")
    # c8: department B, web, major; waiting for the customer past the resolution deadline
    # (the clock stands: not measured), acknowledged on time.
    add(
        "c8",
        sh(11, 28),
        dept=b,
        channel="web",
        severity=2,
        status="awaiting_customer",
        ack_due_at=sh(11, 28, 14),
        acknowledged_at=sh(11, 28, 11),
        resolve_due_at=sh(11, 29),
    )
    # c10: new, nothing due yet.
    add("c10", sh(11, 29), ack_due_at=sh(12, 1), resolve_due_at=sh(12, 8), due_at=sh(12, 1))
    # c9: the previous period: closed on time.
    add(
        "c9",
        sh(10, 15),
        status="closed",
        validity="valid",
        ack_due_at=sh(10, 16),
        acknowledged_at=sh(10, 15, 11),
        resolve_due_at=sh(10, 25),
        resolved_at=sh(10, 20),
        closed_at=sh(10, 21),
        first_response_work_seconds=H,
        resolution_work_seconds=5 * H,
    )
    # Compensations: only approved or paid ones in CNY on valid complaints count.
    from complaints.models.compensation import Compensation
    from tests.factories import UserFactory

    proposer, approver = UserFactory(username="proposer"), UserFactory(username="approver")

    def grant(complaint, amount, status, currency="CNY"):
        decided = status in ("approved", "rejected", "fulfilled")
        Compensation.objects.create(
            complaint=complaint,
            kind="refund",
            amount=amount,
            currency=currency,
            description="Refund",
            status=status,
            proposed_by=proposer,
            decided_by=approver if decided else None,
            decided_at=NOW if decided else None,
            fulfilled_at=NOW if status == "fulfilled" else None,
        )

    grant(made["c1"], "200.00", "approved")
    grant(made["c1"], "50.50", "fulfilled")
    grant(made["c2"], "100.00", "proposed")  # not yet granted
    grant(made["c3"], "100.00", "approved")
    grant(made["c3"], "80.00", "approved", currency="HKD")  # not converted, not counted
    grant(made["c5"], "30.00", "approved")  # c5 is invalid
    grant(made["c8"], "40.00", "rejected")
    grant(made["c9"], "10.00", "fulfilled")  # the previous period
    # c2 repeats c1 (same customer and category); satisfaction answers: c1 5 (survey) and
    # 4 (visit): satisfied; c2 2 (visit): not; c9 (previous period) 5.
    from followups.models import FollowUp, RepeatLink, SurveyInvitation

    RepeatLink.objects.create(
        complaint=made["c2"],
        earlier=made["c1"],
        basis="category",
        days_between=1,
        created_at=NOW - timedelta(hours=1),
    )
    SurveyInvitation.objects.create(complaint=made["c1"], expires_at=NOW, outcome_score=5)
    for key, score in (("c1", 4), ("c2", 2), ("c9", 5)):
        FollowUp.objects.create(
            complaint=made[key], kind="satisfaction", due_at=NOW, satisfaction=score
        )
    SurveyInvitation.objects.create(complaint=made["c5"], expires_at=NOW, outcome_score=1)
    # Last touched an hour before "now" (the summaries' refresh rereads a few minutes back).
    Complaint.objects.update(updated_at=NOW - timedelta(hours=1))
    for complaint in made.values():
        complaint.refresh_from_db()
    return {"a": a, "b": b, "leak": leak, "noise": noise, "cause": cause, **made}
