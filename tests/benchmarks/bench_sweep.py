"""The deadline sweep against a large table, as the minutely beat task runs it.

    .venv/bin/python tests/benchmarks/bench_sweep.py [--total 1000000] [--due 10000]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/redress_bench
(created and migrated if missing). Loads `--total` complaints once with INSERT ... SELECT
generate_series (about 80 % finished, the rest open with their next reminder point in the
future) and reuses them on later runs. Before each run `--due` of them are made due again:
their next reminder point falls within the last minute and their deadlines are set so that
they give reminders, first and second escalations and crisis notices; the alerts, inbox
entries and timeline events of the previous run are removed. Then times `alerts.sweep()`
in-process (no email is sent: delivery is a separate task) and shows the plan of the claim
query, which must use the schedule's partial index alert_schedule_next_idx.
Target: the whole due set within 60 s (the sweep runs every minute).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/redress_bench")
TARGET_SECONDS = 60
DUE_MARK = "bench-due"  # item_ref of the complaints made due before each run
CHUNK = 100_000
DEPARTMENTS = 20
CUSTOMERS = 100_000


def ensure_database(url: str) -> None:
    """Create the benchmark database, or accept it only if a benchmark created it (the guard:
    an exported DATABASE_URL pointing at a real database is refused, nothing touched)."""
    from tests.benchmarks.guard import claim_database

    claim_database(url, "bench_sweep")


def insert_select(model, count: int, expressions: dict[str, str], *, start: int = 1) -> None:
    """INSERT INTO <model> SELECT ... FROM generate_series(start, start + count - 1) AS g.

    `expressions` gives SQL (in terms of g) for some columns; every other column gets the
    field's default, NULL, or now() for timestamps set on creation, so the statement keeps
    working when fields are added."""
    from django.db import connection, models

    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in expressions:
            values.append(expressions[field.column].replace("%", "%%"))  # not a parameter
            continue
        default = field.get_default()  # "" for text fields without a default
        if default is None:
            if field.null:
                values.append("NULL")
            elif isinstance(field, models.DateTimeField):
                values.append("now()")
            else:
                raise SystemExit(f"bench_sweep: no value for {model.__name__}.{field.name}")
            continue
        if isinstance(field, models.JSONField):
            default = json.dumps(default)
        else:
            default = field.get_db_prep_save(default, connection)
        values.append(f"CAST(%s AS {field.db_type(connection)})")
        params.append(default)
    # Names from the model, expressions written by this script: nothing from outside.
    table, columns_sql, values_sql = model._meta.db_table, ", ".join(columns), ", ".join(values)
    sql = (
        f"INSERT INTO {table} ({columns_sql}) SELECT {values_sql} FROM generate_series(%s, %s) AS g"  # noqa: S608, E501
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, start, start + count - 1])


def load(total: int, due: int) -> dict:
    """Reference data (users, departments, lists, categories, customers) and the complaints;
    reused when the table already holds `total` bench complaints."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from complaints.models import (
        Category,
        Complaint,
        Customer,
        Department,
        DepartmentMembership,
        NotificationList,
        SLAPolicy,
    )

    User = get_user_model()
    with transaction.atomic():
        departments = []
        for number in range(DEPARTMENTS):
            department, created = Department.objects.get_or_create(
                code=f"bench-{number}", defaults={"name": f"Bench department {number}"}
            )
            departments.append(department)
            if created:
                for role, count in (("head", 1), ("member", 3)):
                    for index in range(count):
                        user = User.objects.create(
                            username=f"bench-{number}-{role}-{index}",
                            email=f"bench-{number}-{role}-{index}@example.com",
                            is_staff=True,
                        )
                        DepartmentMembership.objects.create(
                            department=department, user=user, role=role
                        )
        for code in (NotificationList.CRISIS, NotificationList.MANAGERS):
            notification_list, created = NotificationList.objects.get_or_create(
                code=code, defaults={"name": code}
            )
            if created or not notification_list.users.exists():
                notification_list.users.set(
                    [
                        User.objects.get_or_create(
                            username=f"bench-{code}-{i}",
                            defaults={"email": f"bench-{code}-{i}@example.com", "is_staff": True},
                        )[0]
                        for i in range(2)
                    ]
                )
                notification_list.extra_emails = f"{code}-duty@example.com"
                notification_list.save()
        categories = [
            Category.objects.get_or_create(
                code=f"bench-{i}",
                defaults={"name": f"Bench category {i}", "default_department": departments[i]},
            )[0]
            for i in range(5)
        ]
    policies = {p.severity: p.pk for p in SLAPolicy.objects.filter(active=True, category=None)}
    missing = {1, 2, 3, 4} - set(policies)
    if missing:
        raise SystemExit(f"bench_sweep: no default SLA policy for severity {sorted(missing)}")
    context = {
        "departments": [d.pk for d in departments],
        "categories": [c.pk for c in categories],
        "policies": policies,
    }

    customers = Customer.objects.filter(external_id__startswith="bench-").count()
    if customers < CUSTOMERS:
        began = time.perf_counter()
        insert_select(
            Customer,
            CUSTOMERS - customers,
            {
                "name": "'Bench customer ' || g",
                "phone": "'+86139' || lpad(g::text, 8, '0')",
                "external_id": "'bench-' || g",
            },
            start=customers + 1,
        )
        print(f"loaded {CUSTOMERS - customers:,} customers in {time.perf_counter() - began:.1f} s")
    first_customer = Customer.objects.filter(external_id="bench-1").values_list("pk", flat=True)[0]
    context["customers"] = (first_customer, CUSTOMERS)

    loaded = Complaint.objects.filter(reference__startswith="B-").count()
    if loaded >= total:
        print(f"reusing {loaded:,} bench complaints")
        return context
    stride = max(total // due, 1)
    departments_sql = "ARRAY[" + ",".join(map(str, context["departments"])) + "]::bigint[]"
    categories_sql = "ARRAY[" + ",".join(map(str, context["categories"])) + "]::bigint[]"
    severity = (
        "(CASE WHEN g % 100 = 0 THEN 1 WHEN g % 100 < 8 THEN 2 WHEN g % 100 < 20 THEN 3 ELSE 4 END)"
    )
    policy = (
        "(CASE "
        + " ".join(f"WHEN {severity} = {s} THEN {pk}" for s, pk in policies.items())
        + " END)"
    )
    # 80 % finished; of the open ones a few wait for the customer (clock stopped).
    is_open = "(g % 10 >= 8)"
    is_due = f"(g % {stride} = 0 AND g / {stride} <= {due})"
    status = (
        f"(CASE WHEN {is_due} THEN 'new' WHEN g % 10 < 7 THEN 'closed' WHEN g % 10 = 7 THEN "
        "'resolved' WHEN g % 50 = 8 THEN 'awaiting_customer' WHEN g % 10 = 8 THEN "
        "'investigating' ELSE 'acknowledged' END)"
    )
    open_now = f"({is_open} OR {is_due})"

    def when(condition: str, then: str, otherwise: str) -> str:
        return f"(CASE WHEN {condition} THEN {then} ELSE {otherwise} END)"

    minutes = "make_interval(mins => ({})::int)"
    received = "(now() - " + minutes.format("(g::bigint * 7919) % 525600") + ")"  # last year
    future = "(now() + " + minutes.format("60 + (g::bigint * 104729) % 86400") + ")"  # 1h-60d
    expressions = {
        "reference": "'B-' || lpad(g::text, 9, '0')",
        "channel": "'hotline'",
        "received_at": received,
        "customer_id": f"{first_customer} + (g % {CUSTOMERS})",
        "subject": "'Bench complaint ' || g",
        "description": "'Generated for the sweep benchmark.'",
        "item_ref": when(is_due, f"'{DUE_MARK}'", "''"),
        "severity": severity,
        "status": status,
        "category_id": f"({categories_sql})[1 + g % 5]",
        "department_id": f"({departments_sql})[1 + g % {DEPARTMENTS}]",
        "sla_policy_id": policy,
        "acknowledged_at": when(is_due, "NULL", f"{received} + interval '1 hour'"),
        "first_response_at": when(open_now, "NULL", f"{received} + interval '5 hours'"),
        "resolved_at": when(open_now, "NULL", f"{received} + interval '2 days'"),
        "closed_at": when(f"{open_now} OR g % 10 = 7", "NULL", f"{received} + interval '3 days'"),
        "ack_due_at": f"{received} + interval '4 hours'",
        "ack_warn_at": f"{received} + interval '3 hours'",
    }
    for field, (warn, due_after, done_after) in {
        "response": ("0", "1 day", "1 day"),
        "resolve": ("4 days", "5 days", "5 days"),
    }.items():
        expressions[f"{field}_warn_at"] = when(
            open_now, f"{future} + interval '{warn}'", f"{received} + interval '{done_after}'"
        )
        expressions[f"{field}_due_at"] = when(
            open_now, f"{future} + interval '{due_after}'", f"{received} + interval '{done_after}'"
        )
    expressions |= {
        "due_at": when(open_now, f"{future} + interval '1 day'", "NULL"),
        "next_alert_at": when(f"{is_due} OR ({is_open} AND g % 50 <> 8)", future, "NULL"),
        "sla_paused_at": "(CASE WHEN g % 50 = 8 THEN now() - interval '1 day' ELSE NULL END)",
        "created_at": received,
        "updated_at": received,
    }
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    for start in range(loaded + 1, total + 1, CHUNK):
        count = min(CHUNK, total - start + 1)
        with transaction.atomic():
            insert_select(Complaint, count, expressions, start=start)
        done = start + count - 1
        rate = (done - loaded) / (time.perf_counter() - began)
        print(f"  {done:,} / {total:,} complaints ({rate:,.0f}/s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE complaints_complaint")
        cursor.execute("ANALYZE complaints_customer")
    print(f"loaded {total - loaded:,} complaints in {time.perf_counter() - began:.1f} s")
    return context


def make_due(now, due: int) -> int:
    """Clear the last run's alerts and make the marked complaints due within the last minute:
    4 in 10 reach their acknowledgement warning point, 3 in 10 their acknowledgement
    deadline, 2 in 10 are long overdue (both escalations) and 1 in 10 is a new crisis."""
    from django.db import connection, transaction

    from complaints.models import OPEN_STATUSES, Complaint

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT severity, id FROM complaints_slapolicy WHERE active AND category_id IS NULL"
        )
        policies = dict(cursor.fetchall())
    due_ids = "SELECT id FROM complaints_complaint WHERE item_ref = %s"
    with transaction.atomic(), connection.cursor() as cursor:
        alerts_sql = f"SELECT id FROM complaints_deadlinealert WHERE complaint_id IN ({due_ids})"  # noqa: S608
        digest_sql = f"DELETE FROM complaints_digestentry WHERE alert_id IN ({alerts_sql})"  # noqa: S608
        cursor.execute(digest_sql, [DUE_MARK])
        for table in (
            "complaints_notification",
            "complaints_deadlinealert",
            "complaints_complaintevent",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE complaint_id IN ({due_ids})", [DUE_MARK])  # noqa: S608
        # t: within the last minute; the group decides which point t is.
        cursor.execute(
            """
            WITH d AS (
                SELECT id, row_number() OVER (ORDER BY id) AS n,
                       %(now)s - make_interval(secs => (id * 7) %% 60) AS t
                FROM complaints_complaint WHERE item_ref = %(mark)s
            ), p AS (
                SELECT id, t, n %% 10 AS grp,
                       CASE WHEN n %% 10 < 4 THEN t - interval '3 hours'
                            WHEN n %% 10 < 7 THEN t - interval '4 hours'
                            WHEN n %% 10 < 9 THEN t - interval '10 days'
                            ELSE t END AS received
                FROM d
            )
            UPDATE complaints_complaint c SET
                status = 'new', received_at = p.received, severity = (CASE WHEN p.grp = 9
                    THEN 1 ELSE 4 END),
                sla_policy_id = (CASE WHEN p.grp = 9 THEN %(crisis)s ELSE %(general)s END),
                acknowledged_at = NULL, first_response_at = NULL, resolved_at = NULL,
                closed_at = NULL, sla_paused_at = NULL,
                assignee_id = NULL,
                ack_warn_at = (CASE WHEN p.grp < 4 THEN p.t WHEN p.grp = 9 THEN
                    p.t + interval '45 minutes' ELSE p.received + interval '3 hours' END),
                ack_due_at = (CASE WHEN p.grp < 4 THEN p.t + interval '1 hour' WHEN p.grp < 7
                    THEN p.t WHEN p.grp = 9 THEN p.t + interval '1 hour'
                    ELSE p.received + interval '4 hours' END),
                response_warn_at = p.t + interval '20 hours',
                response_due_at = p.t + interval '2 days',
                resolve_warn_at = p.t + interval '4 days',
                resolve_due_at = p.t + interval '6 days',
                due_at = (CASE WHEN p.grp < 7 OR p.grp = 9 THEN p.t + interval '1 hour'
                    ELSE p.received + interval '4 hours' END),
                next_alert_at = p.t, updated_at = p.t
            FROM p WHERE c.id = p.id
            """,
            {"now": now, "mark": DUE_MARK, "crisis": policies[1], "general": policies[4]},
        )
        made_due = cursor.rowcount
        # The update above moved their schedule to next_alert_at (the database's trigger); the
        # escalation level of the last run goes back to none.
        cursor.execute(
            f"UPDATE complaints_alertschedule SET escalation_level = 0 "  # noqa: S608
            f"WHERE complaint_id IN ({due_ids}) AND escalation_level <> 0",
            [DUE_MARK],
        )
        # Keep the rest out of this run (a reused table ages): nothing else may be due.
        cursor.execute(
            """UPDATE complaints_alertschedule s SET next_alert_at = %s + interval '1 hour'
                + make_interval(mins => (s.complaint_id %% 86400)::int)
                FROM complaints_complaint c
                WHERE c.id = s.complaint_id AND c.status = ANY(%s)
                AND s.next_alert_at <= %s + interval '1 day' AND c.item_ref <> %s""",
            [now, [str(s) for s in OPEN_STATUSES], now, DUE_MARK],
        )
        if cursor.rowcount:
            print(f"moved {cursor.rowcount:,} other open complaints' reminder points ahead")
    # The alerts, inbox and digest entries deleted above are this benchmark's own churn, run
    # after run (the product never deletes them): vacuumed, so that their dead index entries
    # do not slow each run's read of the existing alerts more than the last.
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM complaints_deadlinealert, complaints_notification, complaints_digestentry"
        )
    stray = Complaint.objects.filter(
        status__in=OPEN_STATUSES, alert_schedule__next_alert_at__lte=now
    ).exclude(item_ref=DUE_MARK)
    assert not stray.exists()
    if made_due != due:
        print(f"note: {made_due:,} complaints are marked due (asked for {due:,})")
    return made_due


