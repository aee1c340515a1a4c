"""Read side of reporting: the dashboard's widgets, the KPIs of the API and the monthly report.

Every widget is one aggregate query (or fewer) run by the database, from one of two sources
that give the same numbers (reporting.kpis defines the measures for both):

- `SummarySource` adds up DailySummary rows: the rollup level that keeps exactly the
  dimensions a widget groups or filters by (a few rows per day), else the full cells;
- `LiveSource` aggregates the complaints themselves (always current, exact percentiles).

Definitions of the figures: see reporting.kpis.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cached_property

from django.contrib.postgres.fields import ArrayField
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    F,
    FloatField,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from complaints.models import Complaint, pick_name

from . import kpis
from .kpis import FRT_BUCKETS, HOUR_EDGES, MEASURES, TTR_BUCKETS, local_tz
from .models import LEVELS, DailySummary

DEFAULT_DAYS = 90
# Live percentiles are exact: the histogram measures are only summed from the summaries.
HISTOGRAM_MEASURES = (*FRT_BUCKETS, *TTR_BUCKETS)
LIVE_MEASURES = tuple(m for m in MEASURES if m not in HISTOGRAM_MEASURES)
# Histogram measure -> (duration field, bucket number); CSAT measure -> test of kpis.csat_state
BUCKETED = {
    name: (field_name, i)
    for field_name, buckets in kpis.HISTOGRAMS.items()
    for i, name in enumerate(buckets)
}
CSAT_STATES = {"csat_measured": ">= 1", "csat_satisfied": "= 2"}
# Dimension name in widgets -> (summary column, complaint column)
DIMENSIONS = {
    "department_id": ("department_id", "department_id"),
    "category_id": ("category_id", "category_id"),
    "channel": ("channel", "channel"),
    "severity": ("severity", "severity"),
    "root_cause_id": ("root_cause_id", "root_cause_category_id"),
}
# The dimensions summary_open_idx is keyed by (after the level).
OPEN_INDEX_DIMENSIONS = ("department_id", "category_id", "channel", "severity")
# Open backlog age buckets: (key, oldest age in days, youngest age in days)
AGE_BUCKETS = (
    ("0-2", 2, 0),
    ("3-7", 7, 3),
    ("8-30", 30, 8),
    ("31-90", 90, 31),
    ("90+", None, 91),
)


def today() -> date:
    return timezone.localtime(timezone.now(), local_tz()).date()


@dataclass(frozen=True)
class Filters:
    """What the dashboard shows: complaints received from `date_from` to `date_to` (local
    days, both included) narrowed by the dimensions set. `departments` is the reader's
    scope: None sees every department, else only these (department heads)."""

    date_from: date
    date_to: date
    department: int | None = None
    category: int | None = None
    channel: str | None = None
    severity: int | None = None
    departments: tuple[int, ...] | None = None

    @classmethod
    def default(cls, **kwargs) -> Filters:
        end = today()
        return cls(date_from=end - timedelta(days=DEFAULT_DAYS - 1), date_to=end, **kwargs)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before."""
        return replace(
            self,
            date_from=self.date_from - timedelta(days=self.days),
            date_to=self.date_from - timedelta(days=1),
        )

    def dimension_filters(self) -> dict:
        """{dimension: value or list of values} for every dimension narrowed."""
        result = {}
        if self.department is not None:
            result["department_id"] = self.department
        elif self.departments is not None:
            result["department_id"] = list(self.departments)
        if self.category is not None:
            result["category_id"] = self.category
        if self.channel:
            result["channel"] = self.channel
        if self.severity is not None:
            result["severity"] = self.severity
        return result


def _lookup(column: str, value) -> dict:
    return {f"{column}__in" if isinstance(value, list) else column: value}


def choose_level(dimensions: set[str], names) -> int | None:
    """The summary level that keeps exactly these dimensions and these measures, or None
    when no level does (three dimensions or more: read from the complaints instead)."""
    for level, (kept, measures, _source) in LEVELS.items():
        if set(kept) == dimensions and set(names) <= set(measures):
            return level
    return None


def level_for(filters: Filters, group, names) -> int | None:
    dimensions = (set(group) - {"month", "age", "period"}) | set(filters.dimension_filters())
    return choose_level(dimensions, names)


def split_names(filters: Filters, group, names) -> tuple[tuple, tuple]:
    """(from the summaries, from the complaints): every measure from the level that keeps
    the widget's dimensions; where that level keeps every measure but the duration
    histograms (a pair of filters), the histograms from the complaints (their covering
    index: two bucket numbers per complaint, no subquery); else all from the complaints."""
    names = tuple(names)
    if level_for(filters, group, names) is not None:
        return names, ()
    summed = tuple(n for n in names if n not in HISTOGRAM_MEASURES)
    if summed and summed != names and level_for(filters, group, summed) is not None:
        return summed, tuple(n for n in names if n in HISTOGRAM_MEASURES)
    return (), names


def _age_case(day_field: str, *, live: bool) -> Case:
    """The open-backlog age bucket of a complaint (whole days since the local day received)."""
    now_day = today()
    whens = []
    for key, oldest, _youngest in AGE_BUCKETS[:-1]:
        oldest_day = now_day - timedelta(days=oldest)
        bound = _day_start(oldest_day) if live else oldest_day
        whens.append(When(Q(**{f"{day_field}__gte": bound}), then=Value(key)))
    return Case(*whens, default=Value(AGE_BUCKETS[-1][0]), output_field=CharField())


def _period_case(current: Q) -> Case:
    return Case(When(current, then=Value(1)), default=Value(0), output_field=IntegerField())


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=local_tz())


class SummarySource:
    name = "summary"

    def __init__(self, now: datetime | None = None, *, built: bool | None = None):
        self.now = now or timezone.now()
        self._live = None
        if built is not None:
            self.built = built

    @property
    def live(self) -> LiveSource:
        """The complaints, for what no summary level keeps (one instance: its reads made
        ahead by prefetch() are kept)."""
        if self._live is None:
            self._live = LiveSource(self.now)
        return self._live

    @cached_property
    def built(self) -> bool:
        """Whether the summaries are built: a migration that changes what a level keeps marks
        them as never built, and their rows are incomplete until the refresh task rebuilds
        them; until then everything is read from the complaints."""
        from .models import SummaryState

        return SummaryState.objects.filter(pk=1, refreshed_at__isnull=False).exists()

    def split(self, filters: Filters, group, names) -> tuple[tuple, tuple]:
        """(measures from the summaries, measures from the complaints) of a widget."""
        if not self.built:
            return (), tuple(names)
        return split_names(filters, group, names)

    def prefetch(self, filters: Filters, specs) -> None:
        """Read ahead, in one query, what no summary level keeps of the widgets of `specs`
        ((group, names) over the filters' days)."""
        specs = [(g, self.split(filters, g, n)[1]) for g, n in specs]
        specs = [(g, n) for g, n in specs if n]
        if len(specs) > 1:  # (the complaints' measure expressions are only built if needed)
            self.live.prefetch(filters, specs)

    def rows(
        self, filters: Filters, group=(), names=MEASURES, *, dated=True, skip_days=()
    ) -> list[dict]:
        """Sums of `names` per value of `group` ("month", "age", "period" or a dimension);
        "period" adds the previous period: 1 for the filters' days, 0 for the days before.
        What no summary level keeps is read from the complaints (all of it when they are
        not built, or for three dimensions or more; the histograms with a pair)."""
        summed, counted = self.split(filters, group, names)
        if not summed:
            return self.live.rows(filters, group, names, dated=dated)
        level = level_for(filters, group, summed)
        sql, params = _summary_sql(level, filters, group, summed, dated=dated, skip_days=skip_days)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        if not group and not found:
            found = [(None,) * len(summed)]
        keys = len(group)
        rows = []
        for raw in found:
            row = dict(zip(group, raw[:keys], strict=True))
            row.update((n, int(v) if v else 0) for n, v in zip(summed, raw[keys:], strict=True))
            if "month" in row and not isinstance(row["month"], date):
                row["month"] = date.fromisoformat(str(row["month"])[:10])  # SQLite: text
            rows.append(row)
        if counted:
            rows = _join(rows, self.live.rows(filters, group, counted, dated=dated), group, names)
        return rows


def _join(rows, others, group, names) -> list[dict]:
    """Rows of some measures and rows of the others, joined on the group's values (a
    missing side counts 0)."""
    joined: dict = {}
    for row in (*rows, *others):
        key = tuple(row[g] for g in group)
        joined.setdefault(key, {**dict(zip(group, key, strict=True)), **dict.fromkeys(names, 0)})
        joined[key].update((n, v) for n, v in row.items() if n in names)
    return list(joined.values())


