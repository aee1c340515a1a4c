"""Counters that protect the admin login, kept in the database: shared by every web process
and still there when Redis is not (a per-process cache would multiply the limits by the
number of workers)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginThrottle(models.Model):
    """Failed admin logins for one key (a user name or an address) since `window_start`; the
    count no longer counts once `expires_at` has passed."""

    key = models.CharField(_("key"), max_length=200, unique=True)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("login throttle")
        verbose_name_plural = _("login throttles")

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"
