"""Load a country's official holidays and moved working days (调休) into a business calendar.

    python manage.py load_holidays --country CN --year 2026 [--year 2027 ...] [--calendar CODE]

China comes from the `chinesecalendar` library (the State Council schedule), falling back to
the `holidays` library for years it does not have yet, and only where that library holds the
official schedule, not an estimate. Other countries come from the `holidays` library.

Every official holiday and every official moved working day of the year is stored, whatever
the calendar's weekly hours are today: a holiday on a Saturday does nothing on a Monday-Friday
calendar, but stays right if Saturday hours are added later. Rows entered by staff are never
touched. The schedules are read before anything is written, and the whole load, including the
recomputation of the affected deadlines, is one transaction.
"""

from dataclasses import dataclass, field
from datetime import date
from io import StringIO

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext

from ...messages import names, stored
from ...models import BusinessCalendar, CalendarException, CalendarYear
from ...services.calendars import mark_year_loaded, touch_calendar
from ...services.sla import recompute_open

Source = CalendarException.Source
Kind = CalendarException.Kind


@dataclass
class Schedule:
    """The official non-working and moved working days of one year, from one library."""

    year: int
    source: str
    holidays: dict[date, tuple[str, str]]  # date -> (Chinese name, English name)
    workdays: dict[date, tuple[str, str]]
    notes: list[str] = field(default_factory=list)  # what the source could not provide


@dataclass
class Outcome:
    added: int = 0
    changed: int = 0
    removed: int = 0
    kept: int = 0
    new_year: bool = False

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.new_year)


def _both(text) -> tuple[str, str]:
    """A translatable text in Chinese and in English (bilingual reference data)."""
    pair = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            pair.append(str(text())[:100])
    return pair[0], pair[1]


# -- reading the libraries -------------------------------------------------------------------


def from_chinese_calendar(year: int) -> Schedule | None:
    """The year from chinesecalendar, or None when the library has no data for it."""
    import chinese_calendar
    from chinese_calendar.constants import Holiday

    def name(english: str) -> str:
        try:
            return Holiday(english).chinese
        except ValueError:
            return english

    holidays = {d: (name(n), n) for d, n in chinese_calendar.holidays.items() if d.year == year}
    if not holidays:
        return None

    def moved(english: str) -> tuple[str, str]:
        zh, en = _both(lambda: _("%(holiday)s (working day)"))
        return zh % {"holiday": name(english)}, en % {"holiday": english}

    workdays = {d: moved(n) for d, n in chinese_calendar.workdays.items() if d.year == year}
    return Schedule(year, Source.CHINESE_CALENDAR, holidays, workdays)


def chinese_calendar_years() -> tuple[int, int] | None:
    import chinese_calendar

    years = {d.year for d in chinese_calendar.holidays}
    return (min(years), max(years)) if years else None


def _holidays_language(country_class, chinese: bool) -> str | None:
    supported = getattr(country_class, "supported_languages", ()) or ()
    wanted = ("zh_CN", "zh_TW") if chinese else ("en_US", "en_GB")
    return next((lang for lang in wanted if lang in supported), None)


def from_holidays_library(country: str, year: int) -> Schedule | None:
    """The year from the `holidays` library, or None when it has no real data for it.

    Raises CommandError for a country the library does not know."""
    import holidays

    try:
        probe = holidays.country_holidays(country, years=[])
    except NotImplementedError:
        raise CommandError(
            _("Unknown country code “%(country)s” (use ISO 3166-1 alpha-2, e.g. CN).")
            % {"country": country}
        ) from None
    start, end = getattr(probe, "start_year", None), getattr(probe, "end_year", None)
    if (start and year < start) or (end and year > end):
        return None
    # Countries that move working days keep the official moves per year in a table; a year
    # after the table's last one is computed from rules only.
    moves = getattr(probe, "special_public_holidays", {}) or {}
    last_moves = max(moves) if moves else None
    has_moves = bool(getattr(probe, "has_substituted_holidays", False))
    notes: list[str] = []
    if has_moves and (last_moves is None or year > last_moves):
        if country == "CN":
            # China's holidays are whatever the State Council publishes for the year; the
            # rules alone give a wrong calendar.
            return None
        notes.append(
            _(
                "The holidays library knows no moved working days for %(country)s %(year)s "
                "(its last schedule of moved days is for %(last)s): add any by hand."
            )
            % {"country": country, "year": year, "last": last_moves or "-"}
        )
    named = []  # the library's names in Chinese, then in English (its default if it has none)
    for chinese in (True, False):
        language = _holidays_language(type(probe), chinese)
        named.append(holidays.country_holidays(country, years=year, language=language))
    calendar = named[1]
    holiday_days = {
        d: (str(named[0].get(d, n))[:100], str(n)[:100])
        for d, n in calendar.items()
        if d.year == year
    }
    moved = sorted(d for d in getattr(calendar, "weekend_workdays", ()) if d.year == year)
    workdays = dict.fromkeys(moved, _both(lambda: _("Moved working day")))
    if moved:
        notes.append(
            _(
                "The holidays library does not name moved working days; they are stored "
                "as “%(name)s”."
            )
            % {"name": _("Moved working day")}
        )
    if country == "CN":
        notes.append(
            _(
                "The holidays library does not list the weekend days inside a holiday week: "
                "free on a Monday-Friday calendar anyway, but a calendar that works at "
                "weekends needs them added by hand."
            )
        )
    return Schedule(year, Source.HOLIDAYS, holiday_days, workdays, notes)


