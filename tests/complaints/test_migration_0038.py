"""Migration 0038 both ways on the test's own database (PostgreSQL: concurrent builds and the
constraint swaps; SQLite: Django's own operations in one transaction). The inbox keeps one
entry per alert and user throughout."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from complaints.models import DeadlineAlert, Notification
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("complaints", "0037_escalation_level_current")]
AFTER = [("complaints", "0038_sweep_partial_indexes")]
UNIQUE = ("one_notification_per_alert", "one_notification_per_approval_alert")


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def schema() -> tuple[dict[str, str], set[str]]:
    """(index name -> definition of the inbox and timeline tables, unique constraints)."""
    with connection.cursor() as cursor:
        found = {}
        for table in ("complaints_notification", "complaints_complaintevent"):
            constraints = connection.introspection.get_constraints(cursor, table)
            found.update(constraints)
    indexes = {
        name: f"{c['columns']} unique={c['unique']} index={c['index']}"
        for name, c in found.items()
        if c["index"] or c["unique"]
    }
    return indexes, {name for name, c in found.items() if c["unique"] and not c["primary_key"]}


def definitions() -> list[str]:
    """The SQL of the two tables' indexes as the database keeps it (partial ones with WHERE)."""
    tables = ["complaints_notification", "complaints_complaintevent"]
    if connection.vendor == "postgresql":
        query = "SELECT indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY indexname"
        params = [tables]
    else:
        query = (
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN (%s, %s) ORDER BY name"
        )
        params = tables
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [row[0] for row in cursor.fetchall()]


def duplicate_is_refused(manager) -> None:
    complaint = make_complaint()
    alert = DeadlineAlert.objects.create(
        complaint=complaint,
        kind=DeadlineAlert.Kind.ACK,
        level=DeadlineAlert.Level.ESCALATION_1,
        deadline=complaint.received_at,
    )
    Notification.objects.create(user=manager, complaint=complaint, alert=alert)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(user=manager, complaint=complaint, alert=alert)
    # Entries without an alert (approval notices) are not limited by the alert's index (one
    # per approval notice: tests/compensation/test_approval_notices.py).
    Notification.objects.create(user=manager, complaint=complaint)
    Notification.objects.create(user=manager, complaint=complaint)


def test_0038_backwards_and_forwards(manager):
    migrated, _unique = schema()
    sql = definitions()
    assert "event_actor_idx" in migrated
    assert set(UNIQUE) <= set(migrated)
    assert len([d for d in sql if "IS NOT NULL" in d]) == 3, sql
    try:
        migrate(BEFORE)
        before, unique = schema()
        assert "event_actor_idx" not in before
        assert set(UNIQUE) <= unique  # the constraints again
        duplicate_is_refused(manager)
    finally:
        migrate(AFTER)
    assert schema()[0] == migrated
    assert definitions() == sql
    duplicate_is_refused(manager)
