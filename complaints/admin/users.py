"""Staff users and groups in the Unfold look, with department memberships on the user page."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from unfold.admin import ModelAdmin, TabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from ..models import DepartmentMembership

admin.site.unregister(User)
admin.site.unregister(Group)


class MembershipInline(TabularInline):
    model = DepartmentMembership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ("department",)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    inlines = [MembershipInline]
    list_display = ("username", "first_name", "last_name", "email", "is_staff", "is_active")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Superuser status and individual permissions stay with superusers; roles (groups)
            # are how everyone else grants access.
            readonly += ["is_superuser", "user_permissions"]
            if obj is not None and obj.pk == request.user.pk:
                # Nobody but a superuser gives themselves a role (and its permissions).
                readonly += ["groups"]
        return readonly

    def has_change_permission(self, request, obj=None):
        # A superuser's account (password, name, email, active, roles) is changed only by a
        # superuser: otherwise a system administrator could take it over. The same check
        # guards the password change page (UserAdmin.user_change_password asks this).
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    # The complaint form's assignee picker (and the list's assignee filter) asks this admin:
    # anyone who may see complaints may search active staff who belong to a department.
    def _assignee_lookup(self, request) -> bool:
        match = request.resolver_match
        return bool(
            match
            and match.url_name == "autocomplete"
            and request.GET.get("app_label") == "complaints"
            and request.GET.get("model_name") == "complaint"
            and request.GET.get("field_name") == "assignee"
        )

    def has_view_permission(self, request, obj=None):
        if obj is None and self._assignee_lookup(request):
            return request.user.has_perm("complaints.view_complaint")
        return super().has_view_permission(request, obj)

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        if self._assignee_lookup(request):
            members = DepartmentMembership.objects.values("user_id")
            queryset = queryset.filter(is_active=True, pk__in=members)
        return queryset, distinct


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    """Roles. Their permissions are what every member may do: only superusers create or
    change them (a system administrator assigns roles but cannot widen them)."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
