"""Timeline helpers: {{ field|field_label }} (a complaint field's translated name),
{{ value|timeline_value }} (stored values as people read them), {{ data|message }}."""

import re

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from ..models import Complaint

register = template.Library()


@register.filter
def field_label(name: str) -> str:
    try:
        return str(Complaint._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


@register.filter
def message(value) -> str:
    """{{ event.data.message|message }}: a stored system text in the reader's language."""
    from ..messages import render

    return render(value)


ISO_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@register.filter
def timeline_value(value):
    """Times are stored as ISO strings (2026-03-02T17:00:00.123456+08:00): shown as the
    reader's short date and time in the site's zone, without seconds."""
    if isinstance(value, str) and ISO_DATETIME_RE.match(value):
        parsed = parse_datetime(value)
        if parsed is not None:
            if timezone.is_aware(parsed):
                parsed = timezone.localtime(parsed)
            return formats.date_format(parsed, "Y-m-d H:i")
    if value is True or value is False:
        return gettext("yes") if value else gettext("no")
    if isinstance(value, (dict, list)):  # stored messages, bilingual names
        from ..messages import render

        return render(value) if isinstance(value, dict) else ", ".join(map(render, value))
    return value
