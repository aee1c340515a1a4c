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


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass
