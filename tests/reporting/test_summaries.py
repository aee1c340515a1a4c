"""The summary tables stay equal to the live figures: full rebuild, incremental refresh after
service calls, a corrected time received, a deadline passing without any edit."""

import time
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
import time_machine

from complaints.models import Complaint
from complaints.services import lifecycle
from reporting.kpis import MEASURES
from reporting.models import CountedComplaint, DailySummary, Level, SummaryState
from reporting.queries import Filters, LiveSource, SummarySource
from reporting.services import summaries
from tests.conftest import ALL_COMPLAINT_PERMS
from tests.factories import UserFactory

from .conftest import NOW, SH, sh

pytestmark = pytest.mark.django_db
ALL_TIME = Filters(date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))
GROUPS = [
    (),
    ("month", "severity"),
    ("category_id",),
    ("channel",),
    ("department_id",),
    ("root_cause_id",),
    ("department_id", "channel"),
]


def assert_same(now, filters=ALL_TIME):
    for group in GROUPS:

        def key(r, group=group):
            return tuple(str(r[g]) for g in group)

        live = sorted(LiveSource(now).rows(filters, group), key=key)
        summary = sorted(
            (r for r in SummarySource(now).rows(filters, group) if r["received"]), key=key
        )
        assert summary == live, group


def test_rebuild_equals_live_and_is_repeatable(dataset):
    summaries.rebuild(now=NOW)
    assert_same(NOW)
    for department in (dataset["a"].pk, dataset["b"].pk):
        assert_same(
            NOW,
            Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30), department=department),
        )
    rows = DailySummary.objects.count()
    summaries.rebuild(now=NOW)
    assert DailySummary.objects.count() == rows
    assert CountedComplaint.objects.count() == Complaint.objects.count() == 10
    state = SummaryState.objects.get()
    assert state.refreshed_at == NOW and state.rebuild_started_at is None
    assert state.rebuild_months_done == state.rebuild_months_total == 2  # October, November


def test_rebuild_replaces_the_table_with_the_same_indexes(dataset):
    """PostgreSQL: the rebuild writes a new table without indexes, builds them and swaps it
    in: the summary table keeps its index, constraint and sequence names (later migrations
    refer to them), a table left by a rebuild that stopped half-way is dropped, and the
    rows are written once (no dead rows of deleted months)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the table swap is PostgreSQL's")

    def shape():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1",
                [summaries.SUMMARY],
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1",
                [summaries.SUMMARY],
            )
            constraints = cursor.fetchall()
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [summaries.SUMMARY])
            return indexes, constraints, cursor.fetchone()[0]

    before = shape()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {summaries.REBUILT} (half_done integer)")
    summaries.rebuild(now=NOW)
    summaries.rebuild(now=NOW)
    assert shape() == before
    assert "reporting_dailysummary_pkey" in str(before[1])
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [summaries.REBUILT])
        assert cursor.fetchone()[0] is None
    assert_same(NOW)
    assert DailySummary.objects.create(day=date(2026, 1, 1), level=Level.DAY).pk


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rebuild_writes_months_side_by_side(dataset, monkeypatch):
    """PostgreSQL outside a transaction: two connections write the months at once; the
    result is the same as the live figures, every month counted once."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("parallel months are PostgreSQL's")
    monkeypatch.setattr(summaries, "REBUILD_WORKERS", 2)
    progress = []
    summaries.rebuild(now=NOW, on_progress=lambda done, total: progress.append((done, total)))
    assert progress == [(1, 2), (2, 2)]
    assert_same(NOW)
    state = SummaryState.objects.get()
    assert state.rebuild_months_done == state.rebuild_months_total == 2
    assert CountedComplaint.objects.count() == Complaint.objects.count() == 10


