"""Reply templates (macros) in the admin: complaint managers keep everyone's, department heads
their departments' (isolated like complaints); handlers use them on the complaint page and
do not edit them (no permission)."""

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from ..models import Department, DepartmentMembership, ReplyTemplate
from ..models.desk import PLACEHOLDERS
from ..selectors import sees_all


def _own_departments(user) -> list[int]:
    return list(
        DepartmentMembership.objects.filter(user=user).values_list("department_id", flat=True)
    )


class ReplyTemplateForm(forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = (
            "name",
            "name_en",
            "kind",
            "department",
            "body",
            "body_en",
            "sort_order",
            "active",
        )
        widgets = {
            "body": forms.Textarea(attrs={"rows": 6}),
            "body_en": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        help_text = " ".join(f"{{{name}}}: {text}." for name, text in PLACEHOLDERS.items())
        self.fields["body"].help_text = help_text
        self.fields["body_en"].help_text = _(
            "Offered when the English text is chosen; empty: the Chinese one."
        )
        if user is not None and not sees_all(user) and "department" in self.fields:
            # A department head keeps only their departments' templates.
            field = self.fields["department"]
            field.queryset = Department.objects.filter(pk__in=_own_departments(user))
            field.required = True
            field.empty_label = None
            field.help_text = _("Your department's handlers are offered it.")


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(ModelAdmin):
    form = ReplyTemplateForm
    list_display = ("name", "name_en", "kind", "department_name", "sort_order", "active")
    list_display_links = ("name", "name_en")
    list_filter = ("active", "kind", "department")
    list_select_related = ("department",)
    search_fields = ("name", "name_en", "body", "body_en")
    ordering = ("sort_order", "name")
    readonly_fields = ("updated_by", "updated_at")

    def get_fields(self, request, obj=None):
        return [*ReplyTemplateForm.Meta.fields, "updated_by", "updated_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class WithUser(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=user, **kw)

        return WithUser

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if sees_all(request.user):
            return rows
        # Heads (and auditors of a department) see the templates for everyone, read-only,
        # and their departments' ones.
        return rows.filter(
            Q(department__isnull=True) | Q(department_id__in=_own_departments(request.user))
        )

    @display(description=_("department"), ordering="department__name")
    def department_name(self, obj):
        return str(obj.department) if obj.department_id else _("everyone")

    def _may_edit(self, request, obj) -> bool:
        if obj is None or sees_all(request.user):
            return True
        return obj.department_id is not None and obj.department_id in _own_departments(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_add_permission(self, request):
        if not super().has_add_permission(request):
            return False
        return sees_all(request.user) or bool(_own_departments(request.user))

    def has_delete_permission(self, request, obj=None):
        return False  # switch it off (active) instead; texts may be quoted on timelines

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
