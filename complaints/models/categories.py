from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .responsibility import pick_name


def pick_path(path: str, path_en: str, name: str, name_en: str) -> str:
    """Category.localized_path from its values (e.g. from values() or a per-process copy)."""
    return pick_name(path, path_en) or pick_name(name, name_en)


class Category(models.Model):
    """A node of the complaint category tree. `path` and `depth` are kept by services.categories."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    default_department = models.ForeignKey(
        "complaints.Department",
        verbose_name=_("default responsible department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="default_categories",
    )
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    path = models.CharField(_("full name"), max_length=1000, editable=False, default="")
    path_en = models.CharField(
        _("full name (English)"), max_length=1000, editable=False, default=""
    )
    sort_key = models.CharField(max_length=1000, editable=False, default="", db_index=True)
    depth = models.PositiveSmallIntegerField(editable=False, default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_key"]

    def __str__(self) -> str:
        return self.localized_path()

    def localized_path(self) -> str:
        """The full name (parent / child) in the reader's language."""
        return pick_path(self.path, self.path_en, self.name, self.name_en)

    def clean(self) -> None:
        node, seen = self.parent, set()
        while node is not None:
            if node.pk == self.pk or node.pk in seen:
                raise ValidationError({"parent": _("A category cannot be its own ancestor.")})
            seen.add(node.pk)
            node = node.parent
