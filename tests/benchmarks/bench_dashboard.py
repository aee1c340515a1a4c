"""The reporting dashboard against BENCH_SIZE complaints (default 5,000,000) on PostgreSQL.

    BENCH_SIZE=5000000 .venv/bin/python tests/benchmarks/bench_dashboard.py [--runs 7]
        [--cases landing,D+C,CH+S] [--skip-rebuild] [--skip-http]

Database: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/redress_bench_reporting,
created and migrated if missing. The benchmark only ever writes to a database it created
itself (it leaves a marker table there) and refuses any other.

Data: three years of complaints loaded once with INSERT ... SELECT generate_series, in
received order (as they arrive), with the complaint table's secondary indexes dropped during
the load and created afterwards; reused by later runs of the same size. Skewed like real
traffic: 20 departments, 30 categories, 8 channels, severities 1/7/12/80 %, 12 root causes,
complaints older than 60 days finished but for 1 %, recent ones about half open,
stored working-time durations.

Prints, each the median of --runs:
(a) the full rebuild of the summary tables (reporting.services.summaries.rebuild), target
    <= 60 s;
(b) the whole dashboard (reporting.dashboard.build: every card and chart, the previous
    period, the overdue count) from the summaries for a matrix of filters (the landing page,
    365 days, a head of three departments, and every combination of department, category,
    channel and severity: each alone, the 6 pairs, the 4 triples, all four; see
    filter_cases), target <= 50 ms, one line per case with its query count and how many of
    them read the complaints (widgets that need three dimensions or more, e.g. two filters
    and a breakdown by a third, read the complaints: those cases are held to <= 1 s);
    --cases picks some of them by key;
(c) the same matrix live (current to the second: exact percentiles, and the days changed since the
    last refresh read from the complaints) after 1,000 complaints changed, target <= 1 s;
(d) the incremental refresh of those changes;
(e) whole HTTP requests (django.test.Client, logged in): the landing page /admin/ and
    /admin/dashboard/ for a complaint manager and a department head, target <= 50 ms (the
    page keeps the built dashboard in the cache until the summaries change: also timed
    with the cache emptied before each request, as after a refresh), and a plain admin page
    for scale.
Every section prints the load average (the machine may be shared).
Exits 1 when a target is missed.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/redress_bench_reporting")
os.environ.setdefault("DEBUG", "false")

MARKER = "bench_dashboard_owned"
REBUILD_TARGET_S = 60
SUMMARY_TARGET_MS = 50
LIVE_TARGET_MS = 1000
DAYS = 3 * 365
DEPARTMENTS, CATEGORIES, ROOT_CAUSES = 20, 30, 12
CHUNK = 250_000
RECENT_DAYS = 60


def claim_database(url: str) -> None:
    """Create the database with a marker table, or accept it only if it carries the marker."""
    from tests.benchmarks.guard import claim_database as claim

    claim(url, "bench_dashboard", legacy_marker=MARKER)


def _rand(salt: int) -> str:
    """A pseudo-random number in [0, 1) per row g (a multiplicative hash)."""
    return f"(((g::bigint * {salt}) % 1000003) / 1000003.0)"


def _pick(values: list, weights: list[int], salt: int) -> str:
    """SQL choosing one of `values` by `weights` (percent) with the row's random number."""
    r = _rand(salt)
    parts, cumulative = [], 0
    for value, weight in zip(values, weights, strict=True):
        cumulative += weight
        parts.append(f"WHEN {r} < {cumulative / 100} THEN {value}")
    return "(CASE " + " ".join(parts) + f" ELSE {values[-1]} END)"


def _skewed(array_sql: str, n: int, salt: int) -> str:
    """An element of an n-element array, the first ones far more often (r^2)."""
    return f"({array_sql})[1 + floor({n} * power({_rand(salt)}, 2))::int]"


