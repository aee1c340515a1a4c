"""Reference data for responsibility determination (责任判定)."""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Validity(models.TextChoices):
    """Whether the complaint is justified; decided during initial assessment."""

    UNDETERMINED = "undetermined", _("Not yet judged")
    VALID = "valid", _("Valid")
    INVALID = "invalid", _("Invalid")


def localized_name(obj) -> str:
    """Bilingual reference data: `name` is zh-Hans, `name_en` English (falls back to `name`)."""
    return pick_name(obj.name, getattr(obj, "name_en", ""))


def pick_name(name: str, name_en: str) -> str:
    """The name for the active language from a (Chinese, English) pair, e.g. from values()."""
    if (get_language() or "").lower().startswith("en") and name_en:
        return name_en
    return name


class RootCause(models.Model):
    """A root-cause category, a data table staff edit in the admin."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("root cause")
        verbose_name_plural = _("root causes")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return localized_name(self)