def test_refresh_follows_service_changes(dataset):
    summaries.rebuild(now=NOW)
    user = UserFactory(perms=ALL_COMPLAINT_PERMS)
    later = NOW + timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        lifecycle.transition(dataset["c4"].pk, "acknowledged", user=user, now=later)
        lifecycle.transition(dataset["c10"].pk, "invalid", user=user, note="Spam", now=later)
        result = summaries.refresh(now=later)
    assert result.days == 2  # 20 and 29 November only
    assert_same(later)
    november = Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    sums = SummarySource(later).rows(november)[0]
    # c10 judged invalid; c4 acknowledged late (it was already counted late)
    assert (sums["valid"], sums["ack_measured"], sums["ack_on_time"], sums["open"]) == (5, 5, 3, 4)


def test_refresh_moves_a_complaint_whose_time_received_was_corrected(dataset):
    summaries.rebuild(now=NOW)
    user = UserFactory(perms=ALL_COMPLAINT_PERMS)
    c3 = dataset["c3"]
    later = NOW + timedelta(minutes=5)
    lifecycle.update_complaint(
        c3.pk,
        user=user,
        changes={"received_at": sh(11, 12)},
        expected_version=c3.version,
        now=later,
    )
    result = summaries.refresh(now=later)
    assert result.days == 2  # the day it left (10 Nov) and the day it moved to (12 Nov)
    day = lambda d: SummarySource(later).rows(Filters(date_from=d, date_to=d))[0]["received"]  # noqa: E731
    assert (day(date(2026, 11, 10)), day(date(2026, 11, 12))) == (0, 1)
    assert CountedComplaint.objects.get(complaint_id=c3.pk).day == date(2026, 11, 12)
    assert_same(later)


def test_refresh_counts_a_deadline_that_passed_without_an_edit(dataset):
    summaries.rebuild(now=NOW)
    november = Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    assert SummarySource(NOW).rows(november)[0]["ack_measured"] == 5
    after = datetime(2026, 12, 1, 10, 30, tzinfo=SH)  # c10's acknowledgement deadline passed
    result = summaries.refresh(now=after)
    assert result.days == 2  # c10 (ack due 1 Dec) and c4 (resolution due 1 Dec)
    sums = SummarySource(after).rows(november)[0]
    assert sums["ack_measured"] == 6 and sums["resolve_measured"] == 4
    assert_same(after)


def test_refresh_needs_a_first_build(dataset):
    assert summaries.refresh(now=NOW).skipped == "never built"
    assert not DailySummary.objects.exists()


def test_summaries_marked_for_a_rebuild_are_not_read(dataset):
    """A migration that changes what a level keeps marks the summaries as never built (their
    rows are incomplete until rebuilt): until the rebuild, figures come from the complaints."""
    summaries.rebuild(now=NOW)
    DailySummary.objects.update(received=0, valid=0)  # rows written under an older layout
    SummaryState.objects.update(refreshed_at=None)
    assert_same(NOW)
    assert SummarySource(NOW).rows(ALL_TIME)[0]["received"] == 10


def test_rollup_levels_hold_one_dimension(dataset):
    summaries.rebuild(now=NOW)
    assert not DailySummary.objects.filter(level=Level.DAY, department__isnull=False).exists()
    days = DailySummary.objects.filter(level=Level.DAY)
    assert sum(days.values_list("received", flat=True)) == 10
    assert set(MEASURES) <= {f.name for f in DailySummary._meta.fields}


def test_live_path_is_current_before_the_refresh(dataset):
    from reporting.queries import FreshSource

    summaries.rebuild(now=NOW)
    user = UserFactory(perms=ALL_COMPLAINT_PERMS)
    later = NOW + timedelta(minutes=3)
    lifecycle.transition(dataset["c10"].pk, "invalid", user=user, note="Spam", now=later)
    november = Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    assert SummarySource(later).rows(november)[0]["valid"] == 6  # not refreshed yet
    fresh = FreshSource(later)
    assert fresh.stale == {date(2026, 11, 29)}
    for group in GROUPS:

        def key(r, group=group):
            return tuple(str(r[g]) for g in group)

        live = sorted(LiveSource(later).rows(november, group), key=key)
        assert sorted((r for r in fresh.rows(november, group) if r["received"]), key=key) == live
    assert fresh.rows(november)[0]["valid"] == 5


