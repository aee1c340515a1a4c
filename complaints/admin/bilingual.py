"""Bilingual reference data in the admin (issue 11): the list shows the name in the reader's
language; search matches the Chinese and the English name; forms edit both."""

from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from ..models import localized_name


class BilingualNameMixin:
    """`display_name` for list_display: the reader's language, sorted by the Chinese name."""

    @display(description=_("name"), ordering="name")
    def display_name(self, obj):
        return localized_name(obj)
