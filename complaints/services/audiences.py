"""Who hears the escalations that go beyond one department: the built-in notification lists
("Complaint managers" for level 2, "Crisis list" for crisis notices). An empty list means
those alerts reach nobody; the admin and `manage.py check` say so."""

from django.db.models import Count, Q

from ..models import NotificationList

BUILT_IN = (NotificationList.MANAGERS, NotificationList.CRISIS)


def empty_lists(using: str = "default") -> list[NotificationList]:
    """The built-in lists with no active staff member and no other email address, and the
    built-in lists that are missing altogether (as unsaved placeholders). One query."""
    lists = {
        nl.code: nl
        for nl in NotificationList.objects.using(using)
        .filter(code__in=BUILT_IN)
        .annotate(_active=Count("users", filter=Q(users__is_active=True)))
    }
    empty = []
    for code in BUILT_IN:
        found = lists.get(code)
        if found is None:
            empty.append(NotificationList(code=code, name=code))
        elif not found._active and not found.emails():
            empty.append(found)
    return empty