def reference_data() -> dict:
    from django.db import transaction

    from complaints.models import Category, Department, RootCause, SLAPolicy

    with transaction.atomic():
        departments = [
            Department.objects.get_or_create(
                code=f"bench-{i}", defaults={"name": f"Bench department {i:02d}"}
            )[0].pk
            for i in range(DEPARTMENTS)
        ]
        categories = [
            Category.objects.get_or_create(
                code=f"bench-{i}", defaults={"name": f"Bench category {i:02d}"}
            )[0].pk
            for i in range(CATEGORIES)
        ]
        causes = [
            RootCause.objects.get_or_create(
                code=f"bench-{i}", defaults={"name": f"原因 {i}", "name_en": f"Cause {i}"}
            )[0].pk
            for i in range(ROOT_CAUSES)
        ]
    policies = dict(
        SLAPolicy.objects.filter(active=True, category=None).values_list("severity", "pk")
    )
    return {
        "departments": departments,
        "categories": categories,
        "causes": causes,
        "policies": policies,
    }


def load(total: int) -> None:
    from django.db import connection, transaction

    from complaints.models import Complaint, Customer
    from tests.benchmarks.bench_sweep import insert_select

    loaded = Complaint.objects.filter(reference__startswith="R-").count()
    if loaded >= total:
        print(f"reusing {loaded:,} bench complaints")
        return
    if loaded:
        raise SystemExit(
            f"bench_dashboard: the database holds {loaded:,} bench complaints, not {total:,}; "
            "drop it (DROP DATABASE) or use the same BENCH_SIZE."
        )
    ref = reference_data()
    customers = 200_000
    insert_select(
        Customer,
        customers,
        {
            "name": "'Bench customer ' || g",
            "phone": "'+86137' || lpad(g::text, 8, '0')",
            "external_id": "'rbench-' || g",
        },
    )
    first_customer = Customer.objects.filter(external_id="rbench-1").values_list("pk", flat=True)[0]

    def array(ids):
        return "ARRAY[" + ",".join(map(str, ids)) + "]::bigint[]"

    severity = _pick(["1", "2", "3", "4"], [1, 7, 12, 80], 7919)
    policy = (
        "(CASE "
        + " ".join(f"WHEN {severity} = {s} THEN {pk}" for s, pk in ref["policies"].items())
        + " END)"
    )
    # Three years up to now, in arrival order, with a little jitter.
    received = (
        f"(now() - interval '{DAYS} days' + make_interval(secs => "
        f"(g::double precision * {DAYS * 86400} / {total}) + 600 * {_rand(104729)}))"
    )
    # Old complaints are finished (a few stale ones stay open); recent ones are often open.
    recent = f"(g::double precision / {total} > {1 - RECENT_DAYS / DAYS})"
    statuses = [
        "'closed'",
        "'resolved'",
        "'invalid'",
        "'new'",
        "'acknowledged'",
        "'investigating'",
        "'awaiting_customer'",
        "'solution_proposed'",
        "'reopened'",
    ]
    status = (
        f"(CASE WHEN {recent} THEN {_pick(statuses, [35, 10, 5, 8, 10, 17, 5, 7, 3], 15485863)}"
        f" ELSE {_pick(statuses, [84, 10, 5, 0, 0, 0.5, 0, 0, 0.5], 15485863)} END)"
    )
    finished = f"({status} IN ('closed', 'resolved'))"
    open_ = f"({status} NOT IN ('closed', 'resolved', 'invalid'))"
    acked = f"({status} NOT IN ('new', 'invalid'))"
    ack_delay = f"make_interval(secs => 21600 * {_rand(32452843)})"  # 0-6 h; due after 4 h
    resolve_delay = f"make_interval(secs => 691200 * {_rand(49979687)})"  # 0-8 days; due 5
    frt = f"(1 + floor(144000 * power({_rand(67867967)}, 2)))::int"  # up to 40 working hours
    ttr = f"(3600 + floor(720000 * power({_rand(86028121)}, 2)))::int"  # 1-201 working hours

    def when(condition, then, otherwise="NULL"):
        return f"(CASE WHEN {condition} THEN {then} ELSE {otherwise} END)"

    expressions = {
        "reference": "'R-' || lpad(g::text, 9, '0')",
        "channel": _pick(
            [
                "'hotline'",
                "'web'",
                "'email'",
                "'chat'",
                "'social'",
                "'letter'",
                "'walk_in'",
                "'api'",
            ],
            [40, 20, 10, 12, 6, 2, 5, 5],
            2750159,
        ),
        "received_at": received,
        "customer_id": f"{first_customer} + (g % {customers})",
        "subject": "'Bench complaint ' || g",
        "description": "'Generated for the dashboard benchmark.'",
        "severity": severity,
        "status": status,
        "validity": when(
            f"{status} = 'invalid'",
            "'invalid'",
            when(f"{_rand(3)} < 0.6", "'valid'", "'undetermined'"),
        ),
        "category_id": _skewed(array(ref["categories"]), CATEGORIES, 1299709),
        "department_id": _skewed(array(ref["departments"]), DEPARTMENTS, 179424673),
        "root_cause_category_id": when(
            f"{finished} AND {_rand(11)} < 0.6",
            _skewed(array(ref["causes"]), ROOT_CAUSES, 373587883),
        ),
        "sla_policy_id": policy,
        "ack_due_at": f"{received} + interval '4 hours'",
        "acknowledged_at": when(acked, f"{received} + {ack_delay}"),
        "first_response_at": when(acked, f"{received} + interval '5 hours'"),
        "first_response_work_seconds": when(acked, frt),
        "resolve_due_at": f"{received} + interval '5 days'",
        "resolved_at": when(finished, f"{received} + {resolve_delay}"),
        "resolution_work_seconds": when(finished, ttr),
        "closed_at": when(
            f"{status} = 'closed'", f"{received} + {resolve_delay} + interval '1 day'"
        ),
        "reopened_count": when(f"{_rand(13)} < 0.03 AND ({finished} OR {open_})", "1", "0"),
        "due_at": when(open_, f"{received} + interval '5 days'"),
        "created_at": received,
        "updated_at": received,
    }

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'complaints_complaint' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET synchronous_commit = off")
    print(f"dropped {len(indexes)} indexes for the load")
    began = time.perf_counter()
    for start in range(1, total + 1, CHUNK):
        count = min(CHUNK, total - start + 1)
        with transaction.atomic():
            insert_select(Complaint, count, expressions, start=start)
        done = start + count - 1
        print(
            f"  {done:,} / {total:,} complaints ({done / (time.perf_counter() - began):,.0f}/s)",
            flush=True,
        )
    load_s = time.perf_counter() - began
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM ANALYZE complaints_complaint")
        cursor.execute("ANALYZE complaints_customer")
    print(
        f"loaded {total:,} complaints in {load_s:.1f} s; "
        f"indexes in {time.perf_counter() - began:.1f} s"
    )