def test_live_widgets_read_the_changed_days_in_one_query(dataset):
    """The live dashboard reads the days changed since the refresh for all its widgets at
    once (PostgreSQL: one GROUPING SETS query), with the same rows as widget by widget."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting.queries import FreshSource

    summaries.rebuild(now=NOW)
    user = UserFactory(perms=ALL_COMPLAINT_PERMS)
    later = NOW + timedelta(minutes=3)
    lifecycle.transition(dataset["c10"].pk, "invalid", user=user, note="Spam", now=later)
    november = Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    groups = [("period",), ("month", "severity"), ("category_id",), ("department_id",)]
    fresh = FreshSource(later)
    with CaptureQueriesContext(connection) as captured:
        fresh.prefetch(november, [(g, MEASURES) for g in groups])
        rows = {g: fresh.rows(november, g) for g in groups}
    direct = [q for q in captured if '"complaints_complaint"' in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(direct) == 1
    for group in groups:
        key = lambda r, group=group: tuple(str(r[g]) for g in group)  # noqa: E731
        one_by_one = FreshSource(later).rows(november, group)
        assert sorted(rows[group], key=key) == sorted(one_by_one, key=key), group
    assert sum(r["valid"] for r in rows[("category_id",)]) == 5


def test_the_refresh_task_builds_when_never_built(dataset):
    from reporting.tasks import refresh_summaries

    assert set(refresh_summaries()) == {"rebuilt_seconds"}
    assert SummaryState.objects.get().refreshed_at is not None
    assert "days" in refresh_summaries()


def test_a_new_repeat_link_is_picked_up_by_the_refresh(dataset):
    from followups.models import RepeatLink

    summaries.rebuild(now=NOW)
    later = NOW + timedelta(minutes=10)
    RepeatLink.objects.create(
        complaint=dataset["c4"],
        earlier=dataset["c3"],
        basis="category",
        days_between=10,
        created_at=later,
    )
    assert summaries.refresh(now=later).days == 1  # 20 November
    november = Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    assert SummarySource(later).rows(november)[0]["repeated"] == 2


def test_three_dimensions_or_more_are_read_from_the_complaints(dataset):
    """No summary level keeps three dimensions: two filters and a breakdown by a third are
    aggregated from the complaints, equal to the live figures; fewer read only summaries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting.queries import level_for

    summaries.rebuild(now=NOW)
    a, leak = dataset["a"].pk, dataset["c1"].category_id
    for filters in (
        Filters(date_from=date(2026, 10, 1), date_to=date(2026, 11, 30), department=a),
        Filters(date_from=date(2026, 10, 1), date_to=date(2026, 11, 30), category=leak),
        Filters(
            date_from=date(2026, 10, 1), date_to=date(2026, 11, 30), category=leak, channel="web"
        ),
        Filters(
            date_from=date(2026, 10, 1),
            date_to=date(2026, 11, 30),
            department=a,
            category=leak,
            channel="hotline",
            severity=4,
        ),
    ):
        assert_same(NOW, filters)
        for group in GROUPS:
            with CaptureQueriesContext(connection) as queries:
                SummarySource(NOW).rows(filters, group)
            direct = any("complaints_complaint" in q["sql"] for q in queries)
            assert direct == (level_for(filters, group, MEASURES) is None), (filters, group)
    two = Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30), department=a)
    assert level_for(two, ("channel",), MEASURES) is None  # a narrow pair: not every measure
    assert level_for(two, ("channel",), ("received",)) == Level.DEPARTMENT_CHANNEL
    assert level_for(replace(two, severity=4), ("channel",), ("received",)) is None


