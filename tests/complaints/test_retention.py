"""anonymize_customers: personal data goes, statistics stay."""

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Count

from complaints.models import Complaint, ComplaintEvent, Customer, Status
from tests.factories import CustomerFactory, DepartmentFactory, make_complaint, walk_to

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def closed_on(day, user, customer, department):
    at = datetime(2024, *day, 10, tzinfo=SH)
    with time_machine.travel(at, tick=False):
        c = make_complaint(
            user=user,
            customer=customer,
            department=department,
            received_at=at,
            description="My flat 1203, call me on 13812345678",
            solution="Repair",
            resolution="Repaired",
        )
        return walk_to(c, Status.CLOSED, user=user)


def run(*args):
    out = StringIO()
    call_command("anonymize_customers", *args, stdout=out)
    return out.getvalue()


def test_anonymizes_only_customers_whose_complaints_all_finished_before(manager):
    dept = DepartmentFactory(code="service")
    old = CustomerFactory(name="王小明", phone="+8613812345678", email="w@example.com")
    mixed = CustomerFactory(name="李雷")
    recent = CustomerFactory(name="韩梅梅")
    gone = closed_on((3, 1), manager, old, dept)
    from complaints.services import lifecycle

    lifecycle.add_note(gone.pk, user=manager, text="王小明 says call 13812345678 after 6pm")
    closed_on((3, 2), manager, mixed, dept)
    make_complaint(user=manager, customer=mixed, department=dept)  # still open
    closed_on((9, 1), manager, recent, dept)
    stats_before = list(
        Complaint.objects.values("category", "status", "severity").annotate(n=Count("pk"))
    )

    assert "Would anonymize 1 customers (1 complaints)" in run(
        "--closed-before", "2024-06-01", "--dry-run"
    )
    assert Customer.objects.get(pk=old.pk).name == "王小明"

    assert "Anonymized 1 customers (1 complaints)" in run("--closed-before", "2024-06-01")
    old.refresh_from_db()
    assert (old.name, old.phone, old.email) == (f"Anonymized customer {old.pk}", "", "")
    assert old.anonymized_at is not None
    gone.refresh_from_db()
    assert "13812345678" not in gone.description
    notes = list(gone.events.exclude(note="").values_list("note", flat=True))
    assert notes and all("13812345678" not in n and "王小明" not in n for n in notes)
    assert (gone.status, gone.closed_at is not None, gone.customer_id) == (
        Status.CLOSED,
        True,
        old.pk,
    )
    assert gone.events.filter(
        kind=ComplaintEvent.Kind.FIELD_CHANGE, data__anonymized__isnull=False
    ).exists()
    for kept in (mixed, recent):
        assert Customer.objects.get(pk=kept.pk).anonymized_at is None
    assert stats_before == list(
        Complaint.objects.values("category", "status", "severity").annotate(n=Count("pk"))
    )
    assert "Anonymized 0 customers" in run("--closed-before", "2024-06-01")


@pytest.mark.parametrize("value", ["01/06/2024", "2999-01-01", ""])
def test_bad_dates_are_refused(value):
    with pytest.raises(CommandError):
        run("--closed-before", value)
