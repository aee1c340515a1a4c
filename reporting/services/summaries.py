"""Keeping the dashboard's summary tables current.

Design: DailySummary holds, per local day received and cell of (department, category,
channel, severity, root cause), the sums of the measures defined in reporting.kpis; rollup
rows (levels) keep one dimension each, so the unfiltered dashboard reads a few rows per day.
Everything is computed set-based in the database (INSERT ... SELECT ... GROUP BY) from the
complaint rows; no complaint is ever loaded into Python.

- `refresh()` (Celery beat, every minute) recomputes only the days touched since the last
  run: days of complaints whose `updated_at` moved (every service bumps it), of open
  complaints whose acknowledgement or resolution deadline has just passed (that changes "on
  time" without an edit), and the day a complaint was counted on before (a corrected time
  received). It rereads a few minutes before its watermark, so a transaction that committed
  late is not missed; recomputing a day twice gives the same rows.
- `rebuild()` recomputes everything month by month, each month in its own short
  transaction (progress in SummaryState), e.g. after a definition changed.

Refresh and rebuild batches take SummaryState's row lock, so they never interleave on a day.
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import repeat

from django.db import connection, transaction
from django.db.models import F, Max, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from complaints.models import Complaint

from ..kpis import (
    HISTOGRAMS,
    MEASURES,
    OPEN,
    bucket_index,
    csat_state,
    grouping_bits,
    local_tz,
    measures,
)
from ..models import (
    LEVELS,
    CountedComplaint,
    DailySummary,
    SummaryState,
)

OVERLAP = timedelta(minutes=5)
DAYS_PER_STATEMENT = 62

BUCKETED = {
    name: (field_name, i)
    for field_name, buckets in HISTOGRAMS.items()
    for i, name in enumerate(buckets)
}
# Measures summed from one column of _measures_sql shared with another (kpis.csat_state).
DERIVED = {"csat_measured": ("c_csat", ">= 1"), "csat_satisfied": ("c_csat", "= 2")}
SUMMARY = DailySummary._meta.db_table
COUNTED = CountedComplaint._meta.db_table
CELL_SOURCE = ("department_id", "category_id", "channel", "severity", "root_cause_category_id")
CELL_TARGET = ("department_id", "category_id", "channel", "severity", "root_cause_id")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=local_tz())


def _execute(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _measures_sql(complaints, now: datetime, names, *, with_id: bool = False) -> tuple[str, tuple]:
    """One row per complaint: its local day, its dimensions, the measures `names` (the
    expressions of reporting.kpis, evaluated once per complaint) except the histogram ones,
    and for those the complaint's bucket (kpis.bucket_index) as `b_<duration field>`; with
    its id first when `with_id`."""
    expressions = measures(now)
    columns = {f"m_{n}": expressions[n] for n in names if n not in BUCKETED and n not in DERIVED}
    if set(DERIVED) & set(names):
        columns["c_csat"] = csat_state()
    for field_name, buckets in HISTOGRAMS.items():
        if set(buckets) & set(names):
            columns[f"b_{field_name}"] = bucket_index(field_name)
    rows = (
        complaints.annotate(day=TruncDate("received_at", tzinfo=local_tz()), **columns)
        .values(*(["id"] if with_id else []), "day", *CELL_SOURCE, *columns)
        .order_by()
    )
    return rows.query.sql_with_params()


def _count_where(condition: str) -> str:
    if connection.vendor == "postgresql":
        return f"COUNT(*) FILTER (WHERE {condition})"
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _sum(name: str) -> str:
    """The aggregate of measure `name` over the rows of _measures_sql."""
    if name in DERIVED:
        column, test = DERIVED[name]
        return _count_where(f"sub.{_q(column)} {test}")
    if name not in BUCKETED:
        return f"SUM(sub.{_q('m_' + name)})"
    field_name, i = BUCKETED[name]
    return _count_where(f"sub.{_q('b_' + field_name)} = {i}")


SOURCE = dict(zip(CELL_TARGET, CELL_SOURCE, strict=True))


def _grouping_sets_insert(source: str, levels, names, table: str = SUMMARY) -> str:
    """PostgreSQL: INSERT of the summary rows of `levels` (all keeping the measures `names`)
    summed from `source` (rows of _measures_sql) in one pass (GROUPING SETS)."""
    columns = ", ".join(_q(c) for c in ("day", "level", *CELL_TARGET, *names))
    sums = ", ".join(_sum(n) for n in names)
    # GROUPING() takes only the dimensions some level of this pass keeps.
    grouped = [d for d in CELL_TARGET if any(d in LEVELS[lv][0] for lv in levels)]
    keys = ", ".join(f"sub.{_q(SOURCE[d])}" if d in grouped else "NULL" for d in CELL_TARGET)
    level = (
        f"CASE GROUPING({', '.join(f'sub.{_q(SOURCE[d])}' for d in grouped)}) "
        + " ".join(f"WHEN {grouping_bits(LEVELS[lv][0], grouped)} THEN {int(lv)}" for lv in levels)
        + " END"
    )
    sets = ", ".join(
        "("
        + ", ".join([f"sub.{_q('day')}", *(f"sub.{_q(SOURCE[d])}" for d in LEVELS[lv][0])])
        + ")"
        for lv in levels
    )
    # Quoted identifiers, integers and the ORM's own SQL only; values are parameters.
    return (
        f"INSERT INTO {_q(table)} ({columns}) SELECT sub.{_q('day')}, {level}, "  # noqa: S608
        f"{keys}, {sums} FROM {source} sub GROUP BY GROUPING SETS ({sets})"
    )


def _insert_from_complaints(complaints, now: datetime, levels, names) -> None:
    """The summary rows of `levels` (all keeping the measures `names`) from the complaints,
    one statement per level (databases without GROUPING SETS)."""
    sql, params = _measures_sql(complaints, now, names)
    columns = ", ".join(_q(c) for c in ("day", "level", *CELL_TARGET, *names))
    sums = ", ".join(_sum(n) for n in names)
    for lv in levels:
        kept = LEVELS[lv][0]
        values = ", ".join(f"sub.{_q(SOURCE[d])}" if d in kept else "NULL" for d in CELL_TARGET)
        group = "".join(f", sub.{_q(SOURCE[d])}" for d in kept)
        _execute(
            f"INSERT INTO {_q(SUMMARY)} ({columns}) SELECT sub.{_q('day')}, {int(lv)}, "  # noqa: S608
            f"{values}, {sums} FROM ({sql}) sub GROUP BY sub.{_q('day')}{group}",
            params,
        )


def _passes() -> list[tuple[tuple, list]]:
    """[(measures, levels)]: the levels read from the complaints, by the measures they keep,
    every measure first."""
    passes: dict = {MEASURES: []}
    for lv, (_dims, names, source) in LEVELS.items():
        if source is None:
            passes.setdefault(names, []).append(lv)
    return list(passes.items())


def _insert_all_pg(complaints, now: datetime, table: str = SUMMARY) -> None:
    """PostgreSQL: every level and the counted days, in ONE statement that reads the
    complaints once: their measures (subqueries included) are evaluated once per complaint
    into a materialized CTE, which one GROUPING SETS pass per set of measures kept (every
    measure; every one but the histograms, the pairs; the narrow ones, the root causes)
    and the counted-day upsert then read; the levels summed from another level (the day
    level) add up the rows the full pass returns, not the complaints again."""
    sql, params = _measures_sql(complaints, now, MEASURES, with_id=True)
    (_every, full), *others = _passes()
    columns = ", ".join(_q(c) for c in ("day", "level", *CELL_TARGET, *MEASURES))
    summed = []
    for i, (level, (dimensions, names, source)) in enumerate(LEVELS.items()):
        if source is None:
            continue
        assert names == MEASURES and source in full, level  # summed from the full pass's rows
        values = ", ".join(_q(d) if d in dimensions else "NULL" for d in CELL_TARGET)
        keep = "".join(f", {_q(d)}" for d in dimensions)
        sums = ", ".join(f"SUM({_q(m)})" for m in MEASURES)
        summed.append(
            f"summed_{i} AS (INSERT INTO {_q(table)} ({columns}) "  # noqa: S608
            f"SELECT {_q('day')}, {int(level)}, {values}, {sums} FROM full_levels "
            f"WHERE {_q('level')} = {int(source)} GROUP BY {_q('day')}{keep})"
        )
    counted = (
        f"INSERT INTO {_q(COUNTED)} ({_q('complaint_id')}, {_q('day')}) "  # noqa: S608
        f"SELECT sub.{_q('id')}, sub.{_q('day')} FROM sub LEFT JOIN {_q(COUNTED)} c "
        f"ON c.{_q('complaint_id')} = sub.{_q('id')} "
        f"WHERE c.{_q('day')} IS DISTINCT FROM sub.{_q('day')} "
        # Only complaints counted on another day before (or never) are written at all: no
        # row lock, no new row version for the others.
        f"ON CONFLICT ({_q('complaint_id')}) DO UPDATE SET {_q('day')} = excluded.{_q('day')}"
    )
    returning = f" RETURNING {columns}" if summed else ""
    ctes = [
        f"sub AS MATERIALIZED ({sql})",
        f"full_levels AS ({_grouping_sets_insert('sub', full, MEASURES, table)}{returning})",
        *summed,
        *(
            f"pass_{i} AS ({_grouping_sets_insert('sub', levels, names, table)})"
            for i, (names, levels) in enumerate(others)
        ),
    ]
    _execute(f"WITH {', '.join(ctes)} {counted}", params)


def _insert_summed_levels(first: date, last: date) -> None:
    """The levels summed from another level, for the days first..last."""
    for level, (dimensions, names, source) in LEVELS.items():
        if source is None:
            continue
        keep = "".join(f", {_q(d)}" for d in dimensions)
        sums = ", ".join(f"SUM({_q(m)})" for m in names)
        # Quoted identifiers and integers only; the days are parameters.
        sql = (
            f"INSERT INTO {_q(SUMMARY)} ({_q('day')}, {_q('level')}{keep}, "  # noqa: S608
            f"{', '.join(_q(m) for m in names)}) "
            f"SELECT {_q('day')}, {int(level)}{keep}, {sums} FROM {_q(SUMMARY)} "
            f"WHERE {_q('level')} = {int(source)} AND {_q('day')} BETWEEN %s AND %s "
            f"GROUP BY {_q('day')}{keep}"
        )
        _execute(sql, [first, last])


def _insert_levels(complaints, now: datetime, first: date, last: date) -> None:
    """Every level for the days first..last, and the counted days: those read from the
    complaints first (PostgreSQL: one statement; elsewhere one per level), then those summed
    from another level."""
    if connection.vendor == "postgresql":
        _insert_all_pg(complaints, now)
        return
    for names, levels in _passes():
        _insert_from_complaints(complaints, now, levels, names)
    # A complaint that moved here from another day: its row is updated (upsert).
    _insert_counted(complaints)
    _insert_summed_levels(first, last)


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as (first, last) runs of consecutive days."""
    runs = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _tune() -> None:
    """PostgreSQL, for the caller's transaction only: memory for the grouping (hashed in one
    pass instead of sorted on disk), and the index on the time received for the days' complaints
    (the planner sometimes prefers reading the whole table for a month of them)."""
    if connection.vendor == "postgresql":
        _execute("SET LOCAL work_mem = '256MB'")
        _execute("SET LOCAL enable_seqscan = off")


