"""System texts stored as a message id plus parameters, rendered in the reader's language.

Services never store translated text that someone reads later (timeline entries, inbox
titles, reasons): they store ``stored(gettext_noop("... %(name)s ..."), name=value)`` in a
JSON field and the page renders it with ``render()`` in the reader's active language.
A parameter may itself be a stored message (a nested dict), e.g. a status label:
``stored(gettext_noop("Moved to %(status)s"), status=stored(Status.RESOLVED.label_msgid))``.
A parameter may also be bilingual reference data, ``names(department)`` (its Chinese and English
names, shown in the reader's language), and a whole value may be a list of messages (shown
one after the other, e.g. every severity rule that holds).

``with_text()`` adds the English (source) text under ``text`` for readers that cannot render
(the SQL of the CSV export); pages always render from the message id.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language, gettext

KEY = "msg"
NAMES = "names"  # bilingual reference data: {"names": [zh, en]}


def stored(msgid: str, /, **params: Any) -> dict:
    """A message to keep in a JSONField: the untranslated msgid and its parameters."""
    return {KEY: str(msgid), "params": params}


def names(obj: Any) -> dict | str:
    """Bilingual reference data (`name` Chinese, `name_en` English; a category's full names)
    as a parameter: shown in the reader's language. Empty for None."""
    if obj is None:
        return ""
    zh = getattr(obj, "path", "") or obj.name
    en = getattr(obj, "path_en", "") or getattr(obj, "name_en", "") or zh
    return {NAMES: [zh, en]}


def is_stored(value: Any) -> bool:
    return isinstance(value, dict) and KEY in value


def _is_names(value: Any) -> bool:
    return isinstance(value, dict) and NAMES in value


def _param(value: Any, translate) -> Any:
    if is_stored(value) or isinstance(value, list):
        return _render(value, translate)
    if _is_names(value):
        zh, en = (list(value[NAMES]) + ["", ""])[:2]
        english = translate is None or (get_language() or "").lower().startswith("en")
        return (en or zh) if english else zh
    return value


def with_text(value: dict) -> dict:
    """The message plus its English text under `text` (for SQL readers such as the export)."""
    return {**value, "text": source_text(value)}


def source_text(value: Any) -> str:
    """The English (untranslated) text of a stored message."""
    return _render(value, None)


def render(value: Any) -> str:
    """Translate a stored message (or pass a plain value through) in the active language."""
    return _render(value, gettext)


def _render(value: Any, translate) -> str:
    if isinstance(value, list):
        return " ".join(filter(None, (_render(v, translate) for v in value)))
    if _is_names(value):
        return str(_param(value, translate))
    if not is_stored(value):
        return "" if value is None else str(value)
    params = {k: _param(v, translate) for k, v in (value.get("params") or {}).items()}
    text = translate(value[KEY]) if translate else value[KEY]
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
