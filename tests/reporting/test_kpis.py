"""Each KPI on the hand-built data set (tests/reporting/conftest.py), with the expected
number written out; the summary tables give the same sums as the live path."""

from datetime import date

import pytest

from reporting import queries
from reporting.queries import Filters, LiveSource, SummarySource, figures
from reporting.services import summaries

from .conftest import NOW

pytestmark = pytest.mark.django_db

NOVEMBER = Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))


@pytest.fixture(params=["live", "summary"])
def source(request, dataset):
    if request.param == "summary":
        summaries.rebuild(now=NOW)
        return SummarySource(NOW)
    return LiveSource(NOW)


def test_counts_and_rates(source):
    f = figures(source, NOVEMBER)
    assert f["received"] == 9  # c1-c8, c10
    assert f["valid"] == 6  # not c5 (invalid), c6 (merged), c7 (judged invalid)
    assert f["closed"] == 2  # c1 closed, c2 resolved
    assert f.closure_rate == pytest.approx(100 * 2 / 6)
    assert (f["ack_measured"], f["ack_on_time"]) == (5, 3)  # c1 c2 c3 c4 c8; on time c1 c3 c8
    assert f.ack_on_time_rate == pytest.approx(60.0)
    # measured: c1, c2 resolved; c3 open past its deadline (c8 waits for the customer)
    assert (f["resolve_measured"], f["resolve_on_time"]) == (3, 1)
    assert f.resolve_on_time_rate == pytest.approx(100 / 3)
    assert (f["ever_resolved"], f["reopened"]) == (2, 1)
    assert f.reopened_rate == pytest.approx(50.0)
    assert f["open"] == 5  # c3 c4 c7 c8 c10
    assert f.frt_mean == pytest.approx((1 + 10 + 0.5) / 3)
    assert f.ttr_mean == pytest.approx((7200 + 100000) / 2 / 3600)
    # compensation: c1 200 + 50.50, c3 100 (CNY, approved or paid, valid complaints)
    assert (f["compensated"], f["compensation_cents"]) == (2, 35050)
    assert f.compensation_total == pytest.approx(350.50)
    assert f.compensation_per_complaint == pytest.approx(175.25)
    # repeat: c2 of 6 valid; CSAT: c1 satisfied, c2 not (c5 is invalid)
    assert (f["repeated"], f.repeat_rate) == (1, pytest.approx(100 / 6))
    assert (f["csat_measured"], f["csat_satisfied"], f.csat) == (2, 1, 50.0)


def test_previous_period(source):
    f = figures(source, NOVEMBER.previous())
    assert NOVEMBER.previous() == Filters(date_from=date(2026, 10, 2), date_to=date(2026, 10, 31))
    assert (f["received"], f["valid"], f["closed"]) == (1, 1, 1)
    assert f.closure_rate == 100.0
    assert (f["compensated"], f.compensation_total) == (1, 10.0)
    assert (f["csat_measured"], f.csat, f["repeated"]) == (1, 100.0, 0)


def test_percentiles_exact_live(dataset):
    f = figures(LiveSource(NOW), NOVEMBER)
    # first response 0.5 h, 1 h, 10 h: median 1 h; p90 at rank 1.8 = 1 + 0.8 * 9 = 8.2 h
    assert f.frt == pytest.approx((1.0, 8.2))
    # resolution 2 h and 100000 s: median halfway, p90 at 90 % of the way
    assert f.ttr == pytest.approx(((7200 + 100000) / 2 / 3600, (7200 + 0.9 * 92800) / 3600))