def recompute_days(days, *, now: datetime) -> None:
    """Replace the summary rows (and the counted days) of these local days, inside the
    caller's transaction with the state row locked."""
    _tune()
    for first, last in _runs(sorted(set(days))):
        complaints = Complaint.objects.filter(
            received_at__gte=day_start(first), received_at__lt=day_start(last + timedelta(days=1))
        )
        DailySummary.objects.filter(level__in=list(LEVELS), day__gte=first, day__lte=last).delete()
        _insert_levels(complaints, now, first, last)


def _insert_counted(complaints) -> None:
    rows = complaints.annotate(d=TruncDate("received_at", tzinfo=local_tz())).values_list("pk", "d")
    sql, params = rows.order_by().query.sql_with_params()
    # An upsert that writes only what changed: most complaints are counted on the same day
    # already (a rebuild after the first one), some moved.
    _execute(
        f"INSERT INTO {_q(COUNTED)} ({_q('complaint_id')}, {_q('day')}) {sql} "
        f"ON CONFLICT ({_q('complaint_id')}) DO UPDATE SET {_q('day')} = excluded.{_q('day')} "
        f"WHERE {_q(COUNTED)}.{_q('day')} <> excluded.{_q('day')}",
        params,
    )


def _lock_state(*, wait: bool) -> SummaryState | None:
    SummaryState.objects.get_or_create(pk=1)
    rows = SummaryState.objects.filter(pk=1)
    if not wait and connection.features.has_select_for_update_skip_locked:
        return rows.select_for_update(skip_locked=True).first()
    return rows.select_for_update().first()


