"""The REST API against 1,000,000 complaints: cursor pages and the streamed export.

    .venv/bin/python tests/benchmarks/bench_api.py [--total 1000000] [--runs 15]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/redress_bench,
the database bench_sweep.py fills (its loader is called here, so a fresh database is loaded
once; customers get an email too so that masking covers name, phone and email). Requests go
through Django's test Client in-process (authentication, throttling, DRF, JSON rendering)
with an API key without pii:read, so the export masks in SQL.

(a) List pages of 100 at depths 0, ~500,000 and ~1,000,000 (a cursor built for that depth,
    then following `next`): median server time, and the query count per page for page
    sizes 10/100/500; an OFFSET page at depth 1,000,000 for comparison.
(b) The CSV export of every complaint: rows/s, time to the first byte and to the first row,
    resident memory growth (VmRSS) and the ratio to a raw `COPY (SELECT the same columns of
    the same rows) TO STDOUT`; JSON Lines rows/s.

Targets: page median < 30 ms at every depth with a constant query count; export >= 50,000
rows/s, first row < 1 s, RSS growth < 50 MB. Exits 1 when one is missed.
"""

import argparse
import os
import statistics
import sys
import time
from base64 import b64encode
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/redress_bench")
os.environ.setdefault("DEBUG", "false")  # no query log in memory, as in production
os.environ.setdefault("REDRESS_API_RATE", "1000000/min")

PAGE_TARGET_MS = 30
ROWS_PER_S_TARGET = 50_000
FIRST_ROW_TARGET_S = 1.0
RSS_TARGET_MB = 50
LIST = "/api/v1/complaints/"
EXPORT = "/api/v1/complaints/export/"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def prepare(total: int, due: int):
    """The bench data (bench_sweep's loader), customer emails, and two API keys."""
    from django.db import connection

    from complaints.models import ApiClient, Complaint
    from tests.benchmarks import bench_sweep

    bench_sweep.load(total, due)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE complaints_customer SET email = 'bench.' || id || '@example.com' "
            "WHERE external_id LIKE 'bench-%%' AND email = ''"
        )
        if cursor.rowcount:
            cursor.execute("ANALYZE complaints_customer")
            print(f"gave {cursor.rowcount:,} bench customers an email")
    keys = {}
    for name, scopes in (
        ("bench-api-reader", ["complaints:read"]),
        ("bench-api-pii", ["complaints:read", "pii:read"]),
    ):
        client = ApiClient.objects.filter(name=name).first() or ApiClient(name=name)
        client.scopes, client.active, client.department = scopes, True, None
        keys[name] = client.new_key()
        client.save()
    return keys, Complaint.objects.count()


def http(key: str):
    from django.test import Client

    return Client(headers={"authorization": f"Token {key}", "accept-language": "en"})


