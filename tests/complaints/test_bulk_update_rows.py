"""update_rows (complaints/services/bulk.py): the sweeps' set-based write of many
complaints' changed values."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints.models import Complaint
from complaints.services.bulk import update_rows
from tests.factories import UserFactory, make_complaint

pytestmark = pytest.mark.django_db


def test_writes_each_rows_own_values_including_nulls_and_foreign_keys(manager):
    handler = UserFactory()
    rows = [make_complaint(user=manager) for _ in range(3)]
    untouched = make_complaint(user=manager)
    before = Complaint.objects.get(pk=untouched.pk)
    now = timezone.now()
    for number, complaint in enumerate(rows):
        complaint.due_at = now + timedelta(hours=number) if number else None
        complaint.alert_failures = number
        complaint.assignee_id = handler.pk if number == 1 else None
        complaint.alert_error = f"error {number} 'quoted' %s"
    updated = update_rows(Complaint, rows, ["due_at", "alert_failures", "assignee", "alert_error"])
    assert updated == 3
    stored = {c.pk: c for c in Complaint.objects.filter(pk__in=[c.pk for c in rows])}
    for number, complaint in enumerate(rows):
        row = stored[complaint.pk]
        assert row.due_at == (now + timedelta(hours=number) if number else None)
        assert row.alert_failures == number
        assert row.assignee_id == (handler.pk if number == 1 else None)
        assert row.alert_error == f"error {number} 'quoted' %s"
    after = Complaint.objects.get(pk=untouched.pk)
    assert (after.due_at, after.alert_failures, after.alert_error) == (
        before.due_at,
        before.alert_failures,
        before.alert_error,
    )


def test_nothing_to_write_sends_nothing():
    with CaptureQueriesContext(connection) as queries:
        assert update_rows(Complaint, [], ["due_at"]) == 0
    assert len(queries) == 0


def test_key_field_is_refused(manager):
    complaint = make_complaint(user=manager)
    with pytest.raises(ValueError):
        update_rows(Complaint, [complaint], ["id"])


@pytest.mark.postgres
def test_one_values_join_not_a_case_per_row(manager):
    rows = [make_complaint(user=manager) for _ in range(5)]
    for complaint in rows:
        complaint.alert_failures = 2
    with CaptureQueriesContext(connection) as queries:
        update_rows(Complaint, rows, ["alert_failures"])
    assert len(queries) == 1
    assert "FROM (VALUES" in queries[0]["sql"] and "CASE" not in queries[0]["sql"]
    assert set(
        Complaint.objects.filter(pk__in=[c.pk for c in rows]).values_list(
            "alert_failures", flat=True
        )
    ) == {2}