def _summary_sql(level: int, filters: Filters, group, names, *, dated, skip_days) -> tuple:
    """The summary rows' sums, written out (the ORM took longer to build each of these
    queries than the database to run it): SELECT the group's columns and SUM(measure) FROM
    the level's rows in the days, narrowed by the filters, GROUP BY the group."""
    q = connection.ops.quote_name
    day = connection.ops.adapt_datefield_value
    columns, params = [], []
    for g in group:
        if g in DIMENSIONS:
            columns.append(q(DIMENSIONS[g][0]))
        elif g == "month":
            columns.append(
                f"CAST(date_trunc('month', {q('day')}) AS date)"
                if connection.vendor == "postgresql"
                else f"date({q('day')}, 'start of month')"
            )
        elif g == "age":
            whens = []
            for key, oldest, _youngest in AGE_BUCKETS[:-1]:
                whens.append(f"WHEN {q('day')} >= %s THEN %s")
                params += [day(today() - timedelta(days=oldest)), key]
            params.append(AGE_BUCKETS[-1][0])
            columns.append(f"CASE {' '.join(whens)} ELSE %s END")
        elif g == "period":
            columns.append(f"CASE WHEN {q('day')} >= %s THEN 1 ELSE 0 END")
            params.append(day(filters.date_from))
        else:
            raise ValueError(g)
    where = [f"{q('level')} = %s"]
    params.append(int(level))
    if dated:
        start = filters.previous().date_from if "period" in group else filters.date_from
        where.append(f"{q('day')} >= %s AND {q('day')} <= %s")
        params += [day(start), day(filters.date_to)]
    if skip_days:
        where.append(f"{q('day')} NOT IN ({', '.join(['%s'] * len(skip_days))})")
        params += [day(d) for d in sorted(skip_days)]
    if set(names) <= {"open", "overdue"}:
        # Only rows with open complaints count (overdue ones are open): summary_open_idx,
        # whose key the level's empty dimensions complete.
        where.append(f"{q('open')} > 0")
        kept = LEVELS[level][0]
        where += [f"{q(d)} IS NULL" for d in OPEN_INDEX_DIMENSIONS if d not in kept]
    for dimension, value in filters.dimension_filters().items():
        column = q(DIMENSIONS[dimension][0])
        if not isinstance(value, list):
            where.append(f"{column} = %s")
            params.append(value)
        elif value:
            where.append(f"{column} IN ({', '.join(['%s'] * len(value))})")
            params += value
        else:
            where.append("1 = 0")  # no department in scope: nothing
    sums = ", ".join(f"SUM({q(n)})" for n in names)
    select = ", ".join([*columns, sums])
    table = q(DailySummary._meta.db_table)
    # Quoted identifiers and fixed SQL only; values are parameters.
    sql = f"SELECT {select} FROM {table} WHERE {' AND '.join(where)}"  # noqa: S608
    if group:
        sql += " GROUP BY " + ", ".join(str(i) for i in range(1, len(group) + 1))
    return sql, params


