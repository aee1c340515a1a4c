"""{% demo_accounts as accounts %}: the demo's accounts to try, for the login page.

Only outside production, and only accounts that exist and are active (a database without
the demo data lists nothing)."""

from django import template
from django.conf import settings
from django.contrib.auth import get_user_model

from ..demo import accounts

register = template.Library()


@register.simple_tag
def demo_accounts() -> dict | None:
    if settings.PRODUCTION:
        return None
    users = get_user_model().objects.filter(username__in=accounts.USERNAMES, is_active=True)
    names = {u.username: u.get_full_name() for u in users}
    if not names:
        return None
    rows = [
        {"username": u, "role": role.split(" · ")[0], "role_zh": role.split(" · ")[-1],
         "name": names[u], "what": what}
        for u, role, _dept, what in accounts.TRY
        if u in names
    ]  # fmt: skip
    return {"password": accounts.PASSWORD, "rows": rows}
