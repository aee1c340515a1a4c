"""The plausibility rule for every point in time a person enters (admin forms, the API,
services called by imports and commands): not before REDRESS_EARLIEST_TIME, not further in
the future than REDRESS_FUTURE_SKEW_SECONDS. One function, used everywhere.

Why it matters: a time like 0001-01-01 at +08:00 is stored by PostgreSQL as a BC timestamp
that Python cannot read back; every query touching the row then fails, including the
deadline sweep for all departments.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def earliest_time() -> datetime:
    """Midnight (in TIME_ZONE) of REDRESS_EARLIEST_TIME, an ISO date."""
    day = date.fromisoformat(str(settings.REDRESS_EARLIEST_TIME))
    return timezone.make_aware(datetime.combine(day, time.min))


def future_skew() -> timedelta:
    return timedelta(seconds=settings.REDRESS_FUTURE_SKEW_SECONDS)


def check_entered_time(value: datetime | None, *, what=None, now: datetime | None = None) -> None:
    """Raise ValidationError unless `value` is a plausible time for a person to enter.

    `what` names the time in the message (default "The time")."""
    if value is None:
        return
    what = what or _("The time")
    first = earliest_time()
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value < first:
        raise ValidationError(
            _("%(what)s cannot be earlier than %(earliest)s."),
            code="too_early",
            params={"what": what, "earliest": first.date().isoformat()},
        )
    if value > (now or timezone.now()) + future_skew():
        raise ValidationError(
            _("%(what)s cannot be in the future."), code="in_future", params={"what": what}
        )


def validate_received_at(value: datetime) -> None:
    """Model/form field validator for the time a complaint was received."""
    check_entered_time(value, what=_("The time received"))


def validate_contacted_at(value: datetime) -> None:
    check_entered_time(value, what=_("The contact time"))
