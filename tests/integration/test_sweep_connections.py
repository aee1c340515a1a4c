"""The deadline sweep over several database connections at once (REDRESS_SWEEP_CONNECTIONS):
threads with connections of their own, so the rows must be committed (transactional tests,
PostgreSQL), hence here with the other tests that commit."""

import threading
import time
from collections import Counter

import pytest

from complaints.models import AlertSchedule, DeadlineAlert
from complaints.services import alerts
from tests.complaints import test_alerts
from tests.complaints.test_alerts import record, sh
from tests.factories import CustomerFactory

team = test_alerts.team  # the fixture: a department, managers and a crisis list


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_connections_share_the_batches_and_process_each_complaint_once(manager, team):
    """Two connections claim batches side by side (SKIP LOCKED): every due complaint is
    processed once, by one of them, and on_batch runs in the calling thread."""
    made = [
        record(sh(2026, 11, 2, 9, 0), manager, team, customer=CustomerFactory()) for _ in range(24)
    ]
    now = sh(2026, 11, 3, 16, 0)
    workers, delivered = set(), []
    original = alerts._process_isolated

    def process(batch, *args):
        workers.add(threading.current_thread().name)
        time.sleep(0.05)  # holds this batch's locks while the other connection claims
        return original(batch, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alerts, "_process_isolated", process)
        result = alerts.sweep(
            now=now,
            batch_size=3,
            connections=2,
            on_batch=lambda ids: delivered.append((threading.current_thread(), ids)),
        )
    assert workers == {"deadline-sweep-0", "deadline-sweep-1"}
    assert result.complaints == 24
    keys = Counter(DeadlineAlert.objects.values_list("complaint_id", "kind", "level", "deadline"))
    assert max(keys.values()) == 1
    assert {cid for cid, *_ in keys} == {c.pk for c in made}
    assert sorted(result.alert_ids) == sorted(DeadlineAlert.objects.values_list("pk", flat=True))
    assert {thread for thread, _ids in delivered} == {threading.main_thread()}
    assert sorted(i for _t, ids in delivered for i in ids) == sorted(result.alert_ids)
    assert not alerts._due(now).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_error_on_one_connection_is_raised_after_the_others_finish(manager, team):
    for _ in range(6):
        record(sh(2026, 11, 2, 9, 0), manager, team, customer=CustomerFactory())
    now = sh(2026, 11, 3, 16, 0)
    original = alerts._claim
    calls = []

    def claim(*args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            raise RuntimeError("the claim broke")
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alerts, "_claim", claim)
        with pytest.raises(RuntimeError, match="the claim broke"):
            alerts.sweep(now=now, batch_size=2, connections=2)
    # The other connection went on and committed its batches.
    assert not alerts._due(now).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_when_on_batch_fails_the_connections_stop_and_are_waited_for(manager, team):
    for _ in range(12):
        record(sh(2026, 11, 2, 9, 0), manager, team, customer=CustomerFactory())

    def on_batch(alert_ids):
        raise RuntimeError("broker gone")

    with pytest.raises(RuntimeError, match="broker gone"):
        alerts.sweep(now=sh(2026, 11, 3, 16, 0), batch_size=2, connections=2, on_batch=on_batch)
    assert not [t for t in threading.enumerate() if t.name.startswith("deadline-sweep-")]
    # Each committed batch is whole: its alerts and its schedule went together.
    alerted = set(DeadlineAlert.objects.values_list("complaint_id", flat=True))
    moved = set(
        AlertSchedule.objects.filter(next_alert_at__gt=sh(2026, 11, 3, 16, 0)).values_list(
            "complaint_id", flat=True
        )
    )
    assert alerted == moved


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_nothing_due_starts_no_connection(manager, team):
    """The usual minute: the sweep asks once on the caller's connection and is done."""
    record(sh(2026, 11, 2, 9, 0), manager, team)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alerts, "_sweep_concurrently", None)  # calling it would fail
        result = alerts.sweep(now=sh(2026, 11, 2, 10, 0), connections=2)
    assert result.complaints == 0
