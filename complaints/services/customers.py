"""Customer contact normalisation: phones in E.164, emails in lower case (matching and
creating customers is services.intake)."""

import functools

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def normalize_phone(raw: str) -> str:
    """Return the phone number in E.164 (+8613812345678); raise ValidationError if invalid."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    # An intake normalises each number twice (the API's validation, then the service): the
    # second time is a look-up. Only valid numbers are kept (an error is raised each time,
    # in the language of the moment).
    return _e164(raw, settings.REDRESS_PHONE_REGION)


@functools.lru_cache(maxsize=256)
def _e164(raw: str, region: str) -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("“%(phone)s” is not a phone number.") % {"phone": raw}) from exc
    # is_possible_number only checks the length: "12345" passed as +8612345.
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _(
                "“%(phone)s” is not a valid phone number: give a mobile number or a landline "
                "with its area code, with +country code if it is not in %(region)s."
            )
            % {"phone": raw, "region": region}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_search_key(raw: str) -> str | None:
    """The normalised phone for a search box entry, or None if it is not a phone number."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) < 7 or len(digits) > 15:
        return None
    try:
        return normalize_phone(raw) or None
    except ValidationError:
        return None


def normalize_email(raw: str) -> str:
    return (raw or "").strip().lower()