@dataclass
class RefreshResult:
    days: int = 0
    seconds: float = 0.0
    skipped: str = ""


def changed_since(since: datetime, now: datetime):
    """Complaints whose figures may have changed since `since`."""
    # Each arm has an index, so the database ORs index scans instead of reading the table:
    # due_at (the earliest pending deadline: an unmet acknowledgement deadline is due_at when
    # it passes) has the partial index on open complaints; the resolution deadline, which can
    # pass while an earlier one is already overdue, has reporting_open_resolve_due_idx
    # (migration reporting 0004).
    deadline_passed = (OPEN & Q(due_at__gte=since, due_at__lt=now)) | (
        OPEN & Q(resolved_at__isnull=True, resolve_due_at__gte=since, resolve_due_at__lt=now)
    )
    from followups.models import RepeatLink

    # Linking a repeat does not touch the complaint: its links are looked up too (first, as
    # a list: a subquery among the arms would make the database read every complaint).
    linked = list(
        RepeatLink.objects.filter(created_at__gte=since).values_list("complaint_id", flat=True)
    )
    return Complaint.objects.filter(Q(updated_at__gte=since) | deadline_passed | Q(pk__in=linked))


def _changed_days(refreshed_at: datetime, now: datetime) -> set[date]:
    """The local days whose summary rows may be out of date (two small indexed queries)."""
    changed = changed_since(refreshed_at - OVERLAP, now)
    days = set(
        changed.annotate(d=TruncDate("received_at", tzinfo=local_tz()))
        .values_list("d", flat=True)
        .order_by()
        .distinct()
    )
    days |= set(
        CountedComplaint.objects.filter(complaint_id__in=changed.values("pk"))
        .values_list("day", flat=True)
        .order_by()
        .distinct()
    )
    return days


