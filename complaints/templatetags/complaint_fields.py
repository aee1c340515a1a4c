"""{{ field|field_label }}: a complaint field's translated name, for the timeline."""

from django import template
from django.core.exceptions import FieldDoesNotExist

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