@pytest.mark.parametrize(
    "seconds",
    [
        [0, 899, 900, 1799, 1800, 3599, 3600, 7199, 7200, 10799],
        [10800, 14399, 14400, 86399, 86400, 115200, 431999, 432000, 863999, 864000],
        [1, 899, 901, 28799, 28800, 43199, 43200, 575999, 576000, 10**8],
    ],
)
def test_histogram_buckets_of_the_summaries_equal_the_live_ones(dataset, seconds):
    """The rebuild buckets a duration with one CASE (kpis.bucket_index); the live measures
    with one condition per bucket: equal on both sides of every edge."""
    from reporting.kpis import FRT_BUCKETS, TTR_BUCKETS

    complaints = Complaint.objects.order_by("pk")
    for complaint, value in zip(complaints, seconds, strict=True):
        Complaint.objects.filter(pk=complaint.pk).update(
            first_response_work_seconds=value, resolution_work_seconds=value + 1
        )
    summaries.rebuild(now=NOW)
    names = (*FRT_BUCKETS, *TTR_BUCKETS)
    for group in ((), ("severity",), ("department_id",)):

        def key(r, group=group):
            return tuple(str(r[g]) for g in group)

        live = sorted(LiveSource(NOW).rows(ALL_TIME, group, names), key=key)
        summary = sorted(SummarySource(NOW).rows(ALL_TIME, group, names), key=key)
        assert summary == live
    assert sum(SummarySource(NOW).rows(ALL_TIME, (), FRT_BUCKETS)[0].values()) >= 7  # valid ones


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_month_of_a_rebuild_and_a_refresh_do_not_deadlock():
    """A refresh locks the state row, then writes counted complaints; a rebuilt month writes
    counted complaints and records its progress after its own commit (it used to take the
    state row last, inside the month's transaction: a deadlock, found in review)."""
    import threading

    from django.db import connection, transaction
    from django.utils import timezone

    from reporting.kpis import local_tz
    from tests.factories import make_complaint

    if connection.vendor != "postgresql":
        pytest.skip("the rebuild writes months side by side on PostgreSQL only")
    complaint = make_complaint()
    SummaryState.objects.get_or_create(pk=1)
    table = connection.ops.quote_name(summaries.REBUILT)
    summaries._execute(f"DROP TABLE IF EXISTS {table}")
    summaries._execute(
        f"CREATE TABLE {table} (LIKE {connection.ops.quote_name(summaries.SUMMARY)} "
        "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)"
    )
    month = complaint.received_at.astimezone(local_tz()).date().replace(day=1)
    errors, locked = {}, threading.Event()

    def refresh_side():  # as refresh(): the state row first, then the counted complaints
        try:
            with transaction.atomic():
                summaries._lock_state(wait=True)
                locked.set()
                time.sleep(1.5)  # meanwhile the month writes its counted complaints
                summaries._insert_counted(Complaint.objects.filter(pk=complaint.pk))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            errors["refresh"] = exc
        finally:
            connection.close()

    def month_side():
        locked.wait()
        try:
            summaries._build_month(month, timezone.now())
        except Exception as exc:  # noqa: BLE001
            errors["month"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh_side), threading.Thread(target=month_side)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    summaries._execute(f"DROP TABLE IF EXISTS {table}")
    assert not errors, errors