def test_percentiles_exact_live_from_the_histogram_band(dataset):
    """Live dashboard (summaries + exact percentiles): the same exact figures as the full
    sort; on PostgreSQL only the complaints in the buckets holding the ranks are sorted
    (percentile_disc over a band), and a histogram that no longer matches the complaints
    falls back to the full sort."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting.queries import FreshSource

    summaries.rebuild(now=NOW)
    with CaptureQueriesContext(connection) as captured:
        f = figures(FreshSource(NOW), NOVEMBER)
    assert f.frt == pytest.approx((1.0, 8.2))
    assert f.ttr == pytest.approx(((7200 + 100000) / 2 / 3600, (7200 + 0.9 * 92800) / 3600))
    assert not f.approximate
    if connection.vendor == "postgresql":
        sql = " ".join(q["sql"] for q in captured)
        assert "percentile_disc" in sql
        assert "percentile_cont" not in sql
        live = LiveSource(NOW)
        # first response 0.5 h, 1 h, 10 h: buckets 2 [0.5, 1), 3 [1, 2), 9 [8, 12)
        histogram = [0] * 20
        histogram[2] = histogram[3] = histogram[9] = 1
        assert live._banded(NOVEMBER, {"first_response_work_seconds": histogram}) == {
            "first_response_work_seconds": pytest.approx((1.0, 8.2))
        }
        histogram[9] = 2  # one complaint more than there is in [8, 12)
        assert live._banded(NOVEMBER, {"first_response_work_seconds": histogram}) == {}


@pytest.mark.parametrize(
    ("counts", "rank", "expected"),
    [([0, 2, 0, 3], 0, (1, 0)), ([0, 2, 0, 3], 1, (1, 0)), ([0, 2, 0, 3], 2, (3, 2))],
)
def test_bucket_of_a_rank(counts, rank, expected):
    assert queries._bucket_of(counts, rank) == expected


def test_band_edges_are_the_bucket_edges():
    assert queries._band_edges(0, 0) == (0, 900)
    assert queries._band_edges(2, 3) == (1800, 7200)
    assert queries._band_edges(19, 19) == (240 * 3600, None)


def test_percentiles_from_summary_buckets(dataset):
    summaries.rebuild(now=NOW)
    f = figures(SummarySource(NOW), NOVEMBER)
    # buckets [0.5, 1) [1, 2) [8, 12) hold one each: median rank 1.5 → 1 + 1 * 0.5 = 1.5 h;
    # p90 rank 2.7 → 8 + 4 * 0.7 = 10.8 h (interpolated within the bucket)
    assert f.frt == pytest.approx((1.5, 10.8))
    assert f.approximate


def test_filters_narrow_every_figure(source, dataset):
    only_b = Filters(
        date_from=NOVEMBER.date_from, date_to=NOVEMBER.date_to, department=dataset["b"].pk
    )
    f = figures(source, only_b)
    assert (f["received"], f["valid"], f["ack_on_time"], f["resolve_measured"]) == (1, 1, 1, 0)
    web = Filters(date_from=NOVEMBER.date_from, date_to=NOVEMBER.date_to, channel="email")
    assert figures(source, web)["received"] == 1  # c5
    major = Filters(date_from=NOVEMBER.date_from, date_to=NOVEMBER.date_to, severity=2)
    assert figures(source, major)["received"] == 1
    noise = Filters(
        date_from=NOVEMBER.date_from, date_to=NOVEMBER.date_to, category=dataset["noise"].pk
    )
    assert (figures(source, noise)["received"], figures(source, noise)["reopened"]) == (1, 1)


def test_grouped_widgets(source, dataset):
    by_channel = {r["channel"]: r["received"] for r in source.rows(NOVEMBER, ("channel",))}
    assert by_channel == {"hotline": 7, "email": 1, "web": 1}
    by_department = {
        r["department_id"]: (r["received"], r["valid"], r["closed"])
        for r in source.rows(NOVEMBER, ("department_id",))
    }
    assert by_department == {dataset["a"].pk: (8, 5, 2), dataset["b"].pk: (1, 1, 0)}
    causes = {r["root_cause_id"]: r["valid"] for r in source.rows(NOVEMBER, ("root_cause_id",))}
    assert causes == {dataset["cause"].pk: 2, None: 4}
    months = {
        (r["month"], r["severity"]): r["received"]
        for r in source.rows(NOVEMBER, ("month", "severity"))
    }
    assert months == {(date(2026, 11, 1), 4): 8, (date(2026, 11, 1), 2): 1}


def test_backlog_by_age_and_overdue(source, dataset):
    ages = {r["age"]: r["open"] for r in source.rows(NOVEMBER, ("age",), ("open",), dated=False)}
    # ages on 30 Nov: c10 1 day, c8 2 days, c7 3 days, c4 10 days, c3 20 days
    assert {k: v for k, v in ages.items() if v} == {"0-2": 2, "3-7": 1, "8-30": 2}
    assert queries.backlog(NOVEMBER, source) == {"open_backlog": 5, "overdue": 2}  # c3, c4
