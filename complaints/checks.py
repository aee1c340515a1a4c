"""System checks for the SLA clock: holiday data that is missing, deadlines that are guesses.

They run with every management command, so they must stay cheap (4 queries) and must never
fail: before `migrate`, or without a reachable database, they report nothing.
"""

from datetime import date

from django.core.checks import Warning
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Within this many days of 31 December, next year's holidays are needed too.
NEXT_YEAR_WARNING_DAYS = 90


def years_needed(today: date) -> list[int]:
    """The years whose holiday schedule deadlines set today may fall in."""
    years = [today.year]
    if (date(today.year, 12, 31) - today).days < NEXT_YEAR_WARNING_DAYS:
        years.append(today.year + 1)
    return years


def sla_data_check(app_configs=None, databases=None, **kwargs) -> list[Warning]:
    """complaints.W001: a calendar in use lacks holiday data for a year deadlines reach.
    complaints.W002: open complaints whose deadlines are provisional."""
    if app_configs is not None and not any(c.label == "complaints" for c in app_configs):
        return []
    alias = DEFAULT_DB_ALIAS
    if databases:
        alias = DEFAULT_DB_ALIAS if DEFAULT_DB_ALIAS in databases else sorted(databases)[0]
    try:
        return _messages(alias, timezone.localdate())
    except DatabaseError:
        # No server, or the schema is behind the models (migrations not applied yet).
        return []


def _messages(alias: str, today: date) -> list[Warning]:
    from .models import BusinessCalendar, CalendarYear, Complaint, SLAPolicy

    needed_tables = {
        model._meta.db_table for model in (BusinessCalendar, CalendarYear, Complaint, SLAPolicy)
    }
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    if not needed_tables <= tables:
        return []

    messages: list[Warning] = []
    years = years_needed(today)
    in_use = (
        BusinessCalendar.objects.using(alias)
        .filter(
            Q(is_default=True)
            | Q(pk__in=SLAPolicy.objects.filter(active=True).values("calendar_id"))
        )
        .only("code", "name", "name_en")
        .order_by("code")
    )
    calendars = list(in_use)
    loaded = set(
        CalendarYear.objects.using(alias)
        .filter(calendar__in=[c.pk for c in calendars], year__in=years)
        .values_list("calendar_id", "year")
    )
    for calendar in calendars:
        missing = [year for year in years if (calendar.pk, year) not in loaded]
        if not missing:
            continue
        messages.append(
            Warning(
                _(
                    "Business calendar “%(name)s” has no holiday data for %(years)s: "
                    "deadlines there count weekends only and are marked provisional."
                )
                % {"name": calendar, "years": ", ".join(map(str, missing))},
                hint=_("Run: python manage.py load_holidays --calendar %(code)s %(years)s")
                % {
                    "code": calendar.code,
                    "years": " ".join(f"--year {year}" for year in missing),
                },
                obj=calendar,
                id="complaints.W001",
            )
        )

    provisional = Complaint.objects.using(alias).open().filter(deadline_provisional=True).count()
    if provisional:
        messages.append(
            Warning(
                ngettext(
                    "%(count)d open complaint has a provisional deadline (it falls in a year "
                    "without holiday data).",
                    "%(count)d open complaints have provisional deadlines (they fall in a "
                    "year without holiday data).",
                    provisional,
                )
                % {"count": provisional},
                hint=_(
                    "Load the holidays of that year with manage.py load_holidays; the "
                    "deadlines are recomputed then."
                ),
                id="complaints.W002",
            )
        )
    return messages


def notification_lists_check(app_configs=None, databases=None, **kwargs) -> list[Warning]:
    """complaints.W003: a built-in notification list (level-2 escalations, crisis notices)
    reaches nobody."""
    if app_configs is not None and not any(c.label == "complaints" for c in app_configs):
        return []
    alias = DEFAULT_DB_ALIAS
    if databases:
        alias = DEFAULT_DB_ALIAS if DEFAULT_DB_ALIAS in databases else sorted(databases)[0]
    try:
        from .models import NotificationList
        from .services.audiences import empty_lists

        connection = connections[alias]
        with connection.cursor() as cursor:
            tables = set(connection.introspection.table_names(cursor))
        if NotificationList._meta.db_table not in tables:
            return []
        return [
            Warning(
                empty_list_message(nl),
                hint=_(
                    "Add staff or email addresses in the admin: Deadlines → Notification lists."
                ),
                obj=nl if nl.pk else None,
                id="complaints.W003",
            )
            for nl in empty_lists(alias)
        ]
    except DatabaseError:
        return []


def empty_list_message(notification_list) -> str:
    from .models import NotificationList

    if notification_list.code == NotificationList.CRISIS:
        return _("The crisis list “%(name)s” has nobody on it: crisis notices reach no one.") % {
            "name": notification_list.name
        }
    return _("The list “%(name)s” has nobody on it: level-2 escalations reach no one.") % {
        "name": notification_list.name
    }
