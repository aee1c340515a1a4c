"""Admin login throttling: failures counted per user name and per address in the database
(complaints.models.LoginThrottle), so the lockout holds across processes and without Redis."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import LoginThrottle


def is_locked(limits: dict[str, int], *, now: datetime | None = None) -> bool:
    """True if any key has reached its limit within its window (one query)."""
    now = now or timezone.now()
    reached = Q()
    for key, limit in limits.items():
        reached |= Q(key=key, failures__gte=limit)
    return LoginThrottle.objects.filter(reached, expires_at__gt=now).exists()


def record_failure(keys, *, lockout: timedelta, now: datetime | None = None) -> None:
    """Count one failure for each key; a key whose window has passed starts again at 1."""
    now = now or timezone.now()
    for key in keys:
        if LoginThrottle.objects.filter(key=key, expires_at__gt=now).update(
            failures=F("failures") + 1
        ):
            continue
        try:
            with transaction.atomic():
                LoginThrottle.objects.update_or_create(
                    key=key, defaults={"failures": 1, "expires_at": now + lockout}
                )
        except IntegrityError:  # created concurrently: count on it
            LoginThrottle.objects.filter(key=key).update(failures=F("failures") + 1)
    # Windows that have passed are of no use any more (indexed on expires_at).
    LoginThrottle.objects.filter(expires_at__lte=now).delete()


def clear(key: str) -> None:
    LoginThrottle.objects.filter(key=key).delete()
