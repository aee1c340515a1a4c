"""The admin list's export (CSV and XLSX) at 100,000 and 1,000,000 rows: flat memory.

    .venv/bin/python tests/benchmarks/bench_admin_export.py [--total 1000000]
        [--sizes 100000,1000000] [--formats csv,xlsx]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/redress_bench,
the database bench_sweep.py fills (its loader is called here; a fresh database is loaded
once, a database it did not create is refused by tests/benchmarks/guard.py). Requests go
through Django's test Client in-process (session login, admin, ChangeList, streaming) as a
staff user who sees every complaint but not personal data, so names and phones are masked
(in SQL: both files are one COPY each).

Each size is a filter of the list (`received_at__gte=` the received time of the N-th newest
complaint), exported in the list's order. Printed per size and format: rows, seconds, rows/s,
time to the first byte, file size and the peak growth of resident memory (VmRSS, sampled
while streaming). Targets: growth < 50 MB at every size and at most 20 MB more at 1,000,000
than at 100,000 rows (flat); CSV >= 50,000 rows/s. Exits 1 when one is missed. Last run
(shared 2-core machine, load 6-9): CSV 82,371 / 61,960 rows/s, XLSX 50,840 / 41,871 rows/s at
100,000 / 1,000,000 rows, RSS growth 0.0 MB everywhere.
"""

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/redress_bench")
os.environ.setdefault("DEBUG", "false")  # no query log in memory, as in production

RSS_TARGET_MB = 50
FLAT_TARGET_MB = 20
CSV_ROWS_PER_S_TARGET = 50_000
USERNAME = "bench-admin-export"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def staff_client():
    """A logged-in staff user who sees all complaints, without the personal-data right."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client

    user, _created = get_user_model().objects.get_or_create(
        username=USERNAME, defaults={"is_staff": True, "email": f"{USERNAME}@example.com"}
    )
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="complaints",
            codename__in=["view_complaint", "view_all_complaints"],
        )
    )
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(user)
    return client


def newest_received_at(rows: int) -> str:
    """The received time of the rows-th newest complaint (the list's default order)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT received_at FROM complaints_complaint ORDER BY received_at DESC, id DESC "
            "LIMIT 1 OFFSET %s",
            [rows - 1],
        )
        (value,) = cursor.fetchone()
    return value.isoformat()


def export_once(client, fmt: str, query: dict) -> dict:
    from django.contrib.admin.models import LogEntry
    from django.urls import reverse

    url = reverse("admin:complaints_complaint_export", args=[fmt])
    gc.collect()
    before = peak = rss_mb()
    began = time.perf_counter()
    response = client.get(url, query)
    assert response.status_code == 200, response.status_code
    first = None
    size = 0
    for chunks, chunk in enumerate(response.streaming_content, 1):
        if first is None:
            first = time.perf_counter() - began
        size += len(chunk)
        if chunks % 16 == 0:
            peak = max(peak, rss_mb())
    elapsed = time.perf_counter() - began
    peak = max(peak, rss_mb())
    response.close()
    entry = LogEntry.objects.filter(user__username=USERNAME).order_by("-pk").first()
    rows = json.loads(entry.change_message)["export"]["rows"]
    return {
        "rows": rows,
        "seconds": elapsed,
        "first": first or elapsed,
        "size": size,
        "growth": peak - before,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000, help="as bench_sweep (loader)")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--no-migrate", action="store_true", help="the schema is up to date")
    args = parser.parse_args()
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench_admin_export needs PostgreSQL (DATABASE_URL=postgres://...)")
    from tests.benchmarks import bench_sweep

    bench_sweep.ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command

    from complaints.models import Complaint

    if not args.no_migrate:
        call_command("migrate", verbosity=0)
    bench_sweep.load(args.total, args.due)
    total = Complaint.objects.count()
    print(f"{total:,} complaints in the database")
    client = staff_client()
    sizes = [min(int(s), total) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    ok = True
    results = {}
    client.get("/admin/complaints/complaint/")  # warm up (imports, session, templates)
    for size in sizes:
        query = {"received_at__gte": newest_received_at(size)}
        for fmt in formats:
            result = export_once(client, fmt, query)
            results[fmt, size] = result
            rate = result["rows"] / result["seconds"]
            checks = {"memory": result["growth"] < RSS_TARGET_MB}
            if fmt == "csv":
                checks["rate"] = rate >= CSV_ROWS_PER_S_TARGET
            missed = [name for name, met in checks.items() if not met]
            ok &= not missed
            print(
                f"  {fmt.upper():4} {result['rows']:>9,} rows  {result['seconds']:7.2f} s  "
                f"{rate:>9,.0f} rows/s  first byte {result['first'] * 1000:6.0f} ms  "
                f"{result['size'] / 1e6:7.1f} MB  RSS growth {result['growth']:5.1f} MB  "
                + ("FAIL: " + ", ".join(missed) if missed else "ok")
            )
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        for fmt in formats:
            difference = results[fmt, large]["growth"] - results[fmt, small]["growth"]
            flat = difference <= FLAT_TARGET_MB
            ok &= flat
            print(
                f"  {fmt.upper()} memory at {large:,} vs {small:,} rows: {difference:+.1f} MB "
                f"(target <= {FLAT_TARGET_MB} MB)  " + ("flat: ok" if flat else "FAIL")
            )
    print("\nall targets met" if ok else "\nFAIL: a target was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
