"""An incident remedy applied to 10,000 linked complaints, as the Celery task runs it.

    .venv/bin/python tests/benchmarks/bench_incident.py [--complaints 10000] [--batch 2000]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/redress_bench
(created and migrated if missing). Each run loads `--complaints` fresh complaints with
INSERT ... SELECT generate_series, links them to a new incident through the service (timed),
proposes a remedy, approves it once at the incident level (limit = amount × count) and times
`incidents.apply_remedy()` (the task's body: bounded batches, each its own durable
transaction, compensations and timeline events in bulk). Then applies it again and checks
that nothing new is created. Target: the application within 30 s.
"""

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/redress_bench")
TARGET_SECONDS = 30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()

    from tests.benchmarks.bench_sweep import ensure_database, insert_select

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench_incident needs PostgreSQL (DATABASE_URL)")
    call_command("migrate", verbosity=0)

    from complaints.models import (
        ApprovalLimit,
        Compensation,
        Complaint,
        ComplaintEvent,
        Customer,
        Department,
        Incident,
        IncidentRemedy,
    )
    from complaints.services import incidents

    User = get_user_model()
    department, _ = Department.objects.get_or_create(
        code="bench-incident", defaults={"name": "Bench incident department"}
    )
    group, _ = Group.objects.get_or_create(name="Bench incident approvers")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="complaints",
            codename__in=[
                "approve_compensation",
                "add_incidentremedy",
                "change_incidentremedy",
                "change_incident",
                "view_all_complaints",
            ],
        )
    )
    ApprovalLimit.objects.get_or_create(
        group=group,
        department=None,
        currency="CNY",
        defaults={
            "max_per_compensation": Decimal("10000000.00"),
            "max_per_complaint": Decimal("10000000.00"),
        },
    )
    proposer, _ = User.objects.get_or_create(username="bench-incident-proposer", is_staff=True)
    approver, _ = User.objects.get_or_create(username="bench-incident-approver", is_staff=True)
    for user in (proposer, approver):
        user.groups.add(group)
    proposer, approver = User.objects.get(pk=proposer.pk), User.objects.get(pk=approver.pk)
    customer, _ = Customer.objects.get_or_create(
        external_id="bench-incident", defaults={"name": "Bench incident customer"}
    )

    run = int(time.time())
    prefix = f"I{run}-"
    began = time.perf_counter()
    insert_select(
        Complaint,
        args.complaints,
        {
            "reference": f"'{prefix}' || lpad(g::text, 6, '0')",
            "channel": "'web'",
            "received_at": "now()",
            "customer_id": str(customer.pk),
            "subject": "'Bench incident complaint ' || g",
            "description": "'Generated for the incident benchmark.'",
            "status": "'investigating'",
            "department_id": str(department.pk),
            "created_at": "now()",
            "updated_at": "now()",
        },
    )
    ids = list(Complaint.objects.filter(reference__startswith=prefix).values_list("pk", flat=True))
    print(f"loaded {len(ids):,} complaints in {time.perf_counter() - began:.1f} s")

    incident = Incident.objects.create(
        code=f"bench-{run}", title="Bench outage", department=department, created_by=approver
    )
    began = time.perf_counter()
    linked, _already = incidents.link_complaints(incident.pk, ids, user=approver)
    print(f"linked {linked:,} complaints in {time.perf_counter() - began:.2f} s")

    remedy = incidents.propose_remedy(
        incident.pk,
        user=proposer,
        kind="account_credit",
        amount_per_complaint="25.00",
        description="Credit for the outage",
    )
    began = time.perf_counter()
    remedy = incidents.approve_remedy(remedy.pk, user=approver)
    print(
        f"approved once: {remedy.approved_count:,} × 25.00 = {remedy.approved_total} CNY "
        f"in {time.perf_counter() - began:.3f} s"
    )

    began = time.perf_counter()
    created = incidents.apply_remedy(remedy.pk, batch_size=args.batch)
    elapsed = time.perf_counter() - began
    remedy.refresh_from_db()
    events = ComplaintEvent.objects.filter(
        complaint_id__in=ids, kind=ComplaintEvent.Kind.COMPENSATION
    ).count()
    print(
        f"applied: {created:,} compensations and {events:,} timeline events in {elapsed:.2f} s "
        f"({created / elapsed:,.0f}/s), batches of {args.batch}; progress {remedy.progress} "
        f"{remedy.applied_count}/{remedy.approved_count}"
    )

    began = time.perf_counter()
    # What incidents.reapply() does before its task runs: walk the links from the start.
    IncidentRemedy.objects.filter(pk=remedy.pk).update(applied_through_link=0)
    again = incidents.apply_remedy(remedy.pk, batch_size=args.batch)
    print(f"re-applied from the first link: {again} new in {time.perf_counter() - began:.2f} s")
    total = Compensation.objects.filter(incident_remedy=remedy).count()

    ok = (
        created == len(ids) == total == remedy.applied_count
        and again == 0
        and events == len(ids)
        and elapsed < TARGET_SECONDS
    )
    print(f"{'OK' if ok else 'FAILED'}: target {TARGET_SECONDS} s for {args.complaints:,}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
