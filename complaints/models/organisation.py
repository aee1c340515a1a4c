from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .responsibility import localized_name


class Department(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    email = models.EmailField(_("email"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="DepartmentMembership",
        related_name="departments",
        verbose_name=_("members"),
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self) -> str:
        return localized_name(self)

    def clean(self) -> None:
        node, seen = self.parent, set()
        while node is not None:
            if node.pk == self.pk or node.pk in seen:
                raise ValidationError({"parent": _("A department cannot be its own ancestor.")})
            seen.add(node.pk)
            node = node.parent


class DepartmentMembership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        HEAD = "head", _("Head")

    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="department_memberships",
    )
    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.MEMBER)

    class Meta:
        verbose_name = _("department membership")
        verbose_name_plural = _("department memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "user"], name="membership_unique_user_per_department"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.department} ({self.get_role_display()})"
