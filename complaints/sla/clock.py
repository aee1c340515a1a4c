"""Working-time arithmetic for the SLA clock: pure Python, no Django.

A `WorkCalendar` counts working seconds on the local wall clock of its time zone (on a
DST change day an interval lasts as long as the wall clock says). A `WallClock` counts
elapsed time 24x7. Both keep the microseconds of their input.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

Interval = tuple[int, int]  # (start_second, end_second) of a local day
DaySchedule = tuple[Interval, ...]

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
_DAY = 86_400
_US = 1_000_000
_SECOND = timedelta(seconds=1)


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("naive datetime: an aware datetime is required")
    return t


def _at(midnight: datetime, us: int) -> datetime:
    """`us` microseconds of wall-clock time after a local midnight (replace() is faster
    than adding a timedelta)."""
    if us >= _DAY * _US:
        return midnight + timedelta(microseconds=us)
    seconds, micro = divmod(us, _US)
    hour, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    return midnight.replace(hour=hour, minute=minute, second=second, microsecond=micro)


def _check_seconds(seconds: int) -> None:
    if seconds < 0:
        raise ValueError("seconds must be >= 0")


@dataclass(frozen=True, slots=True)
class _Year:
    """One local calendar year compiled for fast look-ups (all amounts in microseconds)."""

    first: int  # ordinal of 1 January
    begins: list[int]  # working time before day i, counted from 1 January
    ends: list[int]  # working time up to the end of day i
    days: list[tuple[Interval, ...]]  # intervals of day i, in microseconds of the day
    midnights: list[datetime]  # local midnight of day i
    total: int


@dataclass(frozen=True)
class WorkCalendar:
    """Weekly working hours plus holiday and make-up working day (调休) exceptions."""

    tz: ZoneInfo
    weekly: tuple[DaySchedule, ...]  # 7 entries, Monday first
    holidays: frozenset[date] = frozenset()  # no working time on these dates
    workdays: frozenset[date] = frozenset()  # these dates work like `standard_day`
    known_years: frozenset[int] = frozenset()  # years with holiday data
    standard_day: DaySchedule = field(init=False, repr=False, compare=False)
    day_seconds: int = field(init=False, repr=False, compare=False)
    _days: dict[date, DaySchedule] = field(init=False, repr=False, compare=False)
    _years: dict[int, _Year] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly needs 7 entries, Monday first")
        for day in self.weekly:
            previous = 0
            for start, end in day:
                if not previous <= start < end <= _DAY:
                    raise ValueError(f"intervals must be sorted, disjoint, in a day: {day!r}")
                previous = end
        standard = next((day for day in self.weekly if day), ())
        object.__setattr__(self, "standard_day", standard)
        object.__setattr__(self, "day_seconds", sum(e - s for s, e in standard))
        object.__setattr__(self, "_days", {})
        object.__setattr__(self, "_years", {})

    @classmethod
    def default(
        cls,
        tz: str | ZoneInfo = DEFAULT_TZ,
        *,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        known_years: Iterable[int] = (),
    ) -> WorkCalendar:
        """Monday to Friday, 09:00-18:00."""
        day = ((9 * 3600, 18 * 3600),)
        return cls(
            tz=tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz),
            weekly=(day,) * 5 + ((),) * 2,
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            known_years=frozenset(known_years),
        )

    def intervals_on(self, d: date) -> DaySchedule:
        """Working intervals (seconds of the local day) on date `d`."""
        found = self._days.get(d)
        if found is None:
            if d in self.holidays:
                found = ()
            elif d in self.workdays:
                found = self.standard_day
            else:
                found = self.weekly[d.weekday()]
            self._days[d] = found
        return found

    def _year(self, year: int) -> _Year:
        compiled = self._years.get(year)
        if compiled is None:
            first = date(year, 1, 1).toordinal()
            begins, ends, days, midnights, total = [], [], [], [], 0
            for ordinal in range(first, date(year, 12, 31).toordinal() + 1):
                d = date.fromordinal(ordinal)
                day = tuple((s * _US, e * _US) for s, e in self.intervals_on(d))
                begins.append(total)
                total += sum(e - s for s, e in day)
                ends.append(total)
                days.append(day)
                midnights.append(datetime.combine(d, time(), tzinfo=self.tz))
            compiled = _Year(first, begins, ends, days, midnights, total)
            self._years[year] = compiled
        return compiled

    def _local(self, t: datetime) -> datetime:
        if t.tzinfo is self.tz:  # the hot path: already local
            return t
        return _aware(t).astimezone(self.tz)

    def _position(self, t: datetime) -> tuple[int, int]:
        """(local year, working microseconds from that year's start up to `t`)."""
        local = self._local(t)
        year = self._years.get(local.year) or self._year(local.year)
        i = local.toordinal() - year.first
        p = (local.hour * 3600 + local.minute * 60 + local.second) * _US + local.microsecond
        w = year.begins[i]
        for s, e in year.days[i]:
            if p <= s:
                break
            w += (p if p < e else e) - s
        return local.year, w

    def _locate(self, year_number: int, target: int, strict: bool) -> datetime:
        """The earliest instant at `target` working microseconds into the year (strict:
        the first instant after which working time follows)."""
        year = self._years.get(year_number) or self._year(year_number)
        while target > year.total or (strict and target == year.total):
            if not year.total:
                raise ValueError("calendar has no working time")
            target -= year.total
            year_number += 1
            year = self._year(year_number)
        i = (bisect_right if strict else bisect_left)(year.ends, target)
        p = target - year.begins[i]
        for s, e in year.days[i]:
            if p < e - s or (p == e - s and not strict):
                return _at(year.midnights[i], s + p)
            p -= e - s
        raise AssertionError("unreachable")  # pragma: no cover

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant at which `seconds` working seconds counted from `start` complete."""
        _check_seconds(seconds)
        if seconds == 0 and self.is_working(start):
            return start.astimezone(self.tz)
        year, w = self._position(start)
        return self._locate(year, w + seconds * _US, strict=seconds == 0)

    def add_minutes(self, start: datetime, minutes: int) -> datetime:
        return self.add(start, minutes * 60)

    def next_working_moment(self, t: datetime) -> datetime:
        return self.add(t, 0)

    def between(self, a: datetime, b: datetime) -> int:
        """Whole working seconds in [a, b] (0 if b <= a)."""
        year_a, wa = self._position(a)
        year_b, wb = self._position(b)
        if _aware(b) <= a:
            return 0
        for year in range(year_a, year_b):
            wb += self._year(year).total
        return max(0, wb - wa) // _US

    def is_working(self, t: datetime) -> bool:
        """True if `t` lies in a closed working interval [start, end]."""
        local = self._local(t)
        d = local.date()
        p = (local.hour * 3600 + local.minute * 60 + local.second) * _US + local.microsecond
        if any(s * _US <= p <= e * _US for s, e in self.intervals_on(d)):
            return True
        # Midnight closes an interval that ends at 24:00 the day before.
        if p == 0 and d > date.min:
            previous = self.intervals_on(d - timedelta(days=1))
            return bool(previous) and previous[-1][1] == _DAY
        return False

    def provisional(self, a: datetime, b: datetime) -> bool:
        """True if a local year from `a` to `b` has no holiday data (weekends only)."""
        years = sorted((self._local(a).year, self._local(b).year))
        return any(y not in self.known_years for y in range(years[0], years[1] + 1))


@dataclass(frozen=True)
class WallClock:
    """24x7 clock: every second counts, in elapsed (UTC) time."""

    tz: ZoneInfo = DEFAULT_TZ
    day_seconds: ClassVar[int] = _DAY

    def add(self, start: datetime, seconds: int) -> datetime:
        _check_seconds(seconds)
        return (_aware(start).astimezone(UTC) + timedelta(seconds=seconds)).astimezone(self.tz)

    def add_minutes(self, start: datetime, minutes: int) -> datetime:
        return self.add(start, minutes * 60)

    def next_working_moment(self, t: datetime) -> datetime:
        return self.add(t, 0)

    def between(self, a: datetime, b: datetime) -> int:
        elapsed = _aware(b).astimezone(UTC) - _aware(a).astimezone(UTC)
        return max(0, elapsed // _SECOND)

    def is_working(self, t: datetime) -> bool:
        _aware(t)
        return True

    def provisional(self, a: datetime, b: datetime) -> bool:
        _aware(a), _aware(b)
        return False


Clock = WorkCalendar | WallClock
