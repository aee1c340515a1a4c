"""The SLA clock (complaints.sla.clock): laws checked with hypothesis, plus exact examples.

Pure Python: no database is needed.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints.sla.clock import Clock, WallClock, WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600
DAY = 9 * HOUR  # one standard working day
US = timedelta(microseconds=1)

CHINA = WorkCalendar.default(
    holidays=chinese_calendar.holidays,
    workdays=chinese_calendar.workdays,
    known_years={d.year for d in chinese_calendar.holidays},
)
LUNCH_DAY = ((9 * HOUR, 12 * HOUR), (13 * HOUR, 18 * HOUR))
LUNCH = WorkCalendar(tz=SH, weekly=(LUNCH_DAY,) * 5 + ((),) * 2)
LAWS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


# --- strategies -------------------------------------------------------------------------

dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))
instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 12, 31, 23, 59, 59, 999_999),
    timezones=st.sampled_from([SH, UTC]),
)
whole_seconds = instants.map(lambda t: t.replace(microsecond=0))
amounts = st.integers(min_value=0, max_value=30 * DAY)


@st.composite
def day_schedules(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    """0-3 sorted intervals; they may touch, start at 00:00 or end at 24:00."""
    intervals, t = [], 0
    for _ in range(draw(st.integers(0, 3))):
        start = t + draw(st.integers(0, 40_000))
        end = min(start + draw(st.integers(1, 40_000)), 86_400)
        if start >= end:
            break
        intervals.append((start, end))
        t = end
    return tuple(intervals)


weeklies = st.one_of(
    st.just(WorkCalendar.default().weekly),
    st.just(LUNCH.weekly),
    st.lists(day_schedules(), min_size=7, max_size=7)
    .map(tuple)
    .filter(lambda week: sum(e - s for day in week for s, e in day) >= 5 * HOUR),
)
random_calendars = st.builds(
    WorkCalendar,
    tz=st.just(SH),
    weekly=weeklies,
    holidays=st.frozensets(dates, max_size=150),
    workdays=st.frozensets(dates, max_size=30),
)
clocks: st.SearchStrategy[Clock] = st.one_of(
    st.sampled_from(
        [
            WorkCalendar.default(),
            CHINA,
            LUNCH,
            WorkCalendar.default(BERLIN),
            WallClock(),
            WallClock(UTC),
        ]
    ),
    random_calendars,
)


# --- laws -------------------------------------------------------------------------------


@LAWS
@given(clocks, instants, amounts, amounts)
def test_monotonic_in_amount(clock: Clock, t: datetime, a: int, b: int) -> None:
    a, b = sorted((a, b))
    assert utc(clock.add(t, a)) <= utc(clock.add(t, b))


@LAWS
@given(clocks, instants, instants, amounts)
def test_monotonic_in_start(clock: Clock, t1: datetime, t2: datetime, n: int) -> None:
    t1, t2 = sorted((t1, t2))
    assert utc(clock.add(t1, n)) <= utc(clock.add(t2, n))


@LAWS
@given(clocks, instants, amounts, amounts)
def test_additive(clock: Clock, t: datetime, a: int, b: int) -> None:
    assert utc(clock.add(clock.add(t, a), b)) == utc(clock.add(t, a + b))


@LAWS
@given(clocks, instants, amounts)
def test_result_is_working_time_not_before_start(clock: Clock, t: datetime, n: int) -> None:
    result = clock.add(t, n)
    assert clock.is_working(result)
    assert utc(result) >= utc(t)
    assert result.tzinfo is clock.tz


@LAWS
@given(clocks, instants, amounts)
def test_between_inverts_add(clock: Clock, t: datetime, n: int) -> None:
    result = clock.add(t, n)
    assert clock.between(t, result) == n
    if n:  # the earliest such instant: a microsecond earlier, the n-th second is not complete
        assert clock.between(t, result - US) == n - 1


@LAWS
@given(clocks, instants, instants, instants)
def test_between_additive_over_split(clock: Clock, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    whole, parts = clock.between(a, c), clock.between(a, b) + clock.between(b, c)
    assert whole - parts in (0, 1)  # whole seconds are floored: at most one is lost
    assert clock.between(c, a) == 0


@LAWS
@given(clocks, whole_seconds, whole_seconds, whole_seconds)
def test_between_additive_over_split_whole_seconds(
    clock: Clock, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    assert clock.between(a, c) == clock.between(a, b) + clock.between(b, c)


@LAWS
@given(clocks, instants)
def test_next_working_moment(clock: Clock, t: datetime) -> None:
    moment = clock.next_working_moment(t)
    assert clock.is_working(moment)
    if clock.is_working(t):
        assert utc(moment) == utc(t)
    else:
        assert utc(moment) > utc(t)
    assert clock.between(t, moment) == 0


# --- examples (Asia/Shanghai, real chinese_calendar data) --------------------------------


@pytest.mark.parametrize("calendar", [WorkCalendar.default(), CHINA])
def test_friday_afternoon_plus_four_hours_is_monday_noon(calendar: WorkCalendar) -> None:
    assert calendar.add(sh(2026, 11, 27, 17), 4 * HOUR) == sh(2026, 11, 30, 12)
    assert calendar.add_minutes(sh(2026, 11, 27, 17), 240) == sh(2026, 11, 30, 12)


def test_saturday_starts_monday_morning() -> None:
    assert CHINA.next_working_moment(sh(2026, 11, 28, 10)) == sh(2026, 11, 30, 9)
    assert CHINA.add(sh(2026, 11, 28, 10), HOUR) == sh(2026, 11, 30, 10)
    assert not CHINA.is_working(sh(2026, 11, 28, 10))


@pytest.mark.parametrize(
    ("received", "seconds", "due"),
    [
        # Wed 30 Sep: 8 h, then National Day 1-7 Oct, then 1 h on Thu 8 Oct.
        (sh(2026, 9, 30, 10), DAY, sh(2026, 10, 8, 10)),
        # Make-up working Saturday 10 Oct.
        (sh(2026, 10, 9, 10), DAY, sh(2026, 10, 10, 10)),
        (sh(2026, 9, 30, 10), 3 * DAY, sh(2026, 10, 10, 10)),
        (sh(2026, 10, 10, 17), 2 * HOUR, sh(2026, 10, 12, 10)),
        # Make-up working Sunday 20 Sep.
        (sh(2026, 9, 18, 17), 2 * HOUR, sh(2026, 9, 20, 10)),
        # Mid-autumn Festival, Fri 25 - Sun 27 Sep.
        (sh(2026, 9, 24, 17), 2 * HOUR, sh(2026, 9, 28, 10)),
        # Spring Festival 15-23 Feb; Sat 14 Feb and Sat 28 Feb work.
        (sh(2026, 2, 13, 17), 2 * HOUR, sh(2026, 2, 14, 10)),
        (sh(2026, 2, 14, 17), 2 * HOUR, sh(2026, 2, 24, 10)),
    ],
)
def test_china_holidays(received: datetime, seconds: int, due: datetime) -> None:
    assert CHINA.add(received, seconds) == due
    assert CHINA.between(received, due) == seconds


def test_between_over_national_day() -> None:
    # 30 Sep, 8 Oct, 9 Oct and Saturday 10 Oct.
    assert CHINA.between(sh(2026, 9, 30), sh(2026, 10, 11)) == 4 * DAY
    assert CHINA.intervals_on(date(2026, 10, 1)) == ()
    assert CHINA.intervals_on(date(2026, 10, 10)) == ((9 * HOUR, 18 * HOUR),)
    assert CHINA.intervals_on(date(2026, 10, 11)) == ()


def test_interval_ends_are_closed() -> None:
    calendar = WorkCalendar.default()
    assert calendar.add(sh(2026, 11, 30, 9), DAY) == sh(2026, 11, 30, 18)
    assert calendar.add(sh(2026, 11, 30, 18), 0) == sh(2026, 11, 30, 18)
    assert calendar.is_working(sh(2026, 11, 30, 18))
    assert calendar.add(sh(2026, 11, 30, 18, 0, 0, 1), 0) == sh(2026, 12, 1, 9)
    assert calendar.add(sh(2026, 11, 30, 18), 1) == sh(2026, 12, 1, 9, 0, 1)
    assert calendar.add(sh(2026, 11, 30, 9), 0) == sh(2026, 11, 30, 9)


def test_sub_second_precision_is_kept() -> None:
    calendar = WorkCalendar.default()
    assert calendar.add(sh(2026, 3, 4, 10, 15, 37, 123_456), HOUR) == sh(
        2026, 3, 4, 11, 15, 37, 123_456
    )
    assert calendar.add(sh(2026, 3, 4, 7, 12, 13, 500_000), 60) == sh(2026, 3, 4, 9, 1)
    assert calendar.between(sh(2026, 3, 4, 9, 0, 0, 500_000), sh(2026, 3, 4, 9, 0, 2)) == 1


def test_other_time_zones_in_results_in_calendar_zone() -> None:
    due = CHINA.add(datetime(2026, 11, 27, 9, tzinfo=UTC), 4 * HOUR)  # 17:00 in Shanghai
    assert due == sh(2026, 11, 30, 12)
    assert due.tzinfo is SH


def test_lunch_break() -> None:
    assert LUNCH.day_seconds == 8 * HOUR
    assert LUNCH.add(sh(2026, 3, 4, 11, 30), HOUR) == sh(2026, 3, 4, 13, 30)
    assert LUNCH.add(sh(2026, 3, 4, 11, 30), 30 * 60) == sh(2026, 3, 4, 12)
    assert LUNCH.add(sh(2026, 3, 4, 12, 30), 0) == sh(2026, 3, 4, 13)
    assert LUNCH.between(sh(2026, 3, 4, 11), sh(2026, 3, 4, 14)) == 2 * HOUR


def test_year_without_holiday_data_is_provisional() -> None:
    calendar = WorkCalendar.default(
        holidays={d for d in chinese_calendar.holidays if d.year == 2026},
        workdays={d for d in chinese_calendar.workdays if d.year == 2026},
        known_years={2026},
    )
    assert calendar.provisional(sh(2026, 12, 30), sh(2027, 1, 5))
    assert calendar.provisional(sh(2027, 1, 5), sh(2026, 12, 30))
    assert not calendar.provisional(sh(2026, 1, 1), sh(2026, 12, 31, 23, 59))
    assert calendar.provisional(sh(2025, 12, 31), sh(2026, 1, 2))
    # No 2027 data: New Year's Day 2027 (a Friday) counts as an ordinary working day.
    assert calendar.add(sh(2026, 12, 31, 17), 2 * HOUR) == sh(2027, 1, 1, 10)
    assert not WallClock().provisional(sh(2026, 12, 30), sh(2030, 1, 1))


def test_working_day_exceptions() -> None:
    calendar = WorkCalendar(
        tz=SH,
        weekly=((), (), LUNCH_DAY, (), (), (), ()),
        holidays=frozenset({date(2026, 3, 4)}),
        workdays=frozenset({date(2026, 3, 7), date(2026, 3, 4)}),
    )
    assert calendar.standard_day == LUNCH_DAY
    assert calendar.day_seconds == 8 * HOUR
    assert calendar.intervals_on(date(2026, 3, 4)) == ()  # a holiday wins
    assert calendar.intervals_on(date(2026, 3, 7)) == LUNCH_DAY  # a Saturday that works
    assert calendar.intervals_on(date(2026, 3, 11)) == LUNCH_DAY
    assert calendar.add(sh(2026, 3, 2), HOUR) == sh(2026, 3, 7, 10)


def test_interval_ending_at_midnight() -> None:
    calendar = WorkCalendar(tz=SH, weekly=((),) * 4 + (((20 * HOUR, 86_400),), (), ()))
    due = calendar.add(sh(2026, 3, 6, 23), HOUR)  # a Friday
    assert due == sh(2026, 3, 7)
    assert calendar.is_working(due)
    assert calendar.add(due, 0) == due
    assert calendar.add(due, 1) == sh(2026, 3, 13, 20, 0, 1)


def test_wall_clock() -> None:
    clock = WallClock()
    assert clock.day_seconds == 86_400
    assert clock.add(sh(2026, 11, 28, 10), 4 * HOUR) == sh(2026, 11, 28, 14)
    assert clock.add(datetime(2026, 1, 1, tzinfo=UTC), 0).tzinfo is SH
    assert clock.is_working(sh(2026, 11, 28, 3))
    assert clock.between(sh(2026, 11, 28), datetime(2026, 11, 28, tzinfo=UTC)) == 8 * HOUR
    # Elapsed time: 24 hours over the spring-forward change end at 13:00 the next day.
    berlin = WallClock(BERLIN)
    assert berlin.add(datetime(2026, 3, 28, 12, tzinfo=BERLIN), 86_400) == datetime(
        2026, 3, 29, 13, tzinfo=BERLIN
    )
    assert isinstance(clock, Clock) and isinstance(CHINA, Clock)


@pytest.mark.parametrize("clock", [CHINA, WallClock()])
def test_invalid_arguments(clock: Clock) -> None:
    with pytest.raises(ValueError, match="seconds"):
        clock.add(sh(2026, 3, 4, 10), -1)
    naive = datetime(2026, 3, 4, 10)
    for call in (
        lambda: clock.add(naive, 60),
        lambda: clock.between(naive, sh(2026, 3, 5)),
        lambda: clock.between(sh(2026, 3, 3), naive),
        lambda: clock.is_working(naive),
        lambda: clock.provisional(naive, sh(2026, 3, 5)),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_calendar_without_working_time() -> None:
    never = WorkCalendar(tz=SH, weekly=((),) * 7)
    assert never.day_seconds == 0
    assert not never.is_working(sh(2026, 3, 4, 10))
    assert never.between(sh(2026, 1, 1), sh(2027, 1, 1)) == 0
    for seconds in (0, 1):
        with pytest.raises(ValueError, match="no working time"):
            never.add(sh(2026, 3, 4, 10), seconds)
    # A whole year of holidays: the clock gives up instead of searching forever.
    days_2027 = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]
    closed = WorkCalendar.default(holidays=days_2027)
    with pytest.raises(ValueError, match="no working time"):
        closed.add(sh(2026, 12, 31, 17), 2 * HOUR)


@pytest.mark.parametrize(
    "weekly",
    [
        ((),) * 6,
        (((9 * HOUR, 12 * HOUR), (11 * HOUR, 18 * HOUR)),) + ((),) * 6,
        (((18 * HOUR, 9 * HOUR),),) + ((),) * 6,
        (((9 * HOUR, 86_401),),) + ((),) * 6,
    ],
)
def test_invalid_weekly_schedules(weekly: tuple) -> None:
    with pytest.raises(ValueError):
        WorkCalendar(tz=SH, weekly=weekly)
