"""Two opposite merges at the same moment (A into B, B into A) must not deadlock: both take
the row locks in id order, so one waits, the other wins, the loser gets a clear refusal."""

import threading
import time

import pytest
from django.db import connection

from complaints.models import Complaint, Status
from complaints.services import lifecycle
from complaints.services.errors import ServiceError
from tests.factories import make_complaint

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_opposite_merges_do_not_deadlock(manager, monkeypatch):
    a, b = make_complaint(user=manager), make_complaint(user=manager)
    check = lifecycle._check_version

    def slow_check(complaint, expected):
        time.sleep(0.5)  # hold the first lock while the other merge starts
        return check(complaint, expected)

    monkeypatch.setattr(lifecycle, "_check_version", slow_check)
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def merge(source, target):
        try:
            barrier.wait(timeout=10)
            lifecycle.transition(
                source.pk, Status.MERGED, user=manager, note="Same issue", merge_into=target
            )
            outcomes[source.pk] = "merged"
        except ServiceError as exc:
            outcomes[source.pk] = exc
        except Exception as exc:  # e.g. psycopg's DeadlockDetected: the failure
            outcomes[source.pk] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=merge, args=(a, b)),
        threading.Thread(target=merge, args=(b, a)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    results = list(outcomes.values())
    assert results.count("merged") == 1, results
    (loser,) = [r for r in results if r != "merged"]
    assert isinstance(loser, ServiceError), repr(loser)  # a clear refusal, not a deadlock
    statuses = sorted(Complaint.objects.values_list("status", flat=True))
    assert statuses.count(Status.MERGED) == 1