def official_schedule(country: str, year: int) -> Schedule:
    """The schedule of one year, from the best library that has it. CommandError if none."""
    if country == "CN":
        schedule = from_chinese_calendar(year)
        if schedule is not None:
            return schedule
        fallback = from_holidays_library(country, year)
        if fallback is not None:
            fallback.notes.insert(
                0,
                _(
                    "chinesecalendar has no data for %(year)s; used the holidays library "
                    "instead. Check the result against the State Council's notice."
                )
                % {"year": year},
            )
            return fallback
        covered = chinese_calendar_years()
        raise CommandError(
            _(
                "No official holiday schedule for %(country)s %(year)s: chinesecalendar covers "
                "%(first)s-%(last)s and the holidays library has no official schedule for that "
                "year either. Update both libraries (pip install -U chinesecalendar holidays) "
                "or enter the days by hand in the admin. Nothing was changed."
            )
            % {
                "country": country,
                "year": year,
                "first": covered[0] if covered else "-",
                "last": covered[1] if covered else "-",
            }
        )
    schedule = from_holidays_library(country, year)
    if schedule is None:
        raise CommandError(
            _("The holidays library has no data for %(country)s %(year)s. Nothing was changed.")
            % {"country": country, "year": year}
        )
    return schedule


# -- writing ---------------------------------------------------------------------------------


def apply_schedule(calendar: BusinessCalendar, schedule: Schedule) -> Outcome:
    """Bring the library rows of one year in line with the schedule; staff rows win."""
    outcome = Outcome()
    first, last = date(schedule.year, 1, 1), date(schedule.year, 12, 31)
    existing = {row.date: row for row in calendar.exceptions.filter(date__range=(first, last))}
    wanted = {d: (Kind.HOLIDAY, n) for d, n in schedule.holidays.items()}
    # A day the library lists both ways cannot happen; if it did, working wins (the
    # conservative choice for deadlines is not to count a day as free that may be worked).
    wanted.update({d: (Kind.WORKDAY, n) for d, n in schedule.workdays.items()})

    to_create, to_update = [], []
    for day, (kind, (name, name_en)) in sorted(wanted.items()):
        row = existing.get(day)
        if row is None:
            to_create.append(
                CalendarException(
                    calendar=calendar,
                    date=day,
                    kind=kind,
                    name=name,
                    name_en=name_en,
                    source=schedule.source,
                )
            )
        elif row.source == Source.MANUAL:
            outcome.kept += 1
        elif (row.kind, row.name, row.name_en, row.source) != (
            kind,
            name,
            name_en,
            schedule.source,
        ):
            row.kind, row.name, row.name_en, row.source = kind, name, name_en, schedule.source
            to_update.append(row)
    # Library rows the schedule no longer lists (a corrected schedule, another library).
    stale = [
        row.pk for day, row in existing.items() if day not in wanted and row.source != Source.MANUAL
    ]
    if to_create:
        CalendarException.objects.bulk_create(to_create)
    if to_update:
        CalendarException.objects.bulk_update(to_update, ["kind", "name", "name_en", "source"])
    if stale:
        CalendarException.objects.filter(pk__in=stale).delete()
    outcome.added, outcome.changed, outcome.removed = len(to_create), len(to_update), len(stale)

    outcome.new_year = mark_year_loaded(calendar, schedule.year, schedule.source)
    if not outcome.new_year:
        CalendarYear.objects.filter(calendar=calendar, year=schedule.year).exclude(
            source=schedule.source
        ).update(source=schedule.source)
    return outcome