def test_category_and_channel_cards_and_backlog_are_read_from_their_level(dataset):
    """Category × channel keeps every measure: the cards (with the period before), the
    open backlog by age and the overdue count with both filters are read from the summaries,
    equal to the live figures; only the widgets broken down by a third dimension read the
    complaints."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting import dashboard
    from reporting.queries import level_for

    summaries.rebuild(now=NOW)
    leak = dataset["c1"].category_id
    compared = 0
    for channel in ("hotline", "web", "email"):
        filters = Filters(
            date_from=date(2026, 11, 16), date_to=date(2026, 11, 30), category=leak, channel=channel
        )
        for group, names, dated in (
            (("period",), MEASURES, True),
            ((), MEASURES, True),
            (("age",), ("open", "overdue"), False),
        ):
            assert level_for(filters, group, names) == Level.CATEGORY_CHANNEL

            def key(r, group=group):
                return tuple(str(r[g]) for g in group)

            def nonzero(rows, names=names):
                return [r for r in rows if any(r[n] for n in names)]

            with CaptureQueriesContext(connection) as queries:
                summary = SummarySource(NOW).rows(filters, group, names, dated=dated)
            assert not any("complaints_complaint" in q["sql"] for q in queries)
            live = LiveSource(NOW).rows(filters, group, names, dated=dated)
            assert sorted(nonzero(summary), key=key) == sorted(nonzero(live), key=key), group
            compared += sum(r[names[0]] for r in summary)
        with CaptureQueriesContext(connection) as queries:
            built = dashboard.build(filters)
        direct = [q["sql"] for q in queries if "complaints_complaint" in q["sql"]]
        # months × severity, root causes, departments: one read ahead (PostgreSQL) or one each
        assert len(direct) == (1 if connection.vendor == "postgresql" else 3), direct
        live_built = dashboard.build(filters, live=True)
        for card, live_card in zip(built["cards"], live_built["cards"], strict=True):
            if card.key not in ("frt", "ttr"):  # (interpolated from the summaries' bands)
                assert card.current.value == live_card.current.value, card.key
    assert compared >= 3  # the period's hotline and web complaints, and some open ones


def _pairs_and_more(dataset):
    a, b, leak = dataset["a"].pk, dataset["b"].pk, dataset["c1"].category_id
    period = {"date_from": date(2026, 10, 16), "date_to": date(2026, 11, 30)}
    return [
        Filters(**period, department=a, severity=4),
        Filters(**period, channel="hotline", severity=4),
        Filters(**period, category=leak, severity=2),
        Filters(**period, department=a, category=leak, channel="hotline"),
        Filters(**period, departments=(a, b), category=leak, channel="web", severity=2),
    ]


def test_widgets_read_ahead_from_the_complaints_equal_each_read(dataset):
    """With two filters or more the dashboard's widgets that no level keeps are read ahead
    in one query (PostgreSQL) that reads the complaints once: the cards over both periods in
    one part of it, the breakdowns over the period shown in another (their own measures
    evaluated for that period only); every widget's rows equal the complaints' own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting.dashboard import WIDGETS

    summaries.rebuild(now=NOW)
    for filters in _pairs_and_more(dataset):
        source = SummarySource(NOW)
        with CaptureQueriesContext(connection) as captured:
            source.prefetch(filters, WIDGETS)
        direct = [q["sql"] for q in captured if '"complaints_complaint"' in q["sql"]]
        assert len(direct) == (1 if connection.vendor == "postgresql" else 0), filters
        # ... which reads the complaints once (both periods), not once per part
        assert all(sql.count('FROM "complaints_complaint"') == 1 for sql in direct), direct
        compared = 0
        for group, names in WIDGETS:

            def key(r, group=group):
                return tuple(str(r[g]) for g in group)

            def nonzero(rows, names=names):
                return sorted((r for r in rows if any(r[n] for n in names)), key=key)

            with CaptureQueriesContext(connection) as captured:
                rows = source.rows(filters, group, names)
            if connection.vendor == "postgresql":  # answered from what was read ahead
                assert not [q for q in captured if '"complaints_complaint"' in q["sql"]]
            assert nonzero(rows) == nonzero(LiveSource(NOW).rows(filters, group, names)), (
                filters,
                group,
            )
            compared += sum(r["received"] for r in rows if "received" in r)
        assert compared, filters  # some complaints behind every combination


