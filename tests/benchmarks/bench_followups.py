"""The follow-up machinery against a large complaint table.

    .venv/bin/python tests/benchmarks/bench_followups.py [--total 1000000] [--due 10000]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/redress_followups_bench
(created and migrated if missing). Reuses bench_sweep's loader for `--total` complaints over
the last year (5 categories, 100,000 customers), then adds with INSERT ... SELECT: a repeat
link for every 7th complaint and a return visit for every finished one, `--due` of them due
now and not yet reminded. Measures:

1. the effectiveness review of an improvement action (repeat rate 90 days before vs after,
   one aggregate query over the category): target under 2 s;
2. one run of the reminder task over the `--due` due visits (reminders, inbox entries):
   target within 60 s (it runs every 5 minutes);
3. the periodic catch-up query of schedule_missing when nothing is missing: target under 5 s.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/redress_followups_bench")
TARGETS = {"effectiveness": 2.0, "reminders": 60.0, "catch_up": 5.0}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    args = parser.parse_args()
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench_followups needs PostgreSQL (DATABASE_URL=postgres://...)")
    from tests.benchmarks.bench_sweep import ensure_database, load

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from datetime import date, timedelta

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from complaints.models import Category, Complaint, Department, RootCause
    from followups.models import FollowUp, ImprovementAction, Reminder, RepeatLink
    from followups.services import actions, reminders, scheduling

    call_command("migrate", verbosity=0)
    load(args.total, 1000)
    now = timezone.now()
    total = Complaint.objects.count()
    with connection.cursor() as cursor:
        if not RepeatLink.objects.exists():
            began = time.perf_counter()
            cursor.execute(
                """
                INSERT INTO followups_repeatlink (complaint_id, earlier_id, basis, days_between,
                                                  created_at)
                SELECT c.id, c.id - 1, 'category', 1, now()
                FROM complaints_complaint c WHERE c.id % 7 = 0 AND c.id > 1
                """
            )
            print(f"loaded {cursor.rowcount:,} repeat links in {time.perf_counter() - began:.1f} s")
        # The reminder run: remove the previous run's reminders, make --due visits due again.
        Reminder.objects.all().delete()
        FollowUp.objects.filter(reminded_at__isnull=True).update(reminded_at=now)
        if not FollowUp.objects.exists():
            began = time.perf_counter()
            cursor.execute(
                """
                INSERT INTO followups_followup (complaint_id, round, kind, due_at, method,
                    status, required_before_close, comment, reminded_at, created_at)
                SELECT c.id, c.reopened_count, 'callback', c.received_at + interval '3 days',
                       'phone', 'done', true, '', c.received_at, now()
                FROM complaints_complaint c WHERE c.status IN ('resolved', 'closed')
                """
            )
            print(
                f"loaded {cursor.rowcount:,} return visits in {time.perf_counter() - began:.1f} s"
            )
        cursor.execute(
            """
            UPDATE followups_followup f SET status = 'scheduled', reminded_at = NULL,
                   due_at = now() - interval '1 hour'
            FROM complaints_complaint c
            WHERE f.complaint_id = c.id AND c.status IN ('resolved', 'closed')
              AND f.id IN (SELECT id FROM followups_followup ORDER BY id LIMIT %s)
            """,
            [args.due],
        )
        due = cursor.rowcount
    category = Category.objects.get(code="bench-0")
    department = Department.objects.get(code="bench-0")
    owner = get_user_model().objects.get(username="bench-0-head-0")
    action, _ = ImprovementAction.objects.get_or_create(
        title="bench action",
        defaults={
            "root_cause": RootCause.objects.get_or_create(code="bench", name="bench")[0],
            "category": category,
            "department": department,
            "owner": owner,
            "due_date": date.today(),
            "review_days": 90,
            "status": "done",
            "completed_at": now - timedelta(days=180),
        },
    )
    figures = {}

    began = time.perf_counter()
    result = actions.effectiveness(action, now=now)
    figures["effectiveness"] = time.perf_counter() - began
    print(
        f"effectiveness over {total:,} complaints: {figures['effectiveness'] * 1000:.0f} ms "
        f"(before {result.before_rate} % of {result.before_complaints:,}, "
        f"after {result.after_rate} % of {result.after_complaints:,})"
    )

    began = time.perf_counter()
    ids = reminders.remind_followups(now=now)
    figures["reminders"] = time.perf_counter() - began
    rate = len(ids) / figures["reminders"] if figures["reminders"] else 0
    print(
        f"reminders: {len(ids):,} for {due:,} due visits in {figures['reminders']:.1f} s "
        f"({rate:,.0f}/s)"
    )

    began = time.perf_counter()
    scheduled = scheduling.schedule_missing(now=now)
    figures["catch_up"] = time.perf_counter() - began
    print(f"schedule_missing: {scheduled} scheduled, {figures['catch_up']:.2f} s")

    failed = [name for name, seconds in figures.items() if seconds > TARGETS[name]]
    for name in failed:
        print(f"UNDER TARGET: {name} took {figures[name]:.2f} s (target {TARGETS[name]} s)")
    return 1 if failed or len(ids) != due else 0


if __name__ == "__main__":
    sys.exit(main())
