"""Compensation services: the authority matrix at its boundaries, four-eyes, the state
machine (every legal and illegal step), bulk decisions with mixed limits, Decimal money."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from complaints.messages import render
from complaints.models import (
    ApprovalLimit,
    Compensation,
    ComplaintEvent,
    NotDeletable,
    Validity,
)
from complaints.services import authority
from complaints.services import compensation as comp
from complaints.services.errors import NotPermitted, ServiceError, StaleVersion
from tests.factories import make_complaint, walk_to

pytestmark = pytest.mark.django_db
S = Compensation.Status


def propose(complaint, user, amount, kind="cash", **kw):
    return comp.propose(
        complaint.pk, user=user, kind=kind, amount=amount, description="Goodwill payment", **kw
    )


def events(complaint):
    return list(
        ComplaintEvent.objects.filter(
            complaint=complaint, kind=ComplaintEvent.Kind.COMPENSATION
        ).order_by("pk")
    )


# -- proposing ---------------------------------------------------------------------------


def test_propose_records_a_proposal_on_the_timeline(complaint, people):
    c = propose(complaint, people["handler"], "1500.00")
    assert c.status == S.PROPOSED and c.amount == Decimal("1500.00") and c.currency == "CNY"
    assert c.proposed_by == people["handler"] and c.version == 1
    (event,) = events(complaint)
    assert event.actor == people["handler"] and event.data["compensation"] == c.pk
    assert render(event.data["message"]) == (
        f"Compensation #{c.pk} proposed: Cash, 1,500.00 CNY; above the proposer's approval "
        "limit, it waits for an approver whose limit covers it"
    )
    from django.utils import translation

    with translation.override("zh-hans"):
        zh = render(event.data["message"])
    assert "现金" in zh and "1,500.00 CNY" in zh


def test_proposal_within_the_proposers_own_limit_is_not_marked_over_it(complaint, people):
    c = propose(complaint, people["head"], "2000.00")
    (event,) = events(complaint)
    assert event.data["over_proposer_limit"] is False
    assert "waits for an approver" not in render(event.data["message"])
    assert c.status == S.PROPOSED  # still needs a second person


@pytest.mark.parametrize(
    "amount, kind, message",
    [
        (0.1, "cash", "decimal number"),
        ("12.345", "cash", "two decimal places"),
        ("-1", "cash", "negative"),
        ("NaN", "cash", "not an amount"),
        ("Infinity", "cash", "not an amount"),
        ("abc", "cash", "not an amount"),
        ("0", "cash", "more than zero"),
        ("1000000000000", "cash", "too large"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(complaint, people, amount, kind, message):
    with pytest.raises(ServiceError, match=message):
        propose(complaint, people["handler"], amount, kind=kind)
    assert not Compensation.objects.exists()
    assert not events(complaint)


def test_a_gift_may_have_a_zero_estimated_value(complaint, people):
    c = propose(complaint, people["handler"], "0", kind="gift")
    assert c.amount == Decimal("0.00") and c.is_estimate


def test_no_compensation_for_an_invalid_or_finished_complaint(people, service):
    invalid = make_complaint(user=people["manager"], department=service)
    invalid.__class__.objects.filter(pk=invalid.pk).update(validity=Validity.INVALID)
    with pytest.raises(ServiceError, match="judged invalid"):
        propose(invalid, people["handler"], "10")
    closed = make_complaint(
        user=people["manager"], department=service, solution="Fix", resolution="Fixed"
    )
    walk_to(closed, "closed", user=people["manager"])
    with pytest.raises(ServiceError, match="cannot receive new compensation"):
        propose(closed, people["handler"], "10")


def test_another_departments_staff_cannot_propose(complaint, people):
    with pytest.raises(NotPermitted):
        propose(complaint, people["other_head"], "10")
    with pytest.raises(NotPermitted):
        propose(complaint, people["auditor"], "10")  # sees it, may not propose


# -- the matrix at its boundaries ----------------------------------------------------------


def test_head_approves_exactly_at_the_per_compensation_limit(complaint, people):
    c = propose(complaint, people["handler"], "2000.00")
    approved = comp.approve(c.pk, user=people["head"])
    assert approved.status == S.APPROVED and approved.decided_by == people["head"]
    assert approved.version == 2


def test_head_refused_one_cent_above_the_limit_with_who_can_approve(complaint, people):
    c = propose(complaint, people["handler"], "2000.01")
    with pytest.raises(NotPermitted) as refused:
        comp.approve(c.pk, user=people["head"])
    message = refused.value.message
    assert "above your approval limit (2,000.00 CNY per compensation" in message
    # Who can: the approver and the manager (whose limits cover it), not the heads.
    assert "It can be approved by: April, Mona." in message
    c.refresh_from_db()
    assert c.status == S.PROPOSED and c.version == 1
    assert comp.approve(c.pk, user=people["approver"]).status == S.APPROVED


def test_per_complaint_total_exactly_at_and_just_above(complaint, people):
    first = propose(complaint, people["handler"], "1500.00")
    second = propose(complaint, people["handler"], "1500.00")
    third = propose(complaint, people["handler"], "2000.00")
    fourth = propose(complaint, people["handler"], "0.01")
    comp.approve(first.pk, user=people["head"])
    comp.approve(second.pk, user=people["head2"])
    # 1500 + 1500 + 2000 = 5000.00: exactly the head's per-complaint limit.
    comp.approve(third.pk, user=people["head"])
    assert authority.granted_total(complaint.pk, "CNY") == Decimal("5000.00")
    with pytest.raises(NotPermitted, match="granted total is 5,000.01 CNY"):
        comp.approve(fourth.pk, user=people["head"])
    # The approver's per-complaint limit (50,000) covers it.
    comp.approve(fourth.pk, user=people["approver"])
    assert authority.granted_total(complaint.pk, "CNY") == Decimal("5000.01")


def test_rejected_and_cancelled_amounts_do_not_count_against_the_complaint(complaint, people):
    big = propose(complaint, people["handler"], "2000.00")
    comp.reject(big.pk, user=people["head"], reason="Too much")
    other = propose(complaint, people["handler"], "2000.00")
    comp.approve(other.pk, user=people["head"])
    comp.cancel(other.pk, user=people["handler"], reason="Customer chose a repair")
    assert authority.granted_total(complaint.pk, "CNY") == Decimal("0.00")


def test_department_row_applies_only_to_that_department(complaint, people, service, elsewhere):
    from django.contrib.auth.models import Group

    head_group = Group.objects.get(name="Department head · 部门负责人")
    ApprovalLimit.objects.create(
        group=head_group,
        department=service,
        currency="CNY",
        max_per_compensation=Decimal("3000.00"),
        max_per_complaint=Decimal("8000.00"),
    )
    c = propose(complaint, people["handler"], "3000.00")
    comp.approve(c.pk, user=people["head"])  # the service row covers it
    other = make_complaint(user=people["manager"], department=elsewhere)
    d = propose(other, people["manager"], "3000.00")
    with pytest.raises(NotPermitted, match="above your approval limit"):
        comp.approve(d.pk, user=people["other_head"])  # only the general 2,000 row


def test_an_inactive_row_gives_no_authority(complaint, people):
    ApprovalLimit.objects.filter(group__name__startswith="Department head").update(active=False)
    c = propose(complaint, people["handler"], "1.00")
    with pytest.raises(NotPermitted, match=r"0.00 CNY per compensation"):
        comp.approve(c.pk, user=people["head"])


def test_currency_limits_are_separate(complaint, people):
    c = propose(complaint, people["handler"], "1.00", currency="USD")
    with pytest.raises(NotPermitted, match="Nobody's approval limit covers it"):
        comp.approve(c.pk, user=people["manager"])


def test_approver_must_see_the_complaint(complaint, people):
    c = propose(complaint, people["handler"], "10.00")
    with pytest.raises(NotPermitted):
        comp.approve(c.pk, user=people["other_head"])
    with pytest.raises(NotPermitted):
        comp.approve(c.pk, user=people["handler2"])  # no approval permission


# -- four-eyes ---------------------------------------------------------------------------


def test_nobody_approves_their_own_proposal(complaint, people):
    c = propose(complaint, people["manager"], "10.00")
    with pytest.raises(NotPermitted, match="someone else must approve it") as refused:
        comp.approve(c.pk, user=people["manager"])
    assert "Mona" not in refused.value.message.split("approved by:")[1]
    with pytest.raises(NotPermitted, match="cancel it instead"):
        comp.reject(c.pk, user=people["manager"], reason="no")
    c.refresh_from_db()
    assert c.status == S.PROPOSED


def test_four_eyes_is_a_database_constraint(complaint, people):
    c = propose(complaint, people["handler"], "10.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Compensation.objects.filter(pk=c.pk).update(
            status=S.APPROVED, decided_by=people["handler"], decided_at=c.proposed_at
        )


def test_money_constraints_in_the_database(complaint, people):
    c = propose(complaint, people["handler"], "10.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Compensation.objects.filter(pk=c.pk).update(amount=Decimal("-0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Compensation.objects.filter(pk=c.pk).update(status=S.FULFILLED)  # no decision, no date


def test_nothing_is_deletable(complaint, people):
    c = propose(complaint, people["handler"], "10.00")
    with pytest.raises(NotDeletable):
        c.delete()
    with pytest.raises(NotDeletable):
        Compensation.objects.all().delete()
    with pytest.raises(NotDeletable):
        ApprovalLimit.objects.all().delete()


# -- the state machine -------------------------------------------------------------------

ACTIONS = {
    "approve": lambda c, p: comp.approve(c.pk, user=p["approver"]),
    "reject": lambda c, p: comp.reject(c.pk, user=p["approver"], reason="Not justified"),
    "fulfil": lambda c, p: comp.mark_fulfilled(c.pk, user=p["approver"], payout_reference="TX-1"),
    "cancel": lambda c, p: comp.cancel(c.pk, user=p["handler"], reason="Withdrawn"),
    "revise": lambda c, p: comp.revise_amount(
        c.pk, user=p["handler"], amount="12.00", reason="Receipt"
    ),
}
LEGAL = {
    ("proposed", "approve"): S.APPROVED,
    ("proposed", "reject"): S.REJECTED,
    ("proposed", "cancel"): S.CANCELLED,
    ("proposed", "revise"): S.PROPOSED,
    ("approved", "fulfil"): S.FULFILLED,
    ("approved", "cancel"): S.CANCELLED,
}
SETUP = {
    "proposed": [],
    "approved": ["approve"],
    "rejected": ["reject"],
    "fulfilled": ["approve", "fulfil"],
    "cancelled": ["cancel"],
}


@pytest.mark.parametrize("source", list(SETUP))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_state_machine(complaint, people, source, action):
    c = propose(complaint, people["handler"], "10.00")
    for step in SETUP[source]:
        ACTIONS[step](c, people)
    c.refresh_from_db()
    assert c.status == source
    version, logged = c.version, len(events(complaint))
    target = LEGAL.get((source, action))
    if target is None:
        with pytest.raises(ServiceError):
            ACTIONS[action](c, people)
        c.refresh_from_db()
        assert (c.status, c.version, len(events(complaint))) == (source, version, logged)
    else:
        ACTIONS[action](c, people)
        c.refresh_from_db()
        assert c.status == target and c.version == version + 1
        assert len(events(complaint)) == logged + 1


def test_second_approval_names_who_decided(complaint, people):
    c = propose(complaint, people["handler"], "10.00")
    comp.approve(c.pk, user=people["head"])
    with pytest.raises(ServiceError, match=r"already “Approved” \(Helen\)"):
        comp.approve(c.pk, user=people["head2"])


def test_fulfilment_needs_reference_and_a_sane_date(complaint, people):
    from datetime import timedelta

    c = propose(complaint, people["handler"], "10.00")
    comp.approve(c.pk, user=people["head"])
    with pytest.raises(ServiceError, match="payout reference"):
        comp.mark_fulfilled(c.pk, user=people["approver"], payout_reference=" ")
    with pytest.raises(ServiceError, match="earlier than the approval"):
        comp.mark_fulfilled(
            c.pk,
            user=people["approver"],
            payout_reference="TX",
            fulfilled_at=c.proposed_at - timedelta(days=1),
        )
    with pytest.raises(NotPermitted):
        comp.mark_fulfilled(c.pk, user=people["handler"], payout_reference="TX")
    done = comp.mark_fulfilled(c.pk, user=people["approver"], payout_reference="WX-2026-1")
    assert done.payout_reference == "WX-2026-1" and done.fulfilled_at is not None
    assert "payout reference WX-2026-1" in render(events(complaint)[-1].data["message"])


def test_stale_version_changes_nothing(complaint, people):
    c = propose(complaint, people["handler"], "10.00")
    comp.revise_amount(c.pk, user=people["handler"], amount="11.00", reason="Receipt")
    with pytest.raises(StaleVersion):
        comp.approve(c.pk, user=people["head"], expected_version=1)
    c.refresh_from_db()
    assert c.status == S.PROPOSED and c.amount == Decimal("11.00")


def test_revised_amount_is_checked_against_the_limit_at_approval(complaint, people):
    c = propose(complaint, people["handler"], "100.00")
    comp.revise_amount(c.pk, user=people["handler"], amount="2500.00", reason="Receipt")
    assert "from 100.00 CNY to 2,500.00 CNY" in render(events(complaint)[-1].data["message"])
    with pytest.raises(NotPermitted):
        comp.approve(c.pk, user=people["head"])


# -- bulk --------------------------------------------------------------------------------


def test_bulk_approval_checks_each_item_against_the_limits(complaint, people):
    within = propose(complaint, people["handler"], "1000.00")
    above = propose(complaint, people["handler"], "2500.00")
    own = propose(complaint, people["head"], "10.00")
    too_much_in_total = propose(complaint, people["handler"], "2000.00")
    already = propose(complaint, people["handler"], "1.00")
    comp.approve(already.pk, user=people["head2"])
    result = comp.bulk_approve(
        [within.pk, above.pk, own.pk, too_much_in_total.pk, already.pk], user=people["head"]
    )
    # within: 1000 (total 1001) ok; 2000 brings the total to 3001 ≤ 5000: ok.
    assert (result.done, result.refused) == (2, 3)
    statuses = dict(Compensation.objects.values_list("pk", "status"))
    assert statuses[within.pk] == statuses[too_much_in_total.pk] == S.APPROVED
    assert statuses[above.pk] == statuses[own.pk] == S.PROPOSED
    assert any("four-eyes" in e for e in result.errors)
    assert any("above your approval limit" in e for e in result.errors)


def test_bulk_reject_reports_counts(complaint, people):
    a = propose(complaint, people["handler"], "10.00")
    b = propose(complaint, people["head"], "10.00")
    result = comp.bulk_reject([a.pk, b.pk], user=people["head"], reason="Not our fault")
    assert (result.done, result.refused) == (1, 1)


def test_awaiting_my_approval_queue(complaint, people):
    small = propose(complaint, people["handler"], "2000.00")
    large = propose(complaint, people["handler"], "2000.01")
    mine = propose(complaint, people["head"], "5.00")
    queue = set(authority.awaiting_approval_by(people["head"]).values_list("pk", flat=True))
    assert queue == {small.pk}
    assert set(authority.awaiting_approval_by(people["approver"]).values_list("pk", flat=True)) == {
        small.pk,
        large.pk,
        mine.pk,
    }
    assert not authority.awaiting_approval_by(people["other_head"]).exists()
    assert not authority.awaiting_approval_by(people["handler"]).exists()


# -- Decimal -----------------------------------------------------------------------------


def test_totals_are_exact_decimals(complaint, people):
    for amount in ("0.10", "0.20", "0.10", "0.20", "0.10", "0.20"):
        c = propose(complaint, people["handler"], amount)
        comp.approve(c.pk, user=people["approver"])
    total = authority.granted_total(complaint.pk, "CNY")
    assert isinstance(total, Decimal) and total == Decimal("0.90")
    assert comp.parse_amount(Decimal("1.5")) == Decimal("1.50")
    assert comp.parse_amount(" 7 ") == Decimal("7.00")