@pytest.mark.postgres
def test_the_dashboard_reads_of_the_complaints_can_be_index_only(dataset):
    """Every column the dashboard's complaint reads use (measures, filters, breakdowns, the
    live percentiles; the open backlog by age) is in reporting_recv_cover_idx or, for the
    open complaints, complaint_open_due_idx (migration reporting 0008): each read can be an
    index-only scan, never a visit to the table (a measure that needs another column must
    add it to the index)."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting import dashboard

    if connection.vendor != "postgresql":
        pytest.skip("index-only scans are PostgreSQL's")

    def columns(index):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indexrelid = %s::regclass",
                [index],
            )
            return {r[0] for r in cursor.fetchall()}

    cover, open_due = columns("reporting_recv_cover_idx"), columns("complaint_open_due_idx")
    assert {"received_at", "id", "root_cause_category_id", "due_at"} <= cover
    summaries.rebuild(now=NOW)
    checked = 0
    for filters in _pairs_and_more(dataset):
        for live in (False, True):
            with CaptureQueriesContext(connection) as captured:
                dashboard.build(filters, live=live, now=NOW)
            for query in captured:
                sql = query["sql"]
                if '"complaints_complaint"' not in sql or '"updated_at"' in sql:
                    continue  # (the live path's lookup of the days changed: other indexes)
                used = set(re.findall(r'"complaints_complaint"\."(\w+)"', sql))
                assert used <= cover or used <= open_due, (used - cover, sql)
                checked += 1
    assert checked >= 10


def test_pair_cards_read_their_level_and_the_histograms_from_the_complaints(dataset):
    """A pair of filters keeps every measure but the duration histograms: the cards (with
    the period before) and the open backlog read the pair's level, the histograms behind
    the percentiles the complaints; joined, equal to the complaints' own figures, from the
    summaries and live (a change not yet refreshed included)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting.dashboard import WIDGETS
    from reporting.models import PAIR_MEASURES
    from reporting.queries import HISTOGRAM_MEASURES, FreshSource, level_for, split_names

    summaries.rebuild(now=NOW)
    a = dataset["a"].pk
    filters = Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30), department=a)
    filters = replace(filters, severity=4)
    assert level_for(filters, ("period",), MEASURES) is None
    assert split_names(filters, ("period",), MEASURES) == (PAIR_MEASURES, HISTOGRAM_MEASURES)
    assert level_for(filters, ("age",), ("open", "overdue")) == Level.DEPARTMENT_SEVERITY
    with CaptureQueriesContext(connection) as captured:
        backlog = SummarySource(NOW).rows(filters, ("age",), ("open", "overdue"), dated=False)
    assert not [q for q in captured if '"complaints_complaint"' in q["sql"]]
    live_backlog = LiveSource(NOW).rows(filters, ("age",), ("open", "overdue"), dated=False)
    assert sorted((r for r in backlog if r["open"]), key=str) == sorted(
        (r for r in live_backlog if r["open"]), key=str
    )
    assert sum(r["open"] for r in backlog) == 4  # c3, c4, c7, c10

    def period(rows):
        return {r["period"]: r for r in rows}

    cards = period(SummarySource(NOW).rows(filters, ("period",), MEASURES))
    assert cards == period(LiveSource(NOW).rows(filters, ("period",), MEASURES))
    assert cards[1]["received"] == 8 and cards[1]["compensated"] == 2  # (not c8, B); c1, c3
    assert (
        sum(cards[1][n] for n in HISTOGRAM_MEASURES)
        == (cards[1]["frt_count"] + cards[1]["ttr_count"])
        > 0
    )

    user = UserFactory(perms=ALL_COMPLAINT_PERMS)
    later = NOW + timedelta(minutes=3)
    lifecycle.transition(dataset["c10"].pk, "invalid", user=user, note="Spam", now=later)
    fresh = FreshSource(later)
    assert fresh.stale == {date(2026, 11, 29)}
    fresh.prefetch(filters, WIDGETS)
    for group, names in WIDGETS:

        def key(r, group=group):
            return tuple(str(r[g]) for g in group)

        def nonzero(rows, names=names):
            return sorted((r for r in rows if any(r[n] for n in names)), key=key)

        live = LiveSource(later).rows(filters, group, names)
        assert nonzero(fresh.rows(filters, group, names)) == nonzero(live), group
    assert period(fresh.rows(filters, ("period",), MEASURES))[1]["valid"] == cards[1]["valid"] - 1