class LiveSource:
    name = "live"

    def __init__(self, now: datetime | None = None):
        self.now = now or timezone.now()
        self.expressions = kpis.measures(self.now)
        self._ahead: dict = {}
        # Set by the live dashboard: a read ahead that counts the period's histograms from
        # the complaints (a pair of filters) also gives their exact percentiles, so that
        # durations() does not read the period again.
        self.exact_durations = False
        self._durations: dict = {}

    def prefetch(self, filters: Filters, specs, days=None) -> None:
        """PostgreSQL: the rows of several widgets ((group, names) over the filters' days, or
        only over `days` among them) in ONE query of the complaints (GROUPING SETS, each set
        with the period flag; the widgets with "period" over both periods, the others over
        the period shown, in two parts of a UNION ALL); rows() then answers them from
        memory. Widgets that need three dimensions or more, and the
        live dashboard's days changed since the last refresh, read the complaints: one pass
        over them instead of one per widget."""
        specs = [(tuple(g), tuple(n)) for g, n in specs]
        if connection.vendor != "postgresql" or len(specs) < 2:
            return
        days_key = None if days is None else frozenset(days)
        groups: dict = {}
        before: set = set()  # the groups read with the period before too
        for group, names in specs:
            plain = tuple(x for x in group if x != "period")
            groups.setdefault(plain, set()).update(names)
            if "period" in group:
                before.add(plain)
        names = [n for n in MEASURES if any(n in ns for ns in groups.values())]
        # As the summary rebuild: a histogram's buckets from one bucket number per complaint
        # and both CSAT measures from one state, not one expression per measure.
        expressions, sums, needs = {}, {}, {}
        q = connection.ops.quote_name
        for n in names:
            if n in BUCKETED:
                field_name, i = BUCKETED[n]
                column = f"b_{field_name}"
                expressions[column] = kpis.bucket_index(field_name)
                sums[n] = f"COUNT(*) FILTER (WHERE sub.{q(column)} = {int(i)})"
            elif n in CSAT_STATES:
                column = "c_csat"
                expressions[column] = kpis.csat_state()
                sums[n] = f"COUNT(*) FILTER (WHERE sub.{q(column)} {CSAT_STATES[n]})"
            else:
                column = f"m_{n}"
                expressions[column] = self.expressions[n]
                sums[n] = f"SUM(sub.{q(column)})"
            needs[n] = column
        columns = {"period": "period"}
        for group in groups:
            for g in group:
                if g == "month":
                    columns["month"] = "month"
                elif g in DIMENSIONS:
                    columns[g] = DIMENSIONS[g][1]
                else:
                    return  # ("age" reads other complaints: not read ahead)
        keys = list(dict.fromkeys(columns.values()))
        # Every grouping set computes every aggregate of its SELECT, and every measure is an
        # expression per complaint: the widgets with the period before (the cards, or with a
        # pair of filters only their histograms) over both periods with their own measures,
        # the breakdowns over the period shown with theirs. The complaints are read ONCE
        # (over both periods when some widget needs the period before) into a materialized
        # CTE, each measure evaluated once per complaint, which both parts read; a measure
        # only the breakdowns use is evaluated for the period shown only (NULL before: e.g.
        # with a pair of filters the league's CSAT look-ups are not made for the period
        # before, whose complaints only give their histogram buckets).
        parts = [
            [g for g in groups if g in before],
            [g for g in groups if g not in before],
        ]
        parts = [p for p in parts if p]
        part_names = [set().union(*(groups[g] for g in part)) for part in parts]
        with_previous = bool(before)
        current = Q(received_at__gte=_day_start(filters.date_from))
        annotations = {}
        for n in names:
            column = needs[n]
            if column in annotations:
                continue
            expression = expressions[column]
            if with_previous and not any(needs[m] == column for m in part_names[0]):
                expression = Case(
                    When(current, then=expression),
                    default=None,
                    output_field=expression.output_field,
                )
            annotations[column] = expression
        # Exact percentiles of the period shown, from the same rows (see exact_durations).
        exact = [
            f
            for f, buckets in kpis.HISTOGRAMS.items()
            if self.exact_durations and days is None and with_previous
            if set(buckets) & part_names[0]
        ]
        for f in exact:
            annotations[f"v_{f}"] = F(f)
        measure_columns = list(annotations)
        annotations["period"] = _period_case(current)
        if "month" in keys:
            annotations["month"] = TruncMonth("received_at", tzinfo=local_tz())
        since = filters.previous().date_from if with_previous else None
        sql, params = (
            self.complaints(filters, since=since, days=days)
            .annotate(**annotations)
            .values(*keys, *measure_columns)
            .query.sql_with_params()
        )
        params = list(params)
        prefix = f"WITH sub AS MATERIALIZED ({sql}) "
        selects, bits = [], {}
        for number, part in enumerate(parts):
            part_keys = [
                c
                for c in keys
                if c == "period" or any(c in (columns[g] for g in group) for group in part)
            ]
            for group in part:
                kept = {"period", *(columns[g] for g in group)}
                bits[(number, kpis.grouping_bits(kept, part_keys))] = group
            only_current = with_previous and not set(part) & before
            source = "sub" + (f" WHERE sub.{q('period')} = 1" if only_current else "")
            sets = ", ".join(
                "("
                + ", ".join(f"sub.{q(c)}" for c in ["period", *(columns[g] for g in group)])
                + ")"
                for group in part
            )
            selected = ", ".join(
                [
                    str(number),
                    f"GROUPING({', '.join(f'sub.{q(c)}' for c in part_keys)})",
                    *(f"sub.{q(c)}" if c in part_keys else "NULL" for c in keys),
                    *(sums[n] if n in part_names[number] else "NULL" for n in names),
                    *(
                        "percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP "
                        f"(ORDER BY sub.{q('v_' + f)}) FILTER (WHERE sub.{q('period')} = 1 "
                        f"AND sub.{q('b_' + f)} IS NOT NULL)"
                        if number == 0
                        else "NULL"
                        for f in exact
                    ),
                ]
            )
            # The ORM's SQL, quoted identifiers and integers only; values are parameters.
            selects.append(
                f"SELECT {selected} FROM {source} GROUP BY GROUPING SETS ({sets})"  # noqa: S608
            )
        with _settings_for_one_read(work_mem="64MB") as cursor:
            # The sets sorted in memory. The complaints are read from the index of the time
            # received that carries every column the measures use (an index-only scan,
            # reporting migration 0008), filtered there by the dimensions: the planner then
            # neither reads the whole table (its choice for filters that no index leads
            # with, e.g. channel and severity: it does not know that the days' rows are
            # next to each other) nor each row of the period.
            cursor.execute(prefix + " UNION ALL ".join(selects), params)
            found = cursor.fetchall()
        by_group: dict = {group: [] for group in groups}
        width = 2 + len(keys) + len(names)
        for raw in found:
            values = dict(zip(keys, raw[2 : 2 + len(keys)], strict=True))
            values.update(
                {f"m_{n}": v for n, v in zip(names, raw[2 + len(keys) : width], strict=True)}
            )
            by_group[bits[(raw[0], raw[1])]].append(values)
            # The whole period's row (the widget grouped by "period" alone), not a row of
            # another set of the same part.
            if exact and raw[0] == 0 and values["period"] == 1 and not bits[(raw[0], raw[1])]:
                self._durations[filters] = {
                    f: tuple(None if v is None else v / 3600 for v in (pair or (None, None)))
                    for f, pair in zip(exact, raw[width:], strict=True)
                }
        for group, names_ in specs:
            plain = tuple(x for x in group if x != "period")
            rows = by_group[plain]
            if "period" not in group:
                rows = [r for r in rows if r["period"] == 1]
            cols = [columns[g] for g in group]
            self._ahead[(filters, group, names_, days_key)] = _merge_rows(rows, group, cols, names_)

    def complaints(self, filters: Filters, *, dated=True, since: date | None = None, days=None):
        qs = Complaint.objects.order_by()
        if days is not None:
            # Only the days themselves (those in the period): one index range each, instead
            # of the whole period's range filtered.
            first = since or filters.date_from
            qs = qs.filter(
                received_on([d for d in days if not dated or first <= d <= filters.date_to])
            )
        elif dated:
            qs = qs.filter(
                received_at__gte=_day_start(since or filters.date_from),
                received_at__lt=_day_start(filters.date_to + timedelta(days=1)),
            )
        for dimension, value in filters.dimension_filters().items():
            qs = qs.filter(**_lookup(DIMENSIONS[dimension][1], value))
        return qs

    def rows(
        self, filters: Filters, group=(), names=MEASURES, *, dated=True, days=None
    ) -> list[dict]:
        days_key = None if days is None else frozenset(days)
        ahead = self._ahead.get((filters, tuple(group), tuple(names), days_key))
        if ahead is not None and dated:
            return [dict(r) for r in ahead]
        since = filters.previous().date_from if "period" in group else None
        qs = self.complaints(filters, dated=dated, since=since, days=days)
        if set(names) <= {"open", "overdue"}:
            qs = qs.filter(kpis.OPEN)  # the open-status index, not every complaint
        annotations = {}
        if "month" in group:
            annotations["month"] = TruncMonth("received_at", tzinfo=local_tz())
        if "age" in group:
            annotations["age"] = _age_case("received_at", live=True)
        if "period" in group:
            annotations["period"] = _period_case(Q(received_at__gte=_day_start(filters.date_from)))
        qs = qs.annotate(**annotations) if annotations else qs
        columns = [DIMENSIONS[g][1] if g in DIMENSIONS else g for g in group]
        sums = {f"m_{n}": Sum(self.expressions[n]) for n in names}
        rows = [qs.aggregate(**sums)] if not group else qs.values(*columns).annotate(**sums)
        return [_row(r, group, columns, names) for r in rows]

    def durations(self, filters: Filters, counts: dict, histograms: dict | None = None) -> dict:
        """{field: exact (median, p90) in hours} of the durations `counts` ({field: how many
        complaints have one}). On PostgreSQL with `histograms` ({field: the period's counts
        per bucket of HOUR_EDGES}, e.g. from the summaries): only the complaints in the
        buckets that hold the two ranks are sorted (see _banded); else both fields in one
        read of the period's complaints."""
        if connection.vendor != "postgresql":
            return {f: self.percentiles(filters, f, n) for f, n in counts.items()}
        wanted = {f: n for f, n in counts.items() if n}
        result = dict.fromkeys(counts, (None, None))
        known = self._durations.get(filters, {})  # computed by the read ahead
        result.update((f, known[f]) for f in wanted if f in known)
        wanted = {f: n for f, n in wanted.items() if f not in known}
        if histograms and wanted:
            found = self._banded(filters, {f: histograms[f] for f in wanted if f in histograms})
            result.update(found)
            wanted = {f: n for f, n in wanted.items() if f not in found}
        if wanted:
            aggregates = {f: PercentileCont(f, filter=Q(**{f"{f}__isnull": False})) for f in wanted}
            with transaction.atomic():
                with connection.cursor() as cursor:  # sorted in memory, not on disk
                    cursor.execute("SET LOCAL work_mem = '64MB'")
                found = self.complaints(filters).filter(kpis.VALID).aggregate(**aggregates)
            for f in wanted:
                values = found[f] or [None, None]
                result[f] = tuple(None if v is None else v / 3600 for v in values)
        return result

    def _banded(self, filters: Filters, histograms: dict) -> dict:
        """PostgreSQL: exact percentile_cont (median, p90) of each field from its histogram:
        the rank p * (n - 1) and the next one fall in known buckets, so one read of the
        period's complaints (an index-only scan of reporting_recv_cover_idx) keeps only
        those in these buckets' value band, and percentile_disc picks the two values at the
        ranks within the band. A band whose count differs from the histogram's (complaints
        changed meanwhile) is left out: the caller falls back to the full sort."""
        plans, aggregates, bands = {}, [], []
        for f, counts in histograms.items():
            total = sum(counts)
            if not total:
                continue
            plan = []
            for p in (0.5, 0.9):
                position = p * (total - 1)
                low = int(position)
                high = min(low + 1, total - 1)
                first, below = _bucket_of(counts, low)
                last, _ = _bucket_of(counts, high)
                n = sum(counts[first : last + 1])
                lo, hi = _band_edges(first, last)
                band = f"{_col(f)} >= {lo}" + (f" AND {_col(f)} < {hi}" if hi is not None else "")
                fractions = [(low - below + 0.5) / n, (high - below + 0.5) / n]
                j = len(bands)
                bands.append(band)
                aggregates.append(f"COUNT(*) FILTER (WHERE {band})")
                aggregates.append(
                    f"percentile_disc(ARRAY[{fractions[0]!r}, {fractions[1]!r}]::float8[]) "
                    f"WITHIN GROUP (ORDER BY {_col(f)}) FILTER (WHERE {band})"
                )
                plan.append((j, n, position - low))
            plans[f] = plan
        if not bands:
            return {}
        fields = list(plans)
        rows = self.complaints(filters).filter(kpis.VALID).values(*fields)
        sql, params = rows.query.sql_with_params()
        where = " OR ".join(f"({b})" for b in bands)
        with _settings_for_one_read(
            parallel_setup_cost="10", parallel_tuple_cost="0.001"
        ) as cursor:
            # The scan of the period's index entries split between parallel workers (the
            # ordered-set aggregates themselves cannot be: the band's values are gathered).
            # Stock costs keep a plan that passes ~a third of the period's rows through a
            # Gather serial; that read is most of the live dashboard over a year (1M, load
            # 4.7: 217 -> 171 ms; about half on an idle 2-core machine).
            # Integers and the ORM's own SQL only; values are parameters.
            cursor.execute(
                f"SELECT {', '.join(aggregates)} FROM ({sql}) sub WHERE {where}",  # noqa: S608
                params,
            )
            found = cursor.fetchone()
        result = {}
        for f, plan in plans.items():
            values = []
            for j, n, fraction in plan:
                count, pair = found[2 * j], found[2 * j + 1]
                if count != n or not pair:
                    break
                values.append((pair[0] + (pair[1] - pair[0]) * fraction) / 3600)
            else:
                result[f] = tuple(values)
        return result

    def percentiles(self, filters: Filters, field_name: str, count: int) -> tuple:
        """Exact (median, p90) in hours, linear interpolation (percentile_cont): one
        ordered-set aggregate on PostgreSQL, two short ordered reads elsewhere."""
        if not count:
            return None, None
        values = self.complaints(filters).filter(kpis.VALID, **{f"{field_name}__isnull": False})
        if connection.vendor == "postgresql":
            found = values.aggregate(p=PercentileCont(field_name))["p"] or [None, None]
            return tuple(None if v is None else v / 3600 for v in found)
        ordered = values.order_by(field_name).values_list(field_name, flat=True)
        result = []
        for p in (0.5, 0.9):
            position = p * (count - 1)
            low = int(position)
            pair = list(ordered[low : low + 2])
            high = pair[1] if len(pair) > 1 else pair[0]
            result.append((pair[0] + (high - pair[0]) * (position - low)) / 3600)
        return tuple(result)


