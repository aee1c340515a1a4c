"""Admin login throttled after repeated failures, per account and per address."""

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from unfold.forms import AuthenticationForm


def _client_ip(request) -> str:
    if request is None:
        return "?"
    # Behind the production proxy the address is the proxy's; X-Forwarded-For is set by it.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if settings.PRODUCTION else ""
    return (forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "?"))[:64]


class ThrottledLoginForm(AuthenticationForm):
    """After LOGIN_FAILURE_LIMIT failures for one user name (or 4x as many from one address)
    within LOGIN_LOCKOUT_SECONDS, further attempts are refused without checking the password."""

    def _keys(self) -> list[tuple[str, int]]:
        limit = settings.REDRESS_LOGIN_FAILURE_LIMIT
        username = (self.data.get("username") or "").strip().lower()[:150]
        return [
            (f"login-failures:user:{username}", limit),
            (f"login-failures:ip:{_client_ip(self.request)}", limit * 4),
        ]

    def clean(self):
        keys = self._keys()
        if any((cache.get(key) or 0) >= limit for key, limit in keys):
            raise ValidationError(
                _("Too many failed logins. Try again in %(minutes)d minutes.")
                % {"minutes": settings.REDRESS_LOGIN_LOCKOUT_SECONDS // 60},
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            for key, _limit in keys:
                if not cache.add(key, 1, settings.REDRESS_LOGIN_LOCKOUT_SECONDS):
                    try:
                        cache.incr(key)
                    except ValueError:  # expired in between
                        cache.add(key, 1, settings.REDRESS_LOGIN_LOCKOUT_SECONDS)
            raise
        cache.delete(keys[0][0])
        return cleaned


admin.site.login_form = ThrottledLoginForm
