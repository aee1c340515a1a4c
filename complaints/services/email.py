"""Every email the product sends is built here, so that every header value is normalised in
one place: a subject or a name taken from customer text may hold line or paragraph
separators, vertical tabs, form feeds, NEL or other control characters; any of them in a
header makes the email fail (or, unchecked, would inject headers)."""

import re
import unicodedata

from django.core.mail import EmailMultiAlternatives

SUBJECT_MAX = 250
_SPACES = re.compile(r"\s+")


def header_value(text: str, *, max_length: int | None = None) -> str:
    """One clean line: every control, line or paragraph separator character (Unicode
    categories Cc, Zl, Zp: CR, LF, VT, FF, NEL, U+2028, U+2029, ...) becomes a space, runs
    of spaces collapse, ends are trimmed."""
    cleaned = "".join(
        " " if unicodedata.category(char) in {"Cc", "Zl", "Zp"} else char for char in str(text)
    )
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return cleaned[:max_length] if max_length else cleaned


def build_email(
    *, subject: str, body: str, to, headers: dict | None = None
) -> EmailMultiAlternatives:
    """An email with every header value (subject, addresses, extra headers) normalised."""
    return EmailMultiAlternatives(
        subject=header_value(subject, max_length=SUBJECT_MAX),
        body=body,
        to=[header_value(address) for address in to if header_value(address)],
        headers={header_value(k): header_value(v) for k, v in (headers or {}).items()},
    )
