"""Clients of the REST API and the idempotency records of their intake requests."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .complaint import Complaint
from .organisation import Department

KEY_PREFIX = "rdx_"
SCOPES = {
    "complaints:read": _("Read complaints, departments and categories"),
    "complaints:write": _("Send complaints in and add notes"),
    "compensations:read": _("Read compensations"),
    "followups:read": _("Read follow-ups, satisfaction surveys and repeat links"),
    "improvements:read": _("Read improvement actions and their effectiveness"),
    "pii:read": _("See customers' names, phone numbers and email addresses unmasked"),
    "reports:read": _("Read KPIs and monthly department reports"),
}


def validate_scopes(value) -> None:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ValidationError(_("Scopes must be a list of names."))
    unknown = sorted(set(value) - set(SCOPES))
    if unknown:
        raise ValidationError(
            _("Unknown scope(s): %(scopes)s. Known: %(known)s."),
            params={"scopes": ", ".join(unknown), "known": ", ".join(SCOPES)},
        )


def hash_key(key: str) -> str:
    # The key carries 256 random bits: a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiClient(models.Model):
    """Another system or department that calls the API with `Authorization: Token <key>`."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    owner = models.CharField(
        _("owner"), max_length=200, blank=True, help_text=_("Who is responsible for it.")
    )
    active = models.BooleanField(_("active"), default=True)
    scopes = models.JSONField(_("scopes"), default=list, validators=[validate_scopes])
    department = models.ForeignKey(
        Department,
        verbose_name=_("only this department's data"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty: all departments."),
    )
    key_prefix = models.CharField(_("key starts with"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def new_key(self) -> str:
        """Give the client a new key; returns it (only its hash is kept)."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        self.key_prefix = key[: len(KEY_PREFIX) + 8]
        self.key_hash = hash_key(key)
        return key

    def key_matches(self, key: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_key(key))

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyRecord(models.Model):
    """The first intake request made with an Idempotency-Key; a repeat returns its complaint."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "key"],
                condition=models.Q(client__isnull=False),
                name="idempotency_key_per_client",
            ),
            models.UniqueConstraint(
                fields=["user", "key"],
                condition=models.Q(user__isnull=False),
                name="idempotency_key_per_user",
            ),
        ]

    def __str__(self) -> str:
        return self.key
