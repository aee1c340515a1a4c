"""Admin login throttled after repeated failures, per account and per address. The counts
live in the database (services.login_throttle): the lockout holds without Redis and across
all web processes."""

import unicodedata
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from unfold.forms import AuthenticationForm

from ..http import client_ip
from ..services import login_throttle


class ThrottledLoginForm(AuthenticationForm):
    """After LOGIN_FAILURE_LIMIT failures for one user name (or 4x as many from one address)
    within LOGIN_LOCKOUT_SECONDS, further attempts are refused without checking the password."""

    def _keys(self) -> list[tuple[str, int]]:
        limit = settings.REDRESS_LOGIN_FAILURE_LIMIT
        # As Django compares user names: NFKC-normalised (full-width "ａｄｍｉｎ" is "admin").
        raw = self.data.get("username") or ""
        username = unicodedata.normalize("NFKC", raw).strip().casefold()[:150]
        return [
            (f"login-failures:user:{username}", limit),
            (f"login-failures:ip:{client_ip(self.request)}", limit * 4),
        ]

    def clean(self):
        keys = self._keys()
        if login_throttle.is_locked(dict(keys)):
            raise ValidationError(
                _("Too many failed logins. Try again in %(minutes)d minutes.")
                % {"minutes": settings.REDRESS_LOGIN_LOCKOUT_SECONDS // 60},
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            self._count_failure(keys)
            raise
        if self.user_cache is None:  # e.g. an empty password: not a login, not a reset
            self._count_failure(keys)
            return cleaned
        login_throttle.clear(keys[0][0])  # only a real successful login clears the count
        return cleaned

    def _count_failure(self, keys) -> None:
        login_throttle.record_failure(
            [key for key, _limit in keys],
            lockout=timedelta(seconds=settings.REDRESS_LOGIN_LOCKOUT_SECONDS),
        )


admin.site.login_form = ThrottledLoginForm
# Outside production the login page lists the demo accounts (when the demo data exists).
admin.site.login_template = "complaints/admin/login.html"