def explain_claim(now) -> str:
    """EXPLAIN ANALYZE of the claim query exactly as the sweep sends it (rolled back)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from complaints.services import alerts

    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            alerts._claim(now, alerts.BATCH_SIZE)
        sql = next(q["sql"] for q in queries if "FOR UPDATE" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    args = parser.parse_args()
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench_sweep needs PostgreSQL (DATABASE_URL=postgres://...)")
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count
    from django.utils import timezone

    from complaints.models import OPEN_STATUSES, Complaint, DeadlineAlert, Notification
    from complaints.services import alerts

    call_command("migrate", verbosity=0)
    load(args.total, args.due)
    total = Complaint.objects.count()
    open_count = Complaint.objects.filter(status__in=OPEN_STATUSES).count()

    now = timezone.now()
    due = make_due(now, args.due)
    plan = explain_claim(now)
    print("claim query plan:\n  " + plan.replace("\n", "\n  "))
    uses_index = "alert_schedule_next_idx" in plan

    began = time.perf_counter()
    result = alerts.sweep(now=now)
    elapsed = time.perf_counter() - began

    by_kind = (
        DeadlineAlert.objects.filter(complaint__item_ref=DUE_MARK)
        .values_list("kind", "level")
        .annotate(n=Count("pk"))
        .order_by("kind", "level")
    )
    notifications = Notification.objects.filter(complaint__item_ref=DUE_MARK).count()
    print(
        "alerts: "
        + ", ".join(f"{kind} L{level}: {n:,}" for kind, level, n in by_kind)
        + f"; inbox entries: {notifications:,}"
    )
    print(
        f"sweep: {result.complaints:,} due of {total:,} complaints ({open_count:,} open) in "
        f"{elapsed:.1f} s = {result.complaints / elapsed:,.0f} complaints/s, "
        f"{result.alerts:,} alerts (target: within {TARGET_SECONDS} s)"
    )
    ok = True
    if not uses_index:
        print("FAIL: the claim query does not use alert_schedule_next_idx")
        ok = False
    if result.complaints != due:
        print(f"FAIL: the sweep processed {result.complaints:,} complaints, {due:,} were due")
        ok = False
    if elapsed > TARGET_SECONDS:
        print(f"FAIL: slower than {TARGET_SECONDS} s")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