class Command(BaseCommand):
    help = gettext_lazy(
        "Load official holidays and moved working days (调休) into a business calendar and "
        "recompute the deadlines that depended on them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--country",
            default="CN",
            help=gettext_lazy("ISO 3166-1 alpha-2 country code (default: CN)."),
        )
        parser.add_argument(
            "--year",
            dest="years",
            type=int,
            action="append",
            required=True,
            help=gettext_lazy("A year to load; repeat for several years."),
        )
        parser.add_argument(
            "--calendar",
            dest="calendar_code",
            help=gettext_lazy("Code of the business calendar (default: the default calendar)."),
        )

    def handle(self, *args, **options):
        if options["verbosity"] == 0:  # -v 0: only errors (e.g. `make demo-data`)
            self.stdout = OutputWrapper(StringIO())
        country = options["country"].strip().upper()
        years = sorted(set(options["years"]))
        calendar = self._calendar(options["calendar_code"])
        # Read every schedule first: an unknown year fails before anything is written.
        schedules = [official_schedule(country, year) for year in years]

        with transaction.atomic():
            calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
            known_before = set(calendar.years.values_list("year", flat=True))
            outcomes = [(schedule, apply_schedule(calendar, schedule)) for schedule in schedules]
            touched = any(outcome.touched for _s, outcome in outcomes)
            recomputed = 0
            if touched:
                touch_calendar(calendar.pk)
                # Deadlines in a year without data are the provisional ones; a year that was
                # known already and changed can move any deadline on this calendar.
                only_provisional = not any(
                    schedule.year in known_before
                    and (outcome.added or outcome.changed or outcome.removed)
                    for schedule, outcome in outcomes
                )
                recomputed = recompute_open(
                    reason=stored(
                        gettext_noop("Holidays %(years)s loaded into calendar “%(calendar)s”."),
                        years=", ".join(map(str, years)),
                        calendar=names(calendar),
                    ),
                    calendar_id=calendar.pk,
                    provisional_only=only_provisional,
                )

        for schedule, outcome in outcomes:
            self._report(calendar, country, schedule, outcome)
        if touched:
            self.stdout.write(
                self.style.SUCCESS(
                    ngettext(
                        "Deadlines of %(count)d open complaint recomputed.",
                        "Deadlines of %(count)d open complaints recomputed.",
                        recomputed,
                    )
                    % {"count": recomputed}
                )
            )
        else:
            self.stdout.write(_("Nothing changed; no deadlines recomputed."))

    def _calendar(self, code: str | None) -> BusinessCalendar:
        if code:
            calendar = BusinessCalendar.objects.filter(code=code).first()
            if calendar is None:
                known = ", ".join(BusinessCalendar.objects.values_list("code", flat=True))
                raise CommandError(
                    _("No business calendar with the code “%(code)s” (known: %(known)s).")
                    % {"code": code, "known": known or "-"}
                )
            return calendar
        calendar = BusinessCalendar.objects.filter(is_default=True).first()
        if calendar is None:
            raise CommandError(
                _(
                    "There is no default business calendar: name one with --calendar CODE "
                    "or mark one as default in the admin."
                )
            )
        return calendar

    def _report(self, calendar, country, schedule: Schedule, outcome: Outcome) -> None:
        source = Source(schedule.source).label
        self.stdout.write(
            _(
                "%(calendar)s, %(country)s %(year)s from %(source)s: %(holidays)d holidays, "
                "%(workdays)d moved working days."
            )
            % {
                "calendar": calendar.code,
                "country": country,
                "year": schedule.year,
                "source": source,
                "holidays": len(schedule.holidays),
                "workdays": len(schedule.workdays),
            }
        )
        summary = _("%(added)d added, %(changed)d changed, %(removed)d removed") % {
            "added": outcome.added,
            "changed": outcome.changed,
            "removed": outcome.removed,
        }
        if outcome.kept:
            summary += "; " + ngettext(
                "%(kept)d day entered by staff kept as it is",
                "%(kept)d days entered by staff kept as they are",
                outcome.kept,
            ) % {"kept": outcome.kept}
        self.stdout.write("  " + summary)
        if outcome.new_year:
            self.stdout.write(
                "  "
                + _("%(year)s is now marked as a year with holiday data.") % {"year": schedule.year}
            )
        for note in schedule.notes:
            self.stdout.write(self.style.WARNING("  " + note))