def test_live_pair_percentiles_come_from_the_read_ahead(dataset):
    """Live, with a pair of filters, the read ahead of the complaints (the histograms of both
    periods) also gives the exact percentiles of the period shown: equal to the complaints'
    own percentile_cont, and the period is not read a second time for them (PostgreSQL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting.dashboard import WIDGETS
    from reporting.queries import FreshSource, figures_with_previous

    summaries.rebuild(now=NOW)
    filters = Filters(
        date_from=date(2026, 11, 1), date_to=date(2026, 11, 30), department=dataset["a"].pk
    )
    filters = replace(filters, severity=4)
    source = FreshSource(NOW)
    with CaptureQueriesContext(connection) as captured:
        source.prefetch(filters, WIDGETS)
        fig, _prev = figures_with_previous(source, filters)
    reads = [q["sql"] for q in captured if '"complaints_complaint"' in q["sql"]]
    reads = [sql for sql in reads if '"updated_at"' not in sql]  # (the changed days' look-up)
    if connection.vendor == "postgresql":
        assert len(reads) == 1 and "percentile_cont" in reads[0], reads
    live = LiveSource(NOW)
    for key, field_name, count in (
        ("frt", "first_response_work_seconds", "frt_count"),
        ("ttr", "resolution_work_seconds", "ttr_count"),
    ):
        assert fig[count] > 0
        expected = live.percentiles(filters, field_name, fig[count])
        assert getattr(fig, key) == pytest.approx(expected), key


def test_the_open_backlog_reads_only_rows_with_open_complaints(dataset):
    """The open backlog by age sums every day of history: it reads the summary rows with
    open complaints only (summary_open_idx on PostgreSQL, keyed by the filter dimensions),
    equal to the complaints' own figures, at every level and after a refresh."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    summaries.rebuild(now=NOW)
    a, leak = dataset["a"].pk, dataset["leak"].pk
    period = {"date_from": date(2026, 11, 1), "date_to": date(2026, 11, 30)}
    cases = [
        Filters(**period),
        Filters(**period, channel="hotline"),
        Filters(**period, department=a, category=leak),
        Filters(**period, category=leak, severity=4),
        Filters(**period, departments=(a,), channel="hotline"),
    ]

    def same(now):
        for filters in cases:
            args = (filters, ("age",), ("open", "overdue"))
            with CaptureQueriesContext(connection) as captured:
                summary = SummarySource(now).rows(*args, dated=False)
            live = LiveSource(now).rows(*args, dated=False)
            assert sorted((r for r in summary if r["open"]), key=str) == sorted(
                (r for r in live if r["open"]), key=str
            ), filters
            assert sum(r["open"] for r in live) > 0, filters
            (sql,) = [q["sql"] for q in captured if "reporting_dailysummary" in q["sql"]]
            if connection.vendor == "postgresql":
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SET LOCAL enable_seqscan = off")
                    cursor.execute("EXPLAIN " + sql)
                    plan = "\n".join(r[0] for r in cursor.fetchall())
                assert "summary_open_idx" in plan, plan

    same(NOW)
    user = UserFactory(perms=ALL_COMPLAINT_PERMS)
    later = NOW + timedelta(minutes=3)
    lifecycle.transition(dataset["c10"].pk, "invalid", user=user, note="Spam", now=later)
    assert summaries.refresh(now=later + timedelta(seconds=1)).days == 1
    same(later + timedelta(seconds=1))


@pytest.mark.django_db
def test_settings_for_one_read_are_put_back_inside_an_outer_transaction():
    """SET LOCAL in a savepoint outlives it: a caller's later statements in the same
    transaction must not run with the dashboard read's work_mem or parallel costs."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("planner settings are PostgreSQL's")
    from reporting.queries import _settings_for_one_read

    def current():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('work_mem'), current_setting('parallel_setup_cost')"
            )
            return cursor.fetchone()

    before = current()
    assert connection.in_atomic_block  # the test's own transaction
    with _settings_for_one_read(work_mem="64MB", parallel_setup_cost="10"):
        assert current() == ("64MB", "10")
    assert current() == before
