"""System texts stored as a message id plus parameters, rendered in the reader's language.

Services never store translated text that someone reads later (timeline entries, inbox
titles, reasons): they store ``stored(gettext_noop("... %(name)s ..."), name=value)`` in a
JSON field and the page renders it with ``render()`` in the reader's active language.
A parameter may itself be a stored message (a nested dict), e.g. a status label:
``stored(gettext_noop("Moved to %(status)s"), status=stored(Status.RESOLVED.label_msgid))``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

KEY = "msg"


def stored(msgid: str, /, **params: Any) -> dict:
    """A message to keep in a JSONField: the untranslated msgid and its parameters."""
    return {KEY: str(msgid), "params": params}


def is_stored(value: Any) -> bool:
    return isinstance(value, dict) and KEY in value


def render(value: Any) -> str:
    """Translate a stored message (or pass a plain value through) in the active language."""
    if not is_stored(value):
        return "" if value is None else str(value)
    params = {k: render(v) if is_stored(v) else v for k, v in (value.get("params") or {}).items()}
    text = gettext(value[KEY])
    if not params:
        return text
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        # A catalog entry that lost a placeholder must not break a page: fall back to English.
        try:
            return value[KEY] % params
        except (KeyError, TypeError, ValueError):
            return value[KEY]
