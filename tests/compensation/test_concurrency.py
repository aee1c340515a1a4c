"""Two approvers approving at the same moment (PostgreSQL, one thread and connection each):
exactly one wins, and two approvals on one complaint can never overrun its total limit."""

import threading
import time

import pytest
from django.db import connection
from django.utils import translation

from complaints.models import Compensation, ComplaintEvent
from complaints.services import authority
from complaints.services import compensation as comp
from complaints.services.errors import ServiceError

# Serialized rollback: the migrated roles and matrix are restored after the flush, for this
# test and for the tests that run after it in the same process.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def slow_check(monkeypatch):
    """Hold each approval inside its transaction long enough for the other to arrive."""
    check = comp.check_can_approve

    def slowly(*args, **kwargs):
        time.sleep(0.3)
        return check(*args, **kwargs)

    monkeypatch.setattr(comp, "check_can_approve", slowly)


def together(calls):
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            with translation.override("en"):  # a thread does not inherit the test's language
                outcomes[i] = ("ok", call())
        except ServiceError as exc:
            outcomes[i] = ("refused", exc.message)
        except Exception as exc:  # reported by the test
            outcomes[i] = ("error", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_approvers_one_item_exactly_one_wins(complaint, people, slow_check):
    c = comp.propose(
        complaint.pk, user=people["handler"], kind="cash", amount="100.00", description="x"
    )
    outcomes = together(
        [
            lambda: comp.approve(c.pk, user=people["head"]),
            lambda: comp.approve(c.pk, user=people["head2"]),
        ]
    )
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["ok", "refused"], outcomes
    refusal = next(msg for kind, msg in outcomes if kind == "refused")
    assert "already “Approved”" in str(refusal)
    c.refresh_from_db()
    assert c.status == Compensation.Status.APPROVED and c.version == 2
    approvals = ComplaintEvent.objects.filter(
        complaint=complaint, kind="compensation", data__status="approved"
    )
    assert approvals.count() == 1


def test_two_approvals_cannot_overrun_the_complaint_total(complaint, people, slow_check):
    # Head: 5,000 per complaint. 3,000 is approved by the approver; two heads then approve
    # 2,000 each at once: only one fits (5,000), the other would make 7,000.
    base = comp.propose(
        complaint.pk, user=people["handler"], kind="cash", amount="3000.00", description="x"
    )
    comp.approve(base.pk, user=people["approver"])
    a, b = (
        comp.propose(
            complaint.pk, user=people["handler"], kind="cash", amount="2000.00", description="x"
        )
        for _ in range(2)
    )
    outcomes = together(
        [
            lambda: comp.approve(a.pk, user=people["head"]),
            lambda: comp.approve(b.pk, user=people["head2"]),
        ]
    )
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"], outcomes
    assert str(authority.granted_total(complaint.pk, "CNY")) == "5000.00"