# The filter matrix: each dimension at its largest value (most complaints read), alone, in
# every pair and triple, and all four.
MATRIX_DIMENSIONS = {
    "D": "department",
    "C": "category",
    "CH": "channel",
    "S": "severity",
}
WIDTH = 56


def filter_cases(default, departments, categories) -> dict:
    """{key: (description, Filters)}: the landing page, 365 days, a head of three
    departments, every combination of the four filters (D department, C category, CH
    channel, S severity; each at its largest value), and all four at smaller values."""
    from dataclasses import replace
    from itertools import combinations

    values = {
        "D": ("department", departments[0], "largest department (22 %)"),
        "C": ("category", categories[0], "largest category (18 %)"),
        "CH": ("channel", "hotline", "hotline (40 %)"),
        "S": ("severity", 4, "severity 4 (80 %)"),
    }
    cases = {
        "landing": ("last 90 days, no filter (the landing page)", default),
        "365d": (
            "last 365 days, no filter",
            replace(default, date_from=default.date_to.replace(year=default.date_to.year - 1)),
        ),
        "head3": (
            "department head of 3 departments",
            replace(default, departments=tuple(departments[:3])),
        ),
    }
    for size in range(1, len(values) + 1):
        for combo in combinations(values, size):
            fields = {values[k][0]: values[k][1] for k in combo}
            described = (
                values[combo[0]][2]
                if size == 1
                else " + ".join(MATRIX_DIMENSIONS[k] for k in combo)
            )
            cases["+".join(combo)] = (described, replace(default, **fields))
    cases["head3+C+CH"] = (
        "head of 3 + category + channel",
        replace(
            default,
            departments=tuple(departments[:3]),
            category=categories[0],
            channel="hotline",
        ),
    )
    cases["all-small"] = (
        "all four, smaller values (2nd dept, 3rd category, web)",
        replace(
            default, department=departments[1], category=categories[2], channel="web", severity=4
        ),
    )
    return cases


