"""The suite's flatness verdict (tests/benchmarks/bench_suite.py, `make bench` with
BENCH_SIZES): each figure within 30 % of the smallest size, compared on equal pages."""

from tests.benchmarks.bench_suite import flatness

SIZES = [100_000, 1_000_000, 5_000_000]


def _results(scenario, values, shown=(None, None, None), unit="ms"):
    return {
        size: {
            scenario: {
                "scenario": scenario,
                "value": v,
                "unit": unit,
                "rows_shown": n,
                "page_size": 50,
            }
        }
        for size, v, n in zip(SIZES, values, shown, strict=True)
    }


def test_within_30_percent_of_the_smallest_size_is_flat():
    [(_, values, unit, flat, remark)] = flatness(SIZES, _results("list", [30.0, 38.0, 22.0]))
    assert flat and values == [30.0, 38.0, 22.0] and unit == "ms" and remark == ""
    [(*_, flat, _)] = flatness(SIZES, _results("list", [30.0, 30.0, 40.0]))
    assert not flat  # +33 %
    [(*_, flat, _)] = flatness(SIZES, _results("list", [30.0, None, 30.0]))
    assert not flat  # a size without a figure proves nothing


def test_equal_pages_are_compared_at_every_size():
    [(*_, flat, remark)] = flatness(SIZES, _results("list", [30.0, 31.0, 45.0], (50, 50, 50)))
    assert not flat and remark == ""


def test_a_shorter_page_at_a_small_size_is_not_the_same_work():
    """15 matches at 100k, a full page of 50 from 1 M: 1 M and 5 M are compared, and the
    remark says so."""
    [(_, values, _, flat, remark)] = flatness(
        SIZES, _results("free text 王伟", [21.3, 38.1, 43.0], (15, 50, 50))
    )
    assert flat and values == [21.3, 38.1, 43.0]
    assert (
        remark == "free text 王伟: rows on the page 15 (100k) / 50 (1m) / 50 (5m); compared: 1m, 5m"
    )
    [(*_, flat, _)] = flatness(SIZES, _results("free text", [21.3, 30.0, 43.0], (15, 50, 50)))
    assert not flat  # 1 M to 5 M: +43 %


def test_a_few_rows_more_or_less_on_a_short_page_are_compared_as_they_are():
    [(*_, flat, remark)] = flatness(SIZES, _results("phone", [18.6, 21.8, 21.0], (3, 4, 1)))
    assert flat and remark == ""
    [(*_, flat, _)] = flatness(SIZES, _results("phone", [18.6, 21.8, 25.0], (3, 4, 1)))
    assert not flat


def test_a_full_page_at_the_largest_size_only_cannot_be_judged_flat():
    [(*_, flat, remark)] = flatness(SIZES, _results("free text", [21.0, 22.0, 23.0], (5, 15, 50)))
    assert not flat and remark.endswith("compared: 5m")


def test_a_size_that_failed_is_never_left_out():
    """A page that did not answer (no figure, no rows) fails the row, full page or not."""
    [(*_, flat, _)] = flatness(SIZES, _results("list", [30.0, None, 31.0], (50, None, 50)))
    assert not flat
    [(*_, flat, _)] = flatness(SIZES, _results("list", [30.0, None, 31.0], (15, None, 50)))
    assert not flat


def test_the_sizes_compared_are_named_when_a_middle_one_is_left_out():
    [(*_, flat, remark)] = flatness(SIZES, _results("list", [30.0, 12.0, 31.0], (50, 15, 50)))
    assert flat and remark.endswith("compared: 100k, 5m")


def test_one_size_alone_is_its_own_reference():
    results = {100_000: {"list": {"scenario": "list", "value": 30.0, "unit": "ms"}}}
    [(*_, flat, _)] = flatness([100_000], results)
    assert flat


def test_the_flatness_runs_sweep_is_not_judged_against_the_target():
    """The flatness runs make 2,000 complaints due at every size; the target (10,000/s) is
    judged in the full run, with 10,000."""
    from tests.benchmarks.bench_suite import Row

    row = Row("deadline sweep, claim + mark", unit="complaints/s", target=10_000)
    row.value = 7_700.0
    assert row.passed is False
    row.judged = False
    assert row.passed is None


def test_a_page_is_full_at_the_lists_own_page_size():
    """The page size is the one measured with the row (the 100-row list has 100): 50 rows of
    a 100-row page are a short page everywhere, compared as they are."""
    results = _results("list", [21.3, 38.1, 43.0], (15, 50, 50))
    for size in SIZES:
        results[size]["list"]["page_size"] = 100
    [(*_, flat, remark)] = flatness(SIZES, results)
    assert not flat and remark == ""