class PercentileCont(Aggregate):
    """PostgreSQL: the median and the 90th percentile of an expression, as an array."""

    function = "percentile_cont"
    template = "%(function)s(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = ArrayField(FloatField())


class FreshSource(SummarySource):
    """Current to the second: the summaries for every day on which nothing changed since
    their last refresh, the complaints themselves for the days that did (usually none or a
    few), and exact percentiles for the period shown."""

    name = "live"

    def __init__(self, now: datetime | None = None):
        from .services.summaries import stale_days

        super().__init__(now)
        self.stale = stale_days(self.now)
        self.built = self.stale is not None

    def prefetch(self, filters: Filters, specs) -> None:
        self.live.exact_durations = True
        super().prefetch(filters, specs)
        if self.stale:  # the changed days of what the widgets read from the summaries
            specs = [(g, self.split(filters, g, n)[0]) for g, n in specs]
            self.live.prefetch(filters, [(g, n) for g, n in specs if n], days=self.stale)

    def rows(self, filters: Filters, group=(), names=MEASURES, *, dated=True) -> list[dict]:
        summed, _counted = self.split(filters, group, names)
        if not summed:
            # never built, or no summary keeps these dimensions: from the complaints
            return self.live.rows(filters, group, names, dated=dated)
        # (what the complaints give, e.g. a pair's histograms, is current on every day)
        rows = super().rows(filters, group, names, dated=dated, skip_days=self.stale)
        if not self.stale:
            return rows
        merged = {tuple(r[g] for g in group): r for r in rows}
        for r in self.live.rows(filters, group, summed, dated=dated, days=self.stale):
            key = tuple(r[g] for g in group)
            if key in merged:
                for n in summed:
                    merged[key][n] += r[n]
            else:
                merged[key] = {**dict.fromkeys(names, 0), **r}
        return list(merged.values())