def timed(fn, runs: int):
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def bench_user(username: str, role: str, departments=()):
    """A staff user in one of the migrated roles (reused by later runs)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from complaints.models import DepartmentMembership

    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True}
    )
    if created:
        user.groups.add(Group.objects.get(name=role))
        for pk in departments:
            DepartmentMembership.objects.create(
                user=user, department_id=pk, role=DepartmentMembership.Role.HEAD
            )
    return user


def http_requests(departments, runs: int) -> bool:
    """(e) The whole request through django.test.Client: session, permissions, the admin
    page around the dashboard, template rendering. The landing page (/admin/) and
    /admin/dashboard/ with their defaults, for a complaint manager (every department) and a
    department head (three departments)."""
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    users = {
        "complaint manager": bench_user("bench-manager", "Complaint manager · 投诉经理"),
        "department head (3 departments)": bench_user(
            "bench-head", "Department head · 部门负责人", departments[:3]
        ),
    }
    ok = True
    print(
        f"\n(e) whole HTTP requests (django.test.Client), median of {runs} "
        f"(target <= {SUMMARY_TARGET_MS} ms); load average {os.getloadavg()[0]:.2f}"
    )
    from django.core.cache import cache

    def cold(client, url):
        cache.clear()  # the dashboard is built again (as after each refresh)
        return client.get(url)

    for who, user in users.items():
        client = Client()
        client.force_login(user)
        for url in ("/admin/", "/admin/dashboard/"):
            response = client.get(url)  # warm
            assert response.status_code == 200, (url, response.status_code)
            assert b"reporting-card-value" in response.content, url
            seconds, _ = timed(lambda c=client, u=url: c.get(u), runs)
            cold_seconds, _ = timed(lambda c=client, u=url: cold(c, u), runs)
            ms = seconds * 1000
            ok &= ms <= SUMMARY_TARGET_MS
            print(
                f"  {who:32s} {url:18s} {ms:8.1f} ms  "
                f"(built again, after a refresh: {cold_seconds * 1000:.1f} ms)"
            )
    # For scale: an admin page without the dashboard, same session and load.
    client = Client()
    client.force_login(users["complaint manager"])
    url = "/admin/password_change/"
    assert client.get(url).status_code == 200
    seconds, _ = timed(lambda: client.get(url), runs)
    print(f"  {'(an admin page without it)':32s} {url:18s} {seconds * 1000:8.1f} ms")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-rebuild", action="store_true", help="reuse the summaries")
    parser.add_argument(
        "--cases",
        help="comma-separated case keys (default: the whole matrix), e.g. landing,D+C,CH+S",
    )
    parser.add_argument("--skip-http", action="store_true", help="leave out (e)")
    args = parser.parse_args()
    total = int(os.environ.get("BENCH_SIZE", "5000000"))
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench_dashboard needs PostgreSQL (DATABASE_URL=postgres://...)")
    claim_database(os.environ["DATABASE_URL"])

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from complaints.models import Category, Complaint, Department
    from reporting import dashboard
    from reporting.models import DailySummary
    from reporting.queries import Filters
    from reporting.services import summaries

    call_command("migrate", verbosity=0)
    load(total)
    ok = True

    print(f"\n{total:,} complaints; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if args.skip_rebuild and summaries.state().refreshed_at is not None:
        print("(a) rebuild skipped (--skip-rebuild)")
    else:
        began = time.perf_counter()
        summaries.rebuild()
        rebuild_s = time.perf_counter() - began
        rows = DailySummary.objects.count()
        ok &= rebuild_s <= REBUILD_TARGET_S
        print(
            f"(a) full rebuild: {rebuild_s:.1f} s, {rows:,} summary rows "
            f"(target <= {REBUILD_TARGET_S} s); load average {os.getloadavg()[0]:.2f}"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reporting_dailysummary")

    departments = list(
        Department.objects.filter(code__startswith="bench-")
        .order_by("code")
        .values_list("pk", flat=True)
    )
    categories = list(
        Category.objects.filter(code__startswith="bench-")
        .order_by("code")
        .values_list("pk", flat=True)
    )
    default = Filters.default()
    cases = filter_cases(default, departments, categories)
    if args.cases:
        wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
        unknown = [w for w in wanted if w not in cases]
        if unknown:
            raise SystemExit(f"unknown --cases {unknown}; known: {', '.join(cases)}")
        cases = {k: cases[k] for k in wanted}

    def run(label, live, target):
        nonlocal ok
        print(
            f"\n{label}: median of {args.runs} whole dashboards (target <= {target} ms"
            + (f", <= {LIVE_TARGET_MS} ms when a widget reads the complaints" if not live else "")
            + f"); load average {os.getloadavg()[0]:.2f}"
        )
        print(f"  {'case':11s} {'':{WIDTH}s} {'ms':>8s}  queries (on complaints)  received")
        for key, (name, filters) in cases.items():
            dashboard.build(filters, live=live)  # warm
            with CaptureQueriesContext(connection) as queries:
                dashboard.build(filters, live=live)
            seconds, built = timed(lambda f=filters: dashboard.build(f, live=live), args.runs)
            ms = seconds * 1000
            # Widgets needing three dimensions or more (two filters and a breakdown) have no
            # summary level: they read the complaints, held to the live target.
            direct = sum("complaints_complaint" in q["sql"] for q in queries)
            limit = target if not direct or live else LIVE_TARGET_MS
            ok &= ms <= limit
            received = built["cards"][0].current.value
            print(
                f"  {key:11s} {name:{WIDTH}s} {ms:8.1f}  {len(queries):3d} ({direct})"
                f"{' ' * 19}{received:>9s}{'' if ms <= limit else '  MISSED'}"
            )

    run("(b) from the summaries", False, SUMMARY_TARGET_MS)
    if not args.skip_http:
        ok &= http_requests(departments, args.runs)

    # 1,000 complaints change, each on another day, and the summaries are not refreshed yet:
    # the live path reads those days from the complaints.
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE complaints_complaint SET updated_at = %s, status = 'closed' "
            "WHERE id IN (SELECT id FROM complaints_complaint WHERE status = 'resolved' "
            "ORDER BY id DESC LIMIT 1000)",
            [now],
        )
    stale = summaries.stale_days(timezone.now())
    run(f"(c) live ({len(stale)} days changed since the last refresh)", True, LIVE_TARGET_MS)

    began = time.perf_counter()
    result = summaries.refresh(now=now + timezone.timedelta(seconds=1))
    print(
        f"\n(d) refresh after 1,000 changed complaints: {time.perf_counter() - began:.2f} s, "
        f"{result.days} days recomputed"
    )
    print(
        f"\nload average now {os.getloadavg()[0]:.2f}; "
        f"{'all targets met' if ok else 'TARGET MISSED'}"
    )
    assert Complaint.objects.exists()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
