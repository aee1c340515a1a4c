from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from ..messages import stored
from ..models import Category, Department, DepartmentMembership, localized_name
from ..services.categories import rebuild_paths
from ..services.recompute import schedule_recompute
from .bilingual import BilingualNameMixin
from .jobs import report_jobs


class MembershipInline(TabularInline):
    model = DepartmentMembership
    fk_name = "department"
    extra = 1
    autocomplete_fields = ("user",)


@admin.register(Department)
class DepartmentAdmin(BilingualNameMixin, ModelAdmin):
    list_display = ("code", "display_name", "parent", "email", "member_count", "active")
    list_filter = ("active",)
    list_select_related = ("parent",)
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("parent",)
    inlines = [MembershipInline]

    def get_queryset(self, request):
        # The count's GROUP BY drops Meta.ordering: the pickers page through this queryset.
        queryset = super().get_queryset(request).annotate(_members=Count("memberships"))
        return queryset.order_by(*Department._meta.ordering, "pk")

    @display(description=_("members"), ordering="_members")
    def member_count(self, obj):
        return obj._members

    def has_delete_permission(self, request, obj=None):
        return False  # departments own complaint history: deactivate instead


@admin.register(Category)
class CategoryAdmin(ModelAdmin):
    list_display = ("indented_name", "code", "default_department", "sort_order", "active")
    list_filter = ("active", "default_department")
    list_select_related = ("default_department",)
    search_fields = ("code", "name", "name_en", "path", "path_en")
    autocomplete_fields = ("parent", "default_department")
    fields = ("name", "name_en", "code", "parent", "default_department", "sort_order", "active")
    ordering = ("sort_key",)

    @display(description=_("category"), ordering="sort_key")
    def indented_name(self, obj):
        return ("— " * obj.depth) + localized_name(obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        rebuild_paths()
        if change and "parent" in form.changed_data:
            # Policies narrowed to a category cover its subcategories: moving one can change
            # which policy applies.
            report_jobs(
                self,
                request,
                [
                    schedule_recompute(
                        reason=stored(gettext_noop("The category tree changed.")),
                        actor=request.user,
                    )
                ],
            )

    def has_delete_permission(self, request, obj=None):
        return False  # complaints keep their category: deactivate instead