@contextlib.contextmanager
def _settings_for_one_read(**values):
    """A cursor in a transaction of its own with `values` set for it (SET LOCAL), rolled back
    at the end (the read writes nothing), as the export's COPY is: the settings end with it,
    also inside an outer transaction, where releasing a savepoint would keep them."""
    with transaction.atomic(), connection.cursor() as cursor:
        setting = ", ".join("set_config(%s, %s, true)" for _ in values)
        cursor.execute(
            f"SELECT {setting}",  # noqa: S608 - placeholders only
            [x for name, value in values.items() for x in (name, str(value))],
        )
        yield cursor
        transaction.set_rollback(True)


def _col(field_name: str) -> str:
    return connection.ops.quote_name(field_name)


def _bucket_of(counts: list[int], rank: int) -> tuple[int, int]:
    """(bucket, complaints in the buckets before it) of the 0-based rank in the histogram."""
    below = 0
    for i, c in enumerate(counts):
        if rank < below + c:
            return i, below
        below += c
    raise ValueError(rank)  # pragma: no cover - rank < total


def _band_edges(first: int, last: int) -> tuple[int, int | None]:
    """Seconds [low, high) of the buckets first..last (high None: open-ended), the edges of
    kpis._bucket."""
    low = int(HOUR_EDGES[first - 1] * 3600) if first else 0
    high = int(HOUR_EDGES[last] * 3600) if last < len(HOUR_EDGES) else None
    return low, high