def stale_days(now: datetime) -> set[date] | None:
    """Days changed since the last refresh (read only), or None when never built."""
    current = SummaryState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
    return None if current is None else _changed_days(current, now)


def refresh(*, now: datetime | None = None) -> RefreshResult:
    """Bring the summaries up to `now` by recomputing the days that changed."""
    now = now or timezone.now()
    started = time.perf_counter()
    with transaction.atomic(durable=True):
        state = _lock_state(wait=False)
        if state is None:
            return RefreshResult(skipped="busy")
        if state.refreshed_at is None:
            return RefreshResult(skipped="never built")
        days = _changed_days(state.refreshed_at, now)
        recompute_days(days, now=now)
        if days:
            state.version = uuid.uuid4()
        state.refreshed_at = now
        state.refreshed_days = len(days)
        state.refresh_seconds = time.perf_counter() - started
        state.save()
    return RefreshResult(days=len(days), seconds=state.refresh_seconds)


def _months(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


REBUILT = SUMMARY + "_rebuild"


def _month_days(month: date) -> list[date]:
    next_month = (month + timedelta(days=32)).replace(day=1)
    return [month + timedelta(days=d) for d in range((next_month - month).days)]


# Connections that write the months of a PostgreSQL rebuild side by side.
REBUILD_WORKERS = max(1, min(2, os.cpu_count() or 1))
REBUILD_LOCK = 0x7265706F  # pg_advisory_lock key: one rebuild at a time


def _build_month(month: date, now: datetime) -> date:
    """One month's rows into the new table, in its own transaction."""
    days = _month_days(month)
    with transaction.atomic(durable=True):
        _tune()
        complaints = Complaint.objects.filter(
            received_at__gte=day_start(days[0]),
            received_at__lt=day_start(days[-1] + timedelta(days=1)),
        )
        _insert_all_pg(complaints, now, REBUILT)
    # The progress after the month's commit, on its own: a refresh locks the state row and
    # then writes counted complaints; writing them here first and then the state row
    # deadlocked with it.
    SummaryState.objects.filter(pk=1).update(rebuild_months_done=F("rebuild_months_done") + 1)
    return month


def _build_month_in_thread(month: date, now: datetime) -> date:
    try:
        return _build_month(month, now)
    finally:
        connection.close()  # this thread's own connection


def _rebuild_pg(months: list[date], now: datetime, on_progress) -> None:
    """PostgreSQL: the rows are written into a new table without indexes (appending rows is
    several times cheaper than keeping four indexes of a large table current, and nothing
    is deleted), one month per transaction; its indexes are then built in one sorted pass
    each, and it replaces the summary table in one short transaction. The dashboard reads
    the previous summaries until then (never a half-rebuilt mix)."""
    with transaction.atomic(durable=True):
        state = _lock_state(wait=True)
        state.rebuild_started_at = now
        state.rebuild_months_done = 0
        state.rebuild_months_total = len(months)
        state.save()
        # A rebuild that stopped half-way left its table: started again from scratch.
        _execute(f"DROP TABLE IF EXISTS {_q(REBUILT)}")
        _execute(
            f"CREATE TABLE {_q(REBUILT)} (LIKE {_q(SUMMARY)} INCLUDING DEFAULTS "
            "INCLUDING IDENTITY INCLUDING CONSTRAINTS)"
        )
    workers = 1 if connection.in_atomic_block else REBUILD_WORKERS
    if workers > 1 and len(months) > 1:
        # Months are independent here (new rows of their own, counted days of their own
        # complaints): two connections write them side by side.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done, _month in enumerate(pool.map(_build_month_in_thread, months, repeat(now)), 1):
                if on_progress:
                    on_progress(done, len(months))
    else:
        for done, month in enumerate(months, start=1):
            _build_month(month, now)
            if on_progress:
                on_progress(done, len(months))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef, c.conname IS NOT NULL FROM pg_indexes i "
            "LEFT JOIN pg_constraint c ON c.conname = i.indexname AND c.contype = 'p' "
            "WHERE i.schemaname = current_schema() AND i.tablename = %s",
            [SUMMARY],
        )
        indexes = cursor.fetchall()
    renames = []
    with transaction.atomic(durable=True):
        _execute("SET LOCAL maintenance_work_mem = '256MB'")
        for i, (name, definition, primary) in enumerate(indexes):
            temporary = f"{REBUILT}_{i}"
            table_at = definition.index(" ON ")
            rest = definition[table_at:].replace(f" {_q(SUMMARY)} ", f" {_q(REBUILT)} ", 1)
            rest = rest.replace(f" {SUMMARY} ", f" {_q(REBUILT)} ", 1)
            rest = rest.replace(f".{SUMMARY} ", f".{_q(REBUILT)} ", 1)
            head = definition[:table_at].rsplit(" ", 1)[0]  # CREATE [UNIQUE] INDEX
            _execute(f"{head} {_q(temporary)}{rest}")
            if primary:
                _execute(
                    f"ALTER TABLE {_q(REBUILT)} ADD CONSTRAINT {_q(temporary)} "
                    f"PRIMARY KEY USING INDEX {_q(temporary)}"
                )
            renames.append((temporary, name, primary))
    with transaction.atomic(durable=True):
        state = _lock_state(wait=True)
        _execute(f"LOCK TABLE {_q(SUMMARY)} IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [SUMMARY])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [REBUILT])
            new_sequence = cursor.fetchone()[0]
        _execute(f"DROP TABLE {_q(SUMMARY)}")
        if sequence and new_sequence:  # the identity's sequence keeps its usual name
            _execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {_q(sequence.split('.')[-1])}")
        _execute(f"ALTER TABLE {_q(REBUILT)} RENAME TO {_q(SUMMARY)}")
        for temporary, name, primary in renames:
            if primary:
                _execute(
                    f"ALTER TABLE {_q(SUMMARY)} RENAME CONSTRAINT {_q(temporary)} TO {_q(name)}"
                )
            else:
                _execute(f"ALTER INDEX {_q(temporary)} RENAME TO {_q(name)}")
        _execute(f"ANALYZE {_q(SUMMARY)}")
        state.version = uuid.uuid4()
        state.save(update_fields=["version"])


def rebuild(*, now: datetime | None = None, on_progress=None) -> float:
    """Recompute every summary row, one month per transaction; returns the seconds taken."""
    now = now or timezone.now()
    started = time.perf_counter()
    span = Complaint.objects.aggregate(first=Min("received_at"), last=Max("received_at"))
    tz = local_tz()
    months = []
    if span["first"] is not None:
        months = _months(span["first"].astimezone(tz).date(), span["last"].astimezone(tz).date())
    if connection.vendor == "postgresql":
        # A second rebuild waits for the first (both write the same new table).
        _execute("SELECT pg_advisory_lock(%s)", [REBUILD_LOCK])
        try:
            _rebuild_pg(months, now, on_progress)
            return _rebuilt(now, started)
        finally:
            _execute("SELECT pg_advisory_unlock(%s)", [REBUILD_LOCK])
    with transaction.atomic(durable=True):
        state = _lock_state(wait=True)
        state.rebuild_started_at = now
        state.rebuild_months_done = 0
        state.rebuild_months_total = len(months)
        state.save()
        # Days outside the complaints' span (all of them when there are none) hold nothing.
        stale = DailySummary.objects.all()
        if months:
            end = (months[-1] + timedelta(days=32)).replace(day=1)
            stale = stale.filter(Q(day__lt=months[0]) | Q(day__gte=end))
        stale.delete()
    for done, month in enumerate(months, start=1):
        with transaction.atomic(durable=True):
            state = _lock_state(wait=True)
            next_month = (month + timedelta(days=32)).replace(day=1)
            recompute_days(
                [month + timedelta(days=d) for d in range((next_month - month).days)], now=now
            )
            state.rebuild_months_done = done
            state.version = uuid.uuid4()
            state.save(update_fields=["rebuild_months_done", "version"])
        if on_progress:
            on_progress(done, len(months))
    return _rebuilt(now, started)


def _rebuilt(now: datetime, started: float) -> float:
    seconds = time.perf_counter() - started
    with transaction.atomic(durable=True):
        state = _lock_state(wait=True)
        # Changes made while the months were rebuilt are picked up by the next refresh (the
        # watermark may move back: recomputing a day again is harmless).
        state.refreshed_at = now
        state.version = uuid.uuid4()
        state.rebuilt_at = timezone.now()
        state.rebuild_seconds = seconds
        state.rebuild_started_at = None
        state.save()
    return seconds


def state() -> SummaryState:
    return SummaryState.objects.get_or_create(pk=1)[0]
