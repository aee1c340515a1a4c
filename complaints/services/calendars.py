"""Business calendars from the database, compiled for the clock and cached per process.

A compiled calendar is reused until the calendar's `changed_at` moves; every write to a
calendar, its hours or its exceptions must go through `touch_calendar`."""

import threading
import zoneinfo
from datetime import datetime

from django.utils import timezone

from ..models import BusinessCalendar, CalendarException, CalendarYear, SLAPolicy
from ..sla.clock import Clock, WallClock, WorkCalendar
from . import reference_cache

WALL_CLOCK = WallClock()

_lock = threading.Lock()
_compiled: dict[int, tuple[datetime, WorkCalendar]] = {}


def touch_calendar(calendar_id: int, *, now: datetime | None = None) -> None:
    """Mark a calendar changed so that cached copies are rebuilt."""
    BusinessCalendar.objects.filter(pk=calendar_id).update(changed_at=now or timezone.now())
    reference_cache.changed()


def compile_calendar(calendar: BusinessCalendar) -> WorkCalendar:
    """Build the pure clock for one calendar (3 queries)."""
    weekly: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for weekday, start, end in calendar.intervals.values_list("weekday", "start", "end"):
        weekly[weekday].append(
            (start.hour * 3600 + start.minute * 60, end.hour * 3600 + end.minute * 60)
        )
    holidays, workdays = set(), set()
    for day, kind in calendar.exceptions.values_list("date", "kind"):
        (holidays if kind == CalendarException.Kind.HOLIDAY else workdays).add(day)
    known_years = frozenset(calendar.years.values_list("year", flat=True))
    return WorkCalendar(
        tz=zoneinfo.ZoneInfo(calendar.time_zone),
        weekly=tuple(tuple(sorted(day)) for day in weekly),
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        known_years=known_years,
    )


def calendars_by_id(ids=None) -> dict[int, WorkCalendar]:
    """Compiled calendars, from the cache where still current (1 query when nothing changed)."""
    rows = BusinessCalendar.objects.all()
    if ids is not None:
        rows = rows.filter(pk__in=set(ids))
    result = {}
    for calendar in rows:
        with _lock:
            cached = _compiled.get(calendar.pk)
        if cached is None or cached[0] != calendar.changed_at:
            cached = (calendar.changed_at, compile_calendar(calendar))
            with _lock:
                _compiled[calendar.pk] = cached
        result[calendar.pk] = cached[1]
    return result


def clock_for_policy(policy: SLAPolicy | None, calendars: dict[int, WorkCalendar]) -> Clock:
    """The clock a policy counts on: its calendar, or the wall clock (24x7)."""
    if policy is None or policy.calendar_id is None:
        return WALL_CLOCK
    return calendars[policy.calendar_id]


def mark_year_loaded(calendar: BusinessCalendar, year: int, source: str) -> bool:
    """Record that `year` has holiday data. True if it was new."""
    _row, created = CalendarYear.objects.get_or_create(
        calendar=calendar, year=year, defaults={"source": source}
    )
    return created
