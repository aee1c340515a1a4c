"""The 5,000,000-complaint benchmark suite (issue 15): every scenario of the issue's table,
server-side, against the real admin and API, on PostgreSQL.

    BENCH_SIZE=5000000 .venv/bin/python tests/benchmarks/bench_suite.py [--runs 7]
    BENCH_SIZES=100000,1000000,5000000 .venv/bin/python tests/benchmarks/bench_suite.py
    make bench            # this suite, then bench_dashboard.py

Database: one per size, `redress_bench_<size>` (e.g. redress_bench_5m) on
BENCH_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/redress_bench), or
exactly DATABASE_URL when that is exported. Either way the database must be this suite's own
(tests/benchmarks/guard.py: created by it, marker table `redress_bench_owned` naming
`bench_suite`); anything else is refused before a single row is read.

Data, generated once and reused while the marker says it holds BENCH_SIZE complaints: the
migrations are applied to the empty database, then the secondary indexes and the non-key
constraints of the complaint, timeline and customer tables are dropped, the rows loaded
set-based (INSERT ... SELECT over generate_series, 250,000 complaints per statement), and the
indexes and constraints built again afterwards. 5 years of complaints in arrival order; 50
departments (1 head, 3 members each), 500 categories (25 groups of 19), 0.3 customers per
complaint with Chinese names, ~5.5 timeline events per complaint (2 to 9), Chinese subjects
from the demo corpus, older complaints finished, recent ones about half open, one complaint
with 200 timeline events for the change page.

Measured through django.test.Client with a logged-in superuser (the whole middleware stack,
templates and serializers; no network), each scenario warmed up once, then the median of
--runs (>= 5); queries counted with CaptureQueriesContext. The intake is sent with an API
key, as other systems send it (median of 100 requests), and again with the superuser's
session as a baseline. The deadline sweep is
alerts.sweep() over --due complaints made due; the export is complaints.api.export.stream()
against raw COPY of the same rows. The admin changelist and the API page are also measured
on a plain ModelAdmin / ModelViewSet (tests/benchmarks/suite_urls.py) for the ratio.

Prints one table and writes it as JSON to var/bench/suite-<size>.json. Exit 1 when a target
is missed. BENCH_PG=tuned applies the recommended per-database settings (README,
"PostgreSQL at scale") before measuring; the default measures the server as configured and
says whether that is stock.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OWNER = "bench_suite"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/redress_bench"
DEPARTMENTS = 50
CATEGORY_GROUPS, CATEGORY_CHILDREN = 25, 19  # 25 + 25 * 19 = 500 categories
CUSTOMERS_PER_COMPLAINT = 0.3
YEARS = 5
CHUNK = 250_000
RECENT_DAYS = 60
BIG_TIMELINE = 200
TABLES = (
    "complaints_complaint",
    "complaints_complaintevent",
    "complaints_customer",
    "complaints_alertschedule",
)
SCHEDULE_TRIGGER = "complaint_alert_schedule_added"  # complaints migration 0035
FLAT_DUE = 2000  # complaints made due for the sweep's row in the flatness runs
# PostgreSQL settings that differ from a stock installation when tuned (README).
TUNED_DATABASE = {
    "work_mem": "32MB",
    "effective_cache_size": "12GB",
    "random_page_cost": "1.1",
    "jit": "off",
}
REPORTED_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "maintenance_work_mem",
    "random_page_cost",
    "jit",
    "max_parallel_workers_per_gather",
)
STOCK = {"shared_buffers": "128MB", "work_mem": "4MB", "effective_cache_size": "4GB"}


def size_label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def database_url(size: int) -> str:
    """DATABASE_URL when exported (it must then be this suite's own database), else one
    database per size beside BENCH_DATABASE_URL."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    base = urlsplit(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    return base._replace(path=f"{base.path.rstrip('/')}_{size_label(size)}").geturl()


# -- generation ------------------------------------------------------------------------------


def _rand(salt: int, var: str = "g") -> str:
    """A pseudo-random number in [0, 1) per row (a multiplicative hash of `var`)."""
    return f"((({var}::bigint * {salt}) % 1000003)::float8 / 1000003)"


def _pick(values: list, weights: list[float], salt: int) -> str:
    r = _rand(salt)
    parts, cumulative = [], 0.0
    for value, weight in zip(values, weights, strict=True):
        cumulative += weight
        parts.append(f"WHEN {r} < {cumulative / 100} THEN {value}")
    return "(CASE " + " ".join(parts) + f" ELSE {values[-1]} END)"


def _skewed(ids: list[int], salt: int) -> str:
    """One of `ids`, the first ones far more often (r^2)."""
    array = "ARRAY[" + ",".join(map(str, ids)) + "]::bigint[]"
    return f"({array})[1 + floor({len(ids)} * power({_rand(salt)}, 2))::int]"


def _text_array(values: list[str]) -> str:
    quoted = ",".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"ARRAY[{quoted}]::text[]"


def insert_from(model, expressions: dict[str, str], from_sql: str, params=()) -> int:
    """INSERT INTO <model> (every column but the key) SELECT ... FROM <from_sql>.

    Columns without an expression get the field default, NULL, or now() for creation times,
    so the statement keeps working when fields are added."""
    from django.db import connection, models

    columns, values, defaults = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in expressions:
            values.append(expressions[field.column].replace("%", "%%"))
            continue
        default = field.get_default()
        if default is None:
            if field.null:
                values.append("NULL")
            elif isinstance(field, models.DateTimeField):
                values.append("now()")
            else:
                raise SystemExit(f"bench_suite: no value for {model.__name__}.{field.name}")
            continue
        if isinstance(field, models.JSONField):
            default = json.dumps(default)
        else:
            default = field.get_db_prep_save(default, connection)
        values.append(f"CAST(%s AS {field.db_type(connection)})")
        defaults.append(default)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - names from the model
        f"SELECT {', '.join(values)} FROM {from_sql}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*defaults, *params])
        return cursor.rowcount


def drop_secondary(cursor) -> tuple[list[str], list[str]]:
    """Drop the non-key constraints and secondary indexes of the loaded tables; return the
    statements that build them again."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype "
        "FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s) AND contype <> 'p'",
        [list(TABLES)],
    )
    constraints = cursor.fetchall()
    for table, name, _definition, _kind in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [list(TABLES)],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    order = {"u": 0, "c": 1, "f": 2}
    rebuild = [definition for _name, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition, kind in sorted(constraints, key=lambda c: order.get(c[3], 3))
    ]
    print(f"dropped {len(indexes)} indexes and {len(constraints)} constraints for the load")
    return rebuild


def reference_data() -> dict:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from complaints.models import Category, Department, DepartmentMembership, SLAPolicy
    from complaints.services.categories import rebuild_paths

    User = get_user_model()
    with transaction.atomic():
        departments = Department.objects.bulk_create(
            [
                Department(code=f"bench-{i:02d}", name=f"部门 {i:02d}", email="")
                for i in range(DEPARTMENTS)
            ]
        )
        users, memberships = [], []
        for department in departments:
            for role, count in (("head", 1), ("member", 3)):
                for index in range(count):
                    username = f"{department.code}-{role}-{index}"
                    user = User(username=username, email=f"{username}@example.com", is_staff=True)
                    user.set_unusable_password()
                    users.append((user, department, role))
        User.objects.bulk_create([u for u, _d, _r in users])
        memberships = [DepartmentMembership(department=d, user=u, role=r) for u, d, r in users]
        DepartmentMembership.objects.bulk_create(memberships)
        groups = Category.objects.bulk_create(
            [
                Category(code=f"bench-{g:02d}", name=f"类别 {g:02d}", sort_order=g)
                for g in range(CATEGORY_GROUPS)
            ]
        )
        children = Category.objects.bulk_create(
            [
                Category(
                    code=f"bench-{g:02d}-{c:02d}",
                    name=f"子类 {g:02d}-{c:02d}",
                    parent=group,
                    sort_order=c,
                    default_department=departments[(g * CATEGORY_CHILDREN + c) % DEPARTMENTS],
                )
                for g, group in enumerate(groups)
                for c in range(CATEGORY_CHILDREN)
            ]
        )
        rebuild_paths()
        admin, _ = User.objects.get_or_create(
            username="bench-admin",
            defaults={"is_staff": True, "is_superuser": True, "email": "bench@example.com"},
        )
    policies = dict(
        SLAPolicy.objects.filter(active=True, category=None).values_list("severity", "pk")
    )
    return {
        "departments": [d.pk for d in departments],
        "categories": [c.pk for c in children],  # complaints are filed under a leaf
        "handlers": [u.pk for u, _d, role in users if role == "member"],
        "policies": policies,
        "admin": admin.pk,
    }


def subjects() -> list[str]:
    """Chinese subjects of the demo corpus whose only placeholder is {item}."""
    from complaints.demo.corpus import TOPICS

    found = []
    for topic in TOPICS.values():
        for subject in topic.get("zh_subjects", []):
            if set(re.findall(r"\{(\w+)\}", subject)) <= {"item"}:
                found.append(subject)
    return found


def generate(total: int) -> dict:
    from django.db import connection, transaction

    from complaints.demo.corpus import ZH_GIVEN, ZH_SURNAMES
    from complaints.models import OPEN_STATUSES, Complaint, ComplaintEvent, Customer

    began_all = time.perf_counter()
    ref = reference_data()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        rebuild = drop_secondary(cursor)

    customers = max(int(total * CUSTOMERS_PER_COMPLAINT), 1)
    surnames = _text_array([s for s, _p in ZH_SURNAMES])
    given = _text_array([g for g, _p in ZH_GIVEN])
    began = time.perf_counter()
    for start in range(1, customers + 1, CHUNK):
        end = min(start + CHUNK - 1, customers)
        with transaction.atomic():
            insert_from(
                Customer,
                {
                    "name": (
                        f"({surnames})[1 + (g::bigint * 7919) % {len(ZH_SURNAMES)}]"
                        f" || ({given})[1 + (g::bigint * 104729) % {len(ZH_GIVEN)}]"
                        f" || CASE WHEN {_rand(13)} < 0.6 THEN "
                        f"({given})[1 + (g::bigint * 1299709) % {len(ZH_GIVEN)}] ELSE '' END"
                    ),
                    "phone": "'+86138' || lpad(g::text, 8, '0')",
                    "email": f"CASE WHEN {_rand(17)} < 0.3 THEN 'c' || g || '@example.com' "
                    "ELSE '' END",
                    "tier": _pick(
                        ["'standard'", "'member'", "'vip'", "'corporate'"], [68, 22, 7, 3], 31
                    ),
                },
                "generate_series(%s, %s) AS g",
                [start, end],
            )
    first_customer = Customer.objects.order_by("pk").values_list("pk", flat=True)[0]
    print(f"loaded {customers:,} customers in {time.perf_counter() - began:.1f} s", flush=True)

    days = YEARS * 365
    severity = _pick(["1", "2", "3", "4"], [1, 6, 13, 80], 7919)
    policy = (
        "(CASE "
        + " ".join(f"WHEN x.severity = {s} THEN {pk}" for s, pk in ref["policies"].items())
        + " END)"
    )
    received = (
        f"(now() - interval '{days} days' + make_interval(secs => "
        f"(g::double precision * {days * 86400} / {total}) + 600 * {_rand(104729)}))"
    )
    recent = f"(g::double precision / {total} > {1 - RECENT_DAYS / days})"
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
        f" ELSE {_pick(statuses, [88, 6, 5, 0, 0, 0.5, 0, 0, 0.5], 15485863)} END)"
    )
    # Computed once per row in a LATERAL subquery (x), used by many columns.
    lateral = f"SELECT {received} AS received, {severity} AS severity, {status} AS status"
    row_values = (
        "generate_series(%s, %s) AS g CROSS JOIN LATERAL (" + lateral.replace("%", "%%") + ") AS x"
    )
    received, severity, status = "x.received", "x.severity", "x.status"
    finished = f"({status} IN ('closed', 'resolved'))"
    open_ = f"({status} NOT IN ('closed', 'resolved', 'invalid'))"
    acked = f"({status} NOT IN ('new', 'invalid'))"
    resolve_delay = f"make_interval(secs => 691200 * {_rand(49979687)})"
    future = "(now() + make_interval(mins => (60 + (g::bigint * 104729) % 86400)::int))"

    def when(condition, then, otherwise="NULL"):
        return f"(CASE WHEN {condition} THEN {then} ELSE {otherwise} END)"

    subject_list = subjects()
    subject_sql = (
        f"replace(({_text_array(subject_list)})[1 + (g::bigint * 2750159) % {len(subject_list)}],"
        " '{item}', (1 + g % 40) || '栋' || (100 * (1 + g % 30) + 1 + g % 4) || '室')"
    )
    expressions = {
        "reference": (
            f"'C-' || to_char({received} AT TIME ZONE 'Asia/Shanghai', 'YYYY') || '-' "
            "|| lpad(g::text, 7, '0')"
        ),
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
        "customer_id": f"{first_customer} + (g::bigint * 2654435761) % {customers}",
        "subject": subject_sql,
        "description": f"{subject_sql} || '，请尽快处理。'",
        "item_ref": "(1 + g % 40) || '-' || (100 * (1 + g % 30) + 1 + g % 4)",
        "severity": severity,
        "status": status,
        "validity": when(
            f"{status} = 'invalid'",
            "'invalid'",
            when(f"{_rand(3)} < 0.6", "'valid'", "'undetermined'"),
        ),
        "invalid_reason": when(f"{status} = 'invalid'", "'重复投诉'", "''"),
        "category_id": _skewed(ref["categories"], 1299709),
        "department_id": _skewed(ref["departments"], 179424673),
        "assignee_id": when(acked, _skewed(ref["handlers"], 373587883)),
        "sla_policy_id": policy,
        "ack_due_at": f"{received} + interval '4 hours'",
        "ack_warn_at": f"{received} + interval '3 hours'",
        "acknowledged_at": when(acked, f"{received} + interval '2 hours'"),
        "first_response_at": when(acked, f"{received} + interval '5 hours'"),
        "first_response_work_seconds": when(acked, "18000"),
        "response_due_at": f"{received} + interval '1 day'",
        "resolve_due_at": when(
            open_, f"{future} + interval '5 days'", f"{received} + interval '5 days'"
        ),
        "resolve_warn_at": when(
            open_, f"{future} + interval '4 days'", f"{received} + interval '4 days'"
        ),
        "resolved_at": when(finished, f"{received} + {resolve_delay}"),
        "resolution_work_seconds": when(finished, "(3600 + g % 700000)::int"),
        "closed_at": when(
            f"{status} = 'closed'", f"{received} + {resolve_delay} + interval '1 day'"
        ),
        "due_at": when(open_, f"{future} + interval '5 days'"),
        "next_alert_at": when(f"{open_} AND {status} <> 'awaiting_customer'", future),
        "sla_paused_at": when(f"{status} = 'awaiting_customer'", "now() - interval '1 day'"),
        "created_at": received,
        "updated_at": received,
    }
    began = time.perf_counter()
    # The deadline sweep's schedule rows (one per complaint, migration 0035) are copied in
    # one statement afterwards instead of by the insert trigger row by row.
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE complaints_complaint DISABLE TRIGGER {SCHEDULE_TRIGGER}")
    try:
        for start in range(1, total + 1, CHUNK):
            end = min(start + CHUNK - 1, total)
            with transaction.atomic():
                insert_from(Complaint, expressions, row_values, [start, end])
            print(
                f"  {end:,} / {total:,} complaints ({end / (time.perf_counter() - began):,.0f}/s)",
                flush=True,
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO complaints_alertschedule "
                "(complaint_id, next_alert_at, escalation_level) "
                "SELECT id, CASE WHEN status = ANY(%s) THEN next_alert_at END, 0 "
                "FROM complaints_complaint",
                [[str(s) for s in OPEN_STATUSES]],
            )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE complaints_complaint ENABLE TRIGGER {SCHEDULE_TRIGGER}")
    first = Complaint.objects.order_by("pk").values_list("pk", flat=True)[0]
    print(f"loaded {total:,} complaints in {time.perf_counter() - began:.1f} s", flush=True)

    # Timeline: 2..9 events per complaint (5.5 on average), an hour or more apart.
    notes = _text_array(
        [
            "已联系客户，说明处理进度。",
            "现场核实情况。",
            "等待工程部回复。",
            "客户表示理解。",
            "已安排维修师傅上门。",
        ]
    )
    kind = (
        "(CASE WHEN k = 1 THEN 'created' WHEN k % 4 = 2 THEN 'status' WHEN k % 4 = 3 "
        "THEN 'note' WHEN k % 4 = 0 THEN 'contact' ELSE 'assignment' END)"
    )
    event_expressions = {
        "complaint_id": "c.id",
        "kind": kind,
        "actor_id": "CASE WHEN k = 1 THEN NULL ELSE c.assignee_id END",
        "created_at": "c.received_at + make_interval(hours => ((k - 1) * 3)::int)",
        "from_status": "CASE WHEN k % 4 = 2 THEN 'acknowledged' ELSE '' END",
        "to_status": "CASE WHEN k % 4 = 2 THEN 'investigating' ELSE '' END",
        "note": f"CASE WHEN k % 4 IN (0, 3) THEN ({notes})[1 + (c.id + k) % 5] ELSE '' END",
        "contact_channel": "CASE WHEN k % 4 = 0 THEN 'hotline' ELSE '' END",
        "contact_direction": "CASE WHEN k % 4 = 0 THEN 'out' ELSE '' END",
        "data": "'{}'::jsonb",
    }
    began = time.perf_counter()
    events = 0
    for start in range(first, first + total, CHUNK):
        with transaction.atomic():
            events += insert_from(
                ComplaintEvent,
                event_expressions,
                "complaints_complaint c CROSS JOIN LATERAL generate_series(1, 2 + c.id %% 8) AS k "
                "WHERE c.id BETWEEN %s AND %s",
                [start, start + CHUNK - 1],
            )
        print(
            f"  {events:,} timeline events ({events / (time.perf_counter() - began):,.0f}/s)",
            flush=True,
        )
    # One complaint with a long history for the change page.
    big = first + total // 2
    extra = BIG_TIMELINE - (2 + big % 8)
    with transaction.atomic():
        events += insert_from(
            ComplaintEvent,
            {**event_expressions, "kind": kind.replace("k = 1", "k = 0")},
            "complaints_complaint c CROSS JOIN LATERAL generate_series(11, %s) AS k "
            "WHERE c.id = %s",
            [10 + extra, big],
        )
    print(f"loaded {events:,} timeline events in {time.perf_counter() - began:.1f} s", flush=True)

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for statement in rebuild:
            step = time.perf_counter()
            cursor.execute(statement)
            print(f"  {time.perf_counter() - step:6.1f} s  {statement[:100]}", flush=True)
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("ANALYZE")
    print(f"indexes and constraints in {time.perf_counter() - began:.1f} s")
    return {
        "complaints": total,
        "customers": customers,
        "events": events,
        "big_timeline_complaint": big,
        "load_seconds": round(time.perf_counter() - began_all, 1),
    }


def prepare(url: str, total: int) -> dict:
    """The database of `total` complaints: reused when the marker says so, else (re)built."""
    import psycopg

    from tests.benchmarks.guard import MARKER, claim_database, drop_database

    claim_database(url, OWNER)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            f"SELECT size, loaded, info FROM {MARKER} WHERE owner = %s",  # noqa: S608
            [OWNER],
        ).fetchone()
    if row and row[1] and row[0] == total:
        print(f"reusing {total:,} complaints in {urlsplit(url).path.lstrip('/')}")
        return row[2]
    if row and (row[1] or row[0]):
        print(f"database holds {row[0]:,} complaints (loaded={row[1]}), not {total:,}: rebuilding")
        drop_database(url, OWNER)
        claim_database(url, OWNER)
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"UPDATE {MARKER} SET size = %s WHERE owner = %s", [total, OWNER])  # noqa: S608
    info = generate(total)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"UPDATE {MARKER} SET loaded = true, info = %s WHERE owner = %s",  # noqa: S608
            [json.dumps(info), OWNER],
        )
    return info


# -- measurement -----------------------------------------------------------------------------


class Row:
    def __init__(self, scenario, target_ms=None, max_queries=None, *, unit="ms", target=None):
        self.scenario, self.target_ms, self.max_queries = scenario, target_ms, max_queries
        self.unit, self.target = unit, target
        self.value = self.queries = self.db_ms = None
        self.note = ""
        self.baseline = False  # a plain ModelAdmin/ModelViewSet figure: no target
        self.also_ok = True  # a second condition of the target (the export's ratio)
        self.judged = True  # False: measured for the flatness table only, not the target
        self.extra: dict = {}

    @property
    def passed(self) -> bool | None:
        if self.value is None or self.baseline or not self.judged:
            return None
        ok = self.also_ok
        if self.unit == "ms":
            ok = self.value <= self.target_ms
        elif self.target is not None:
            ok = self.value >= self.target
        if self.max_queries is not None and self.queries is not None:
            ok = ok and self.queries <= self.max_queries
        return ok

    def target_text(self) -> str:
        if self.baseline:
            return ""
        if self.unit == "ms":
            text = f"<= {self.target_ms:g} ms"
        else:
            text = f">= {self.target:,g} {self.unit}"
        if self.max_queries is not None:
            text += f", <= {self.max_queries} q"
        return text

    def value_text(self) -> str:
        if self.value is None:
            return "-"
        if self.unit == "ms":
            return f"{self.value:,.1f} ms"
        return (
            f"{self.value:,.2f} {self.unit}"
            if self.value < 10
            else f"{self.value:,.0f} {self.unit}"
        )

    def as_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "target": self.target_text(),
            "value": None if self.value is None else round(self.value, 3),
            "unit": self.unit,
            "queries": self.queries,
            "db_ms": None if self.db_ms is None else round(self.db_ms, 1),
            "passed": self.passed,
            "note": self.note,
        }


def timed(fn, runs: int, cpu: list | None = None) -> tuple[float, object]:
    """Warm up once, then the median of `runs` calls in milliseconds. With `cpu`, the median
    CPU time of this process per call is appended to it (less sensitive to the load of a
    shared machine than the wall-clock time; the database server's work is not in it)."""
    result = fn()
    times, cpu_times = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append((time.perf_counter() - began) * 1000)
        cpu_times.append((time.process_time() - began_cpu) * 1000)
    if cpu is not None:
        cpu.append(statistics.median(cpu_times))
    return statistics.median(times), result


def _note_cpu(row, cpu: list) -> None:
    row.extra["cpu_ms"] = round(cpu[0], 2)
    row.note = " ".join(filter(None, [row.note, f"cpu {cpu[0]:.1f} ms"]))


def page(client, url: str, runs: int, row: Row, *, expect: str | None = None) -> Row:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    if response.status_code != 200:
        row.note = f"HTTP {response.status_code}"
        return row
    if expect is not None and expect not in response.content.decode():
        row.note = f"{expect!r} missing from the page"
    # Rows of an admin list (its checkboxes): the flatness table compares equal pages.
    row.extra["rows_shown"] = response.content.count(b'name="_selected_action"')
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    row.queries = len(queries)
    row.db_ms = 1000 * sum(float(q["time"]) for q in queries)
    cpu: list = []
    row.value, _ = timed(lambda: client.get(url), runs, cpu)
    _note_cpu(row, cpu)
    return row


def settings_report() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, current_setting(name), source FROM pg_settings WHERE name = ANY(%s)",
            [list(REPORTED_SETTINGS)],
        )
        rows = {name: (value, source) for name, value, source in cursor.fetchall()}
    stock = all(rows.get(k, (None,))[0] == v for k, v in STOCK.items())
    return {"settings": {k: v for k, (v, _s) in rows.items()}, "stock": stock}


def apply_tuned(url: str) -> None:
    import psycopg

    from tests.benchmarks.guard import database_name

    name = database_name(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for key, value in TUNED_DATABASE.items():
            conn.execute(f"ALTER DATABASE \"{name}\" SET {key} = '{value}'")
        conn.execute(
            "ALTER TABLE complaints_complaint SET (autovacuum_vacuum_scale_factor = 0.02, "
            "autovacuum_analyze_scale_factor = 0.01, fillfactor = 90)"
        )


def measure(total: int, info: dict, runs: int, only_flat: bool, due: int) -> list[Row]:
    from django.conf import settings
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from complaints.models import Complaint, Customer, Department, Status

    settings.ROOT_URLCONF = "tests.benchmarks.suite_urls"
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-admin"))
    rows: list[Row] = []
    changelist = reverse("admin:complaints_complaint_changelist")

    def admin_page(name, query, target, max_queries=None, expect=None):
        row = page(
            client, f"{changelist}?{query}", runs, Row(name, target, max_queries), expect=expect
        )
        # The list's rows per page as measured (the flatness table compares full pages).
        row.extra["page_size"] = admin.site._registry[Complaint].list_per_page
        rows.append(row)
        print(f"  {name}: {row.value_text()} {row.queries} q {row.note}", flush=True)
        return row

    department = Department.objects.filter(code="bench-00").values_list("pk", flat=True)[0]
    open_ = [Status.NEW, Status.ACKNOWLEDGED, Status.INVESTIGATING]
    filtered = "&".join(
        [
            *(f"status__exact={s}" for s in open_),
            f"department__id__exact={department}",
            "channel__exact=hotline",
        ]
    )
    customer = Customer.objects.filter(complaints__isnull=False).order_by("-pk")[0]
    newest = Complaint.objects.order_by("-received_at", "-id")[0]

    admin_page("admin changelist, 50 rows", "", 150, 6)
    model_admin = admin.site._registry[Complaint]
    per_page = model_admin.list_per_page
    model_admin.list_per_page = 100
    try:
        admin_page("admin changelist, 100 rows", "", 150, 6)
    finally:
        model_admin.list_per_page = per_page
    admin_page("changelist, 3 filters (open, department, channel)", filtered, 200)
    admin_page("search by reference", f"q={newest.reference}", 50, expect=newest.reference)
    phone = customer.phone.removeprefix("+86")
    admin_page("search by phone", f"q={phone}", 50)
    for term in ("漏水", "王伟", "鳄鱼"):
        admin_page(f"free text {term}", f"q={term}", 300)

    if not only_flat:
        admin_page("deep admin page 2,000", "p=2000", 300)
        last = (total + 49) // 50
        admin_page("deep admin page, last", f"p={last}", 300)
        big = info["big_timeline_complaint"]
        change = reverse("admin:complaints_complaint_change", args=[big])
        row = page(client, change, runs, Row(f"change page, {BIG_TIMELINE} timeline events", 200))
        rows.append(row)
        print(f"  {row.scenario}: {row.value_text()} {row.queries} q {row.note}", flush=True)

        api = "/api/v1/complaints/"
        for name, query in (
            ("API page of 100, first", ""),
            ("API page of 100, deep (cursor 4 years back)", "deep"),
            (
                "API page of 100, 3 filters",
                "status=new&status=investigating&department=bench-00&channel=hotline",
            ),
        ):
            url = f"{api}?{query}"
            if query == "deep":
                url = f"{api}?cursor={deep_cursor(total)}"
            row = page(client, url, runs, Row(name, 20))
            rows.append(row)
            print(f"  {name}: {row.value_text()} {row.queries} q {row.note}", flush=True)

        plain_admin = page(
            client,
            "/bench-plain/admin/complaints/complaint/",
            runs,
            Row("plain ModelAdmin changelist (100 rows)", 10**9),
        )
        plain_api = page(
            client,
            "/bench-plain/api/complaints/",
            runs,
            Row("plain ModelViewSet page (100 rows)", 10**9),
        )
        for plain, ours in ((plain_admin, rows[1]), (plain_api, rows[-3])):
            plain.baseline = True
            plain.note = (
                f"{ours.scenario}: {ours.value / plain.value:.2f}x the plain one"
                if plain.value and ours.value
                else plain.note
            )
        rows += [plain_admin, plain_api]
        print(
            f"  plain: admin {plain_admin.value_text()} ({plain_admin.note}); "
            f"api {plain_api.value_text()} ({plain_api.note})",
            flush=True,
        )

    sweep = sweep_row(due, timezone.now())
    if only_flat:
        # FLAT_DUE complaints at every size: the same work for the flatness table; the
        # target's figure is the full run's (10,000 due), not this one.
        sweep.judged = False
        sweep.note = "; ".join(
            filter(None, [sweep.note, "flatness only (the target is judged in the full run)"])
        )
    rows.append(sweep)
    if not only_flat:
        rows.append(export_row(min(total, 200_000), runs))
        if renamed := rename_intake_customers():
            print(f"renamed {renamed:,} customers earlier intake rows had created", flush=True)
        rows.append(intake_row(client, runs, key=intake_key()))
        rows.append(intake_row(client, runs))  # the staff session's path, for comparison
    return rows


def deep_cursor(total: int) -> str:
    from rest_framework.pagination import Cursor, CursorPagination

    from complaints.models import Complaint

    position = Complaint.objects.order_by("-received_at", "-id").values_list(
        "received_at", flat=True
    )[int(total * 0.8)]
    pager = CursorPagination()
    pager.base_url = "http://testserver/"
    url = pager.encode_cursor(Cursor(offset=0, reverse=False, position=str(position)))
    return url.split("cursor=")[1]


def sweep_row(due: int, now) -> Row:
    """alerts.sweep() over `due` complaints made due (bench_sweep.make_due)."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from complaints.models import OPEN_STATUSES, Complaint
    from complaints.services import alerts
    from tests.benchmarks.bench_sweep import DUE_MARK, make_due

    row = Row("deadline sweep, claim + mark", unit="complaints/s", target=10_000)
    marked = Complaint.objects.filter(item_ref=DUE_MARK).count()
    if marked != due:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE complaints_complaint SET item_ref = '' WHERE item_ref = %s", [DUE_MARK]
            )
            cursor.execute(
                "UPDATE complaints_complaint SET item_ref = %s WHERE id IN (SELECT id FROM "
                "complaints_complaint WHERE status = ANY(%s) ORDER BY id DESC LIMIT %s)",
                [DUE_MARK, [str(s) for s in OPEN_STATUSES], due],
            )

    def rate(connections: int) -> float:
        rates = []
        for _ in range(3):
            now = timezone.now()
            made = make_due(now, due)
            began = time.perf_counter()
            result = alerts.sweep(now=now, connections=connections)
            elapsed = time.perf_counter() - began
            if result.complaints != made:
                row.note = f"processed {result.complaints:,} of {made:,} due"
            rates.append(result.complaints / elapsed)
        return statistics.median(rates)

    # As beat runs it (settings.REDRESS_SWEEP_CONNECTIONS), and on one connection for
    # comparison.
    connections = settings.REDRESS_SWEEP_CONNECTIONS
    row.value = rate(connections)
    single = rate(1) if connections > 1 else row.value
    row.extra = {"connections": connections, "one_connection_per_s": round(single)}
    row.note = row.note or (
        f"{due:,} due, median of 3, {connections} connection(s); one connection {single:,.0f}/s"
    )
    print(f"  sweep: {row.value:,.0f} complaints/s ({single:,.0f}/s on one connection)", flush=True)
    return row


def export_row(count: int, runs: int) -> Row:
    """The streaming export (complaints.api.export.stream, as the API sends it) against raw
    COPY of the same rows' columns."""
    from django.db import connection
    from django.utils import timezone

    from complaints.api import export
    from complaints.models import Complaint

    row = Row("streaming CSV export", unit="rows/s", target=300_000)
    cutoff = Complaint.objects.order_by("-id").values_list("id", flat=True)[count - 1]
    queryset = Complaint.objects.filter(id__gte=cutoff).order_by("-received_at", "-id")

    def run_export():
        return sum(
            len(chunk) for chunk in export.stream(queryset, "csv", pii=True, now=timezone.now())
        )

    def run_copy():
        size = 0
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY (SELECT * FROM complaints_complaint c JOIN complaints_customer u "  # noqa: S608
                f"ON u.id = c.customer_id WHERE c.id >= {int(cutoff)} "
                "ORDER BY c.received_at DESC, c.id DESC) TO STDOUT WITH (FORMAT csv)"
            ) as copy,
        ):
            for chunk in copy:
                size += len(chunk)
        return size

    runs = max(3, runs // 2)
    export_ms, size = timed(run_export, runs)
    copy_ms, copy_size = timed(run_copy, runs)
    row.value = count / (export_ms / 1000)
    ratio = copy_ms / export_ms
    row.extra = {"ratio_to_copy": round(ratio, 3), "copy_rows_per_s": count / (copy_ms / 1000)}
    row.also_ok = ratio >= 0.6
    row.note = (
        f"{count:,} rows, {size / 1e6:.0f} MB; raw COPY {count / (copy_ms / 1000):,.0f} "
        f"rows/s, ratio {ratio:.2f} (target >= 0.6)"
    )
    if ratio < 0.6:
        row.note += " RATIO MISSED"
    print(f"  export: {row.value:,.0f} rows/s, ratio {ratio:.2f}", flush=True)
    return row


INTAKE_POSTS = 100  # the intake's median is over this many requests (cheap, noisy ones)


def intake_key() -> str:
    """A fresh key of the suite's API client (complaints:read/write, pii:read, all
    departments): other systems send complaints with a key, not a staff session."""
    from complaints.models import ApiClient

    api = ApiClient.objects.filter(name="bench-intake").first() or ApiClient(
        name="bench-intake",
        owner="bench_suite",
        scopes=["complaints:read", "complaints:write", "pii:read"],
    )
    key = api.new_key()
    api.save()
    return key


INTAKE_PHONES = ("+86137", "+86139")  # the customers the intake rows create (+86139: before)
INTAKE_NAME = "基准客户"  # their names: not 王伟, which the search rows look for


def rename_intake_customers() -> int:
    """The customers earlier intake rows created were named 王伟<n>: run after run they had
    doubled the customers the 王伟 search row finds at 5 M. Renamed (complaints cannot be
    deleted), so that no run adds to another row's data."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE complaints_customer SET name = %s || id WHERE name LIKE '王伟%%' "
            "AND phone LIKE ANY(%s)",
            [INTAKE_NAME, [f"{prefix}%" for prefix in INTAKE_PHONES]],
        )
        return cursor.rowcount


def intake_row(client, runs: int, *, key: str | None = None) -> Row:
    """API intake, in process: complaints/s of one process; 2 gunicorn workers on 2 cores
    give at most twice that. With `key`: `Authorization: Token <key>` as other systems
    send it (the target row); without: the suite's staff session (the browsable API's
    path, a baseline)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if key is not None:
        name, auth = (
            "API intake, API key (in process, x2 for 2 workers)",
            {"Authorization": f"Token {key}"},
        )
    else:
        name, auth = "API intake, staff session (x2 for 2 workers)", {}
    row = Row(name, unit="complaints/s", target=300)
    row.baseline = key is None
    counter = iter(range(10**9))
    tag = f"{os.getpid()}-{time.time_ns()}"
    # Every other post comes from a customer the database knows (one of the first 1,000
    # generated: matched by phone, their earlier complaints counted), the others from a new
    # one, with a phone no earlier run used (+86137, from the clock). Before, the phones were
    # the same in every run: the first run on a database created its customers, every later
    # one matched them, and the figure depended on the database's history.
    first_new = time.time_ns() // 10**6 % 10**8

    def post():
        n = next(counter)
        if n % 2:
            phone = f"+86138{(n * 37) % 1000 + 1:08d}"
        else:
            phone = f"{INTAKE_PHONES[0]}{(first_new + n) % 10**8:08d}"
        return client.post(
            "/api/v1/complaints/",
            {
                "channel": "web",
                "subject": f"基准测试 {n} 卫生间漏水",
                "description": "漏水",
                "customer": {"name": f"{INTAKE_NAME}{n}", "phone": phone},
            },
            content_type="application/json",
            headers={**auth, "Idempotency-Key": f"bench-{tag}-{n}"},
        )

    response = post()
    if response.status_code != 201:
        row.note = f"HTTP {response.status_code}: {response.content[:200]!r}"
        return row
    with CaptureQueriesContext(connection) as queries:
        post()
    row.queries = len(queries)
    row.db_ms = 1000 * sum(float(q["time"]) for q in queries)
    cpu: list = []
    ms, _ = timed(post, max(runs, INTAKE_POSTS), cpu)
    row.value = 2 * 1000 / ms
    row.note = (
        f"{ms:.1f} ms per intake in one process ({'API key' if key else 'staff session'}, "
        f"median of {max(runs, INTAKE_POSTS)}, half from known customers; queries include "
        "BEGIN/COMMIT)"
    )
    _note_cpu(row, cpu)
    return row


def _pad(text: str, width: int) -> str:
    """Left-justify to a terminal width (CJK characters take two columns)."""
    import unicodedata

    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def print_table(rows: list[Row], header: str) -> None:
    print(f"\n{header}")
    print(
        f"{'scenario':52s} {'target':24s} {'measured p50':>18s} {'queries':>7s} {'db ms':>7s}"
        "  result"
    )
    for row in rows:
        result = (
            "baseline" if row.baseline else {True: "pass", False: "FAIL", None: "-"}[row.passed]
        )
        target = row.target_text()
        queries = "" if row.queries is None else str(row.queries)
        db_ms = "" if row.db_ms is None else f"{row.db_ms:.1f}"
        print(
            f"{_pad(row.scenario[:52], 52)} {target:24s} {row.value_text():>18s} {queries:>7s} "
            f"{db_ms:>7s}  {result}  {row.note}"
        )


# What the sweep row resets before each of its runs (bench_sweep.make_due): 10,000 complaints'
# deadlines and schedules, their alerts, inbox and digest entries and timeline events.
CHURNED = (
    "complaints_complaint",
    "complaints_alertschedule",
    "complaints_deadlinealert",
    "complaints_notification",
    "complaints_digestentry",
    "complaints_complaintevent",  # 12,000 deleted a reset (27.5 M rows: a few seconds)
)


def vacuum_own_churn() -> None:
    """Vacuum what earlier runs of this suite rewrote. A run leaves 20,000-80,000 dead
    complaint rows behind (the sweep row's resets, which production never does), far below
    the 20 % at which stock autovacuum starts on a 5,000,000-row table: run after run they
    slowed the next run's lists (900,000 dead rows: the "3 filters" page 49 -> 131 ms)."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(CHURNED)}")
    print(f"vacuumed earlier runs' churn in {time.perf_counter() - began:.1f} s", flush=True)


def run_size(total: int, args) -> int:
    url = database_url(total)
    info = prepare(url, total)
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    began = time.perf_counter()
    call_command("migrate", verbosity=0)  # a reused database gets the newer migrations
    if time.perf_counter() - began > 5:
        print(f"migrations applied in {time.perf_counter() - began:.1f} s")
    vacuum_own_churn()
    if os.environ.get("BENCH_PG") == "tuned":
        apply_tuned(url)
        from django.db import connection

        connection.close()  # the per-database settings apply to new sessions
    pg = settings_report()
    load = os.getloadavg()
    # The flatness rows compare the same work at every size: as many complaints made due at
    # 100k as at 5 M (the 100k database has ~2,600 open complaints); the full run, 10,000.
    due = args.due or (FLAT_DUE if args.flat else max(1000, min(10_000, total // 100)))
    print(
        f"\n{total:,} complaints, {info.get('events', 0):,} timeline events, "
        f"{info.get('customers', 0):,} customers; load average {load[0]:.2f} on "
        f"{os.cpu_count()} CPUs; PostgreSQL {'STOCK' if pg['stock'] else 'non-stock'} "
        f"settings {pg['settings']}",
        flush=True,
    )
    rows = measure(total, info, args.runs, args.flat, due)
    header = (
        f"{total:,} complaints, median of {args.runs} after warm-up, load average "
        f"{load[0]:.2f} -> {os.getloadavg()[0]:.2f}, PostgreSQL "
        f"{'stock' if pg['stock'] else 'non-stock'} settings"
    )
    print_table(rows, header)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "size": total,
        "database": urlsplit(url).path.lstrip("/"),
        "data": info,
        "runs": args.runs,
        "load_average": [round(x, 2) for x in load],
        "postgresql": pg,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": [{**r.as_dict(), **r.extra} for r in rows],
    }
    name = f"suite-{size_label(total)}{'-flat' if args.flat else ''}.json"
    (out / name).write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"written to var/bench/{name}")
    return 0 if all(r.passed is not False for r in rows) else 1


def run_sizes(sizes: list[int], args) -> int:
    """One process per size (each its own database), then the flatness table."""
    status = 0
    for size in sizes:
        command = [
            sys.executable,
            __file__,
            "--size",
            str(size),
            "--runs",
            str(args.runs),
            "--flat",
        ]
        env = {k: v for k, v in os.environ.items() if k not in ("BENCH_SIZES",)}
        status |= subprocess.call(command, env=env)
    results = {}
    for size in sizes:
        path = ROOT / "var" / "bench" / f"suite-{size_label(size)}-flat.json"
        results[size] = {r["scenario"]: r for r in json.loads(path.read_text())["rows"]}
    print(
        "\nCost against history (each must stay within +/- 30 % of the smallest size "
        "with the same work)"
    )
    print(f"{'scenario':52s} " + " ".join(f"{size_label(s):>14s}" for s in sizes) + "  flat")
    flat_ok = True
    remarks = []
    for scenario, values, unit, flat, remark in flatness(sizes, results):
        flat_ok &= flat
        cells = " ".join(f"{'-' if v is None else f'{v:,.1f} {unit[:6]}':>14s}" for v in values)
        print(
            f"{_pad(scenario[:52], 52)} {cells}  {'yes' if flat else 'NO'}{'*' if remark else ''}"
        )
        if remark:
            remarks.append(remark)
    for remark in remarks:
        print(f"* {remark}")
    return status | (0 if flat_ok else 1)


def flatness(sizes: list[int], results: dict[int, dict[str, dict]]) -> list[tuple]:
    """(scenario, values by size, unit, flat, remark) of each scenario of the smallest size:
    flat when every figure is within 30 % of the first one compared (a size without a figure
    is never flat). An admin list that shows fewer rows at some size (a term with few matches
    in a small history) is not the same work there when the largest size fills its page
    (`page_size` rows) and the smaller one does not: the sizes with a shorter page are left
    out of the comparison (all figures are printed, and the remark names the sizes compared);
    at least two must remain. A few rows more or less on a short page (a phone number's
    complaints) are compared as they are."""
    verdicts = []
    for scenario, first in results[sizes[0]].items():
        values = [results[s].get(scenario, {}).get("value") for s in sizes]
        shown = [results[s].get(scenario, {}).get("rows_shown") for s in sizes]
        compared = list(zip(sizes, values, strict=True))
        remark = ""
        full = shown[-1] or 0
        page_size = results[sizes[-1]].get(scenario, {}).get("page_size")
        if page_size and full >= page_size and any(n is not None and n < full for n in shown):
            # Only a known shorter page is left out; a size that failed stays (and fails).
            compared = [
                (s, v)
                for s, v, n in zip(sizes, values, shown, strict=True)
                if n is None or n >= full
            ]
            remark = (
                f"{scenario}: rows on the page "
                + " / ".join(f"{n} ({size_label(s)})" for s, n in zip(sizes, shown, strict=True))
                + "; compared: "
                + ", ".join(size_label(s) for s, _ in compared)
            )
        base = compared[0][1]
        flat = (len(compared) > 1 or not remark) and all(
            v is not None and base and abs(v - base) / base <= 0.3 for _, v in compared
        )
        verdicts.append((scenario, values, first["unit"], flat, remark))
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "7")))
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--due", type=int, default=None, help="complaints made due (sweep)")
    parser.add_argument("--flat", action="store_true", help="only the history-flatness rows")
    args = parser.parse_args()
    if args.runs < 5:
        raise SystemExit("bench_suite: --runs must be at least 5 (the median of >= 5)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("REDRESS_API_RATE", "1000000/min")
    if args.size is None and os.environ.get("BENCH_SIZES"):
        sizes = [int(s) for s in os.environ["BENCH_SIZES"].split(",") if s.strip()]
        return run_sizes(sizes, args)
    total = args.size or int(os.environ.get("BENCH_SIZE", "5000000"))
    return run_size(total, args)


if __name__ == "__main__":
    sys.exit(main())