def cursor_at(depth: int) -> str:
    """A DRF cursor for the default order (-received_at) starting after `depth` rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT received_at FROM complaints_complaint ORDER BY received_at DESC, id DESC "
            "LIMIT 1 OFFSET %s",
            [max(depth - 1, 0)],
        )
        (position,) = cursor.fetchone()
    return b64encode(urlencode({"p": str(position)}).encode()).decode()


def timed_get(client, url, params=None):
    began = time.perf_counter()
    response = client.get(url, params or {})
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.content[:500]
    return response, elapsed


def bench_pages(client, total: int, runs: int) -> bool:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ok = True
    timed_get(client, LIST)  # warm up (and the key's last_used_at write)
    depths = [0, total // 2, total - 100]
    print(f"\n(a) list pages of 100, median of {runs} pages following `next` (target < 30 ms)")
    for depth in depths:
        params = {"page_size": 100}
        if depth:
            params["cursor"] = cursor_at(depth)
        times, url = [], LIST
        timed_get(client, url, params)  # warm up this part of the index
        for _run in range(runs):
            response, elapsed = timed_get(client, url, params)
            times.append(elapsed * 1000)
            body = response.json()
            assert len(body["results"]) == 100 or depth >= total - 100
            if not body["next"]:  # the end: start again from the depth
                url = LIST
                continue
            url, params = body["next"], None
        median = statistics.median(times)
        flag = "ok" if median < PAGE_TARGET_MS else "FAIL"
        ok &= median < PAGE_TARGET_MS
        print(
            f"  depth {depth:>9,}: median {median:6.1f} ms  "
            f"(min {min(times):.1f}, max {max(times):.1f})  {flag}"
        )

    counts = {}
    for size in (10, 100, 500):
        for depth in (0, total // 2):
            params = {"page_size": size}
            if depth:
                params["cursor"] = cursor_at(depth)
            with CaptureQueriesContext(connection) as queries:
                timed_get(client, LIST, params)
            counts[size, depth] = len(queries)
    constant = len(set(counts.values())) == 1
    ok &= constant
    print(
        "  queries per page: "
        + ", ".join(f"size {s} at {d:,}: {n}" for (s, d), n in counts.items())
        + ("  constant: ok" if constant else "  NOT CONSTANT: FAIL")
    )

    # For comparison: OFFSET pages at depth ~1,000,000 (SQL only): the list's own query
    # (joins and all columns) and the cheapest possible one (ids from the index only).
    from complaints.models import Complaint

    rows = Complaint.objects.select_related("customer", "category", "department", "assignee")
    for label, page in (
        ("the list's query", rows.order_by("-received_at", "-id")),
        ("ids only", Complaint.objects.order_by("-received_at", "-id").values_list("id")),
    ):
        sql, sql_params = page[total - 100 : total].query.sql_with_params()
        times = []
        with connection.cursor() as cursor:
            for _run in range(3):
                began = time.perf_counter()
                cursor.execute(sql, sql_params)
                cursor.fetchall()
                times.append((time.perf_counter() - began) * 1000)
        median = statistics.median(times)
        print(f"  OFFSET {total - 100:,} LIMIT 100, {label}: median {median:,.1f} ms")

    # Information: a filtered deep page (status is a MultipleChoiceFilter: see the report).
    params = {"page_size": 100, "status": "closed", "cursor": cursor_at(total // 2)}
    times = [timed_get(client, LIST, params)[1] * 1000 for _run in range(3)]
    print(f"  status=closed page at ~{total // 2:,}: median {statistics.median(times):.1f} ms")
    return ok


def consume(client, params, *, count_lines=True):
    """Stream the export; (rows, seconds, first chunk s, first row s, peak RSS growth MB)."""
    import gc

    gc.collect()
    before = rss_mb()
    peak = before
    began = time.perf_counter()
    response = client.get(EXPORT, params)
    assert response.status_code == 200, response.content
    first_chunk = first_row = None
    lines = size = 0
    for chunks, chunk in enumerate(response.streaming_content, 1):
        now = time.perf_counter() - began
        if first_chunk is None:
            first_chunk = now
        lines += chunk.count(b"\n")
        size += len(chunk)
        if first_row is None and lines > (1 if params["format"] == "csv" else 0):
            first_row = now
        if chunks % 16 == 0:
            peak = max(peak, rss_mb())
    elapsed = time.perf_counter() - began
    response.close()
    peak = max(peak, rss_mb())
    rows = lines - (1 if params["format"] == "csv" else 0)
    return rows, elapsed, first_chunk, first_row, peak - before, size


def raw_copy(total: int) -> tuple[int, float]:
    """COPY (SELECT <the export's columns, unformatted, same joins and order>) TO STDOUT."""
    from django.db import connection

    from complaints.api import export
    from complaints.models import Complaint

    queryset = Complaint.objects.order_by("-received_at", "-id").values_list(
        *[column.path for column in export.COLUMNS]
    )
    sql, params = queryset.query.sql_with_params()
    statement = f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT WITH (FORMAT csv)"
    rows = 0
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        began = time.perf_counter()
        with cursor.cursor.copy(statement) as copy:
            for _row in copy:
                rows += 1
        elapsed = time.perf_counter() - began
        cursor.execute("RESET jit")
    return rows, elapsed


def explain_export() -> str:
    from django.db import connection
    from django.utils import timezone

    from complaints.api import export
    from complaints.models import Complaint

    statement = export.copy_sql(
        export.with_tiebreak(Complaint.objects.order_by("-received_at")),
        "csv",
        pii=False,
        now=timezone.now(),
    )
    select = statement[len("COPY (") : statement.rindex(") TO STDOUT")]
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute("EXPLAIN " + select)
        plan = [row[0] for row in cursor.fetchall()]
        cursor.execute("RESET jit")
    return "\n  ".join(plan[:6])


def bench_export(keys, total: int) -> bool:
    ok = True
    reader = http(keys["bench-api-reader"])
    print("\n(b) streamed export of every complaint (API key without pii:read: masked in SQL)")
    print("  plan: " + explain_export())

    raw_rows, raw_seconds = raw_copy(total)
    raw_rate = raw_rows / raw_seconds
    print(
        f"  raw COPY of the same columns and rows: {raw_rows:,} rows in {raw_seconds:.2f} s "
        f"= {raw_rate:,.0f} rows/s"
    )

    rows, seconds, first_chunk, first_row, growth, size = consume(reader, {"format": "csv"})
    rate = rows / seconds
    checks = {
        "rows": rows == total,
        "rate": rate >= ROWS_PER_S_TARGET,
        "first row": first_row is not None and first_row < FIRST_ROW_TARGET_S,
        "memory": growth < RSS_TARGET_MB,
    }
    ok &= all(checks.values())
    missed = [name for name, met in checks.items() if not met]
    print(
        f"  CSV:   {rows:,} rows, {size / 1e6:,.0f} MB in {seconds:.2f} s = {rate:,.0f} rows/s "
        f"(target >= {ROWS_PER_S_TARGET:,}); ratio to raw COPY {rate / raw_rate:.2f}\n"
        f"         first byte {first_chunk * 1000:.0f} ms, first row {first_row * 1000:.0f} ms "
        f"(target < {FIRST_ROW_TARGET_S:.0f} s); RSS growth {growth:.1f} MB "
        f"(target < {RSS_TARGET_MB} MB)  " + ("FAIL: " + ", ".join(missed) if missed else "ok")
    )

    rows, seconds, first_chunk, first_row, growth, size = consume(reader, {"format": "jsonl"})
    rate = rows / seconds
    jsonl_ok = rows == total and growth < RSS_TARGET_MB
    ok &= jsonl_ok
    print(
        f"  JSONL: {rows:,} rows, {size / 1e6:,.0f} MB in {seconds:.2f} s = {rate:,.0f} rows/s; "
        f"ratio to raw COPY {rate / raw_rate:.2f}; first row {first_row * 1000:.0f} ms; "
        f"RSS growth {growth:.1f} MB  " + ("ok" if jsonl_ok else "FAIL")
    )

    pii = http(keys["bench-api-pii"])
    rows, seconds, *_rest = consume(pii, {"format": "csv"})
    print(f"  CSV with pii:read (no masking): {rows / seconds:,.0f} rows/s")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000, help="as bench_sweep (loader)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--no-migrate", action="store_true", help="the schema is up to date")
    args = parser.parse_args()
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench_api needs PostgreSQL (DATABASE_URL=postgres://...)")
    from tests.benchmarks import bench_sweep

    bench_sweep.ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command

    if not args.no_migrate:
        call_command("migrate", verbosity=0)
    keys, total = prepare(args.total, args.due)
    print(f"{total:,} complaints in the database")
    ok = True
    if not args.skip_pages:
        ok &= bench_pages(http(keys["bench-api-reader"]), total, args.runs)
    if not args.skip_export:
        ok &= bench_export(keys, total)
    print("\nall targets met" if ok else "\nFAIL: a target was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