def received_on(days) -> Q:
    """Complaints received on any of these local days (one received_at range per run of
    consecutive days, so the index serves it)."""
    q = Q(pk__in=[])
    for first, last in _runs(sorted(days)):
        q |= Q(
            received_at__gte=_day_start(first),
            received_at__lt=_day_start(last + timedelta(days=1)),
        )
    return q


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _merge_rows(raw_rows, group, columns, names) -> list[dict]:
    """_row() of grouped rows, adding up rows with the same key (a widget without "period"
    read with the period flag: no row of the period before is passed in, so nothing adds)."""
    merged: dict = {}
    for raw in raw_rows:
        row = _row(raw, group, columns, names)
        key = tuple(row[g] for g in group)
        if key in merged:
            for n in names:
                merged[key][n] += row[n]
        else:
            merged[key] = row
    return list(merged.values())


def _row(raw: dict, group, columns, names) -> dict:
    row = {g: raw[c] for g, c in zip(group, columns, strict=True)}
    for n in names:
        row[n] = raw[f"m_{n}"] or 0
    if isinstance(row.get("month"), datetime):
        month = row["month"]  # naive: already local (read without the ORM's converters)
        row["month"] = (
            timezone.localtime(month, local_tz()) if timezone.is_aware(month) else month
        ).date()
    return row


def percentile_from_buckets(counts: list[int], p: float) -> tuple[float | None, bool]:
    """(hours, open_ended) at rank p of a histogram over HOUR_EDGES, interpolated within the
    bucket; open_ended when it falls in the last bucket (then: at least that many hours)."""
    total = sum(counts)
    if not total:
        return None, False
    rank = p * total
    cumulative = 0
    for i, c in enumerate(counts):
        if c and cumulative + c >= rank:
            low = HOUR_EDGES[i - 1] if i else 0.0
            if i >= len(HOUR_EDGES):
                return float(low), True
            return low + (HOUR_EDGES[i] - low) * (rank - cumulative) / c, False
        cumulative += c
    return float(HOUR_EDGES[-1]), True  # pragma: no cover - rank <= total


def ratio(numerator: int, denominator: int) -> float | None:
    return None if not denominator else 100.0 * numerator / denominator


@dataclass
class Figures:
    """The KPI values of one period (from one row of measure sums)."""

    sums: dict
    frt: tuple = (None, None)  # (median, p90) hours
    ttr: tuple = (None, None)
    approximate: bool = False
    open_ended: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.sums[name]

    @property
    def closure_rate(self):
        return ratio(self.sums["closed"], self.sums["valid"])

    @property
    def ack_on_time_rate(self):
        return ratio(self.sums["ack_on_time"], self.sums["ack_measured"])

    @property
    def resolve_on_time_rate(self):
        return ratio(self.sums["resolve_on_time"], self.sums["resolve_measured"])

    @property
    def reopened_rate(self):
        return ratio(self.sums["reopened"], self.sums["ever_resolved"])

    @property
    def frt_mean(self):
        c = self.sums["frt_count"]
        return self.sums["frt_seconds"] / c / 3600 if c else None

    @property
    def ttr_mean(self):
        c = self.sums["ttr_count"]
        return self.sums["ttr_seconds"] / c / 3600 if c else None

    @property
    def repeat_rate(self):
        return ratio(self.sums["repeated"], self.sums["valid"])

    @property
    def csat(self):
        return ratio(self.sums["csat_satisfied"], self.sums["csat_measured"])

    @property
    def compensation_total(self):
        return self.sums["compensation_cents"] / 100

    @property
    def compensation_per_complaint(self):
        n = self.sums["compensated"]
        return self.sums["compensation_cents"] / 100 / n if n else None

    def as_dict(self) -> dict:
        return {
            "received": self.sums["received"],
            "valid": self.sums["valid"],
            "closed": self.sums["closed"],
            "closure_rate": self.closure_rate,
            "ack_measured": self.sums["ack_measured"],
            "ack_on_time": self.sums["ack_on_time"],
            "ack_on_time_rate": self.ack_on_time_rate,
            "resolve_measured": self.sums["resolve_measured"],
            "resolve_on_time": self.sums["resolve_on_time"],
            "resolve_on_time_rate": self.resolve_on_time_rate,
            "ever_resolved": self.sums["ever_resolved"],
            "reopened": self.sums["reopened"],
            "reopened_rate": self.reopened_rate,
            "first_response_hours": {
                "count": self.sums["frt_count"],
                "median": self.frt[0],
                "p90": self.frt[1],
                "mean": self.frt_mean,
            },
            "resolution_hours": {
                "count": self.sums["ttr_count"],
                "median": self.ttr[0],
                "p90": self.ttr[1],
                "mean": self.ttr_mean,
            },
            "repeated": self.sums["repeated"],
            "repeat_rate": self.repeat_rate,
            "csat_measured": self.sums["csat_measured"],
            "csat_satisfied": self.sums["csat_satisfied"],
            "csat": self.csat,
            "compensation_cny": {
                "total": self.compensation_total,
                "compensated_complaints": self.sums["compensated"],
                "per_compensated_complaint": self.compensation_per_complaint,
            },
            "percentiles_approximate": self.approximate,
        }


def _names(source) -> tuple:
    return LIVE_MEASURES if type(source) is LiveSource else MEASURES


def figures(source, filters: Filters) -> Figures:
    """All KPIs of one period: one aggregate query (plus, live, the exact percentiles)."""
    rows = source.rows(filters, (), _names(source))
    sums = rows[0] if rows else dict.fromkeys(MEASURES, 0)
    return _figures(source, filters, sums, exact=type(source) is not SummarySource)


def figures_with_previous(source, filters: Filters) -> tuple[Figures, Figures]:
    """The KPIs of the period and of the period before it, from one aggregate query (live:
    exact percentiles for the period, interpolated ones for the period before)."""
    rows = {r["period"]: r for r in source.rows(filters, ("period",), _names(source))}
    empty = dict.fromkeys(MEASURES, 0)
    exact = type(source) is not SummarySource
    return (
        _figures(source, filters, rows.get(1, empty), exact=exact),
        _figures(source, filters.previous(), rows.get(0, empty), exact=type(source) is LiveSource),
    )


def _figures(source, filters: Filters, sums: dict, *, exact: bool) -> Figures:
    result = Figures(sums=sums)
    if exact:
        live = source if isinstance(source, LiveSource) else source.live
        histograms = None
        if all(n in sums for n in (*FRT_BUCKETS, *TTR_BUCKETS)):
            histograms = {
                "first_response_work_seconds": [sums[n] for n in FRT_BUCKETS],
                "resolution_work_seconds": [sums[n] for n in TTR_BUCKETS],
            }
        found = live.durations(
            filters,
            {
                "first_response_work_seconds": sums["frt_count"],
                "resolution_work_seconds": sums["ttr_count"],
            },
            histograms,
        )
        result.frt = found["first_response_work_seconds"]
        result.ttr = found["resolution_work_seconds"]
    else:
        result.approximate = True
        for key, names in (("frt", FRT_BUCKETS), ("ttr", TTR_BUCKETS)):
            counts = [sums[n] for n in names]
            median, open_median = percentile_from_buckets(counts, 0.5)
            p90, open_p90 = percentile_from_buckets(counts, 0.9)
            setattr(result, key, (median, p90))
            result.open_ended[key] = (open_median, open_p90)
    return result


def department_names(ids) -> dict:
    """Department names in the reader's language (one query)."""
    return {pk: pick_name(*pair) for pk, pair in department_name_pairs(ids).items()}


def department_name_pairs(ids) -> dict:
    """(Chinese, English) department names, e.g. for stored reports."""
    from complaints.models import Department

    rows = Department.objects.filter(pk__in=[i for i in ids if i])
    return {pk: (name, name_en) for pk, name, name_en in rows.values_list("pk", "name", "name_en")}


def backlog(filters: Filters, source) -> dict:
    """Open and overdue complaints now, whatever their received date (one query)."""
    rows = source.rows(filters, (), ("open", "overdue"), dated=False)
    row = rows[0] if rows else {"open": 0, "overdue": 0}
    return {"open_backlog": row["open"], "overdue": row["overdue"]}
