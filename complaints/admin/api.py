"""API clients: other systems that call the REST API with `Authorization: Token <key>`.

Only a hash of a key is stored. The key is shown once, in the message after the client is
created or after "issue a new key"; nobody can read it again later, so a lost key is replaced,
never recovered. A client that was ever used is deactivated, not deleted: complaints it sent
keep pointing at it.
"""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget

from ..models import SCOPES, ApiClient
from ..services.apiclients import grant_problems


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("scopes"),
        choices=[(scope, f"{scope} — {text}") for scope, text in SCOPES.items()],
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
        help_text=gettext_lazy(
            "What the client may do. Without pii:read, personal data is masked."
        ),
    )

    class Meta:
        model = ApiClient
        fields = ("name", "owner", "active", "scopes", "department")

    def clean_scopes(self):
        return sorted(set(self.cleaned_data["scopes"]))

    def clean(self):
        cleaned = super().clean()
        user = getattr(self, "request_user", None)
        if user is not None and "scopes" in cleaned:
            # Nobody hands out more access than they have (services.apiclients).
            for problem in grant_problems(
                user, scopes=cleaned["scopes"], department=cleaned.get("department")
            ):
                self.add_error(None, problem)
        return cleaned


def _show_key(request, client: ApiClient, key: str) -> None:
    messages.success(
        request,
        _(
            "The key of API client “%(name)s” is %(key)s — copy it now: it is shown only this "
            "once (only a hash is stored)."
        )
        % {"name": client.name, "key": key},
    )


@admin.register(ApiClient)
class ApiClientAdmin(ModelAdmin):
    form = ApiClientForm
    list_display = (
        "name",
        "owner",
        "active",
        "scope_list",
        "department",
        "key_prefix",
        "created_at",
        "last_used_at",
    )
    list_filter = ("active", "department")
    list_select_related = ("department",)
    search_fields = ("name", "owner", "key_prefix")
    autocomplete_fields = ("department",)
    readonly_fields = ("key_prefix", "created_at", "last_used_at")
    ordering = ("name",)
    actions = ["issue_new_key"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request_user = request.user
        return form

    def get_fields(self, request, obj=None):
        fields = ["name", "owner", "active", "scopes", "department"]
        if obj is not None:
            fields += ["key_prefix", "created_at", "last_used_at"]
        return fields

    @display(description=gettext_lazy("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes) or "—"

    def save_model(self, request, obj, form, change):
        key = None if change else obj.new_key()
        super().save_model(request, obj, form, change)
        if key is not None:
            _show_key(request, obj, key)

    @action(
        description=gettext_lazy("Issue a new key (the old one stops working)"),
        permissions=["change"],
    )
    def issue_new_key(self, request, queryset):
        # A new key hands over all the client may do: the same rule as creating it.
        clients, refused = [], []
        for client in queryset.select_related("department").order_by("name"):
            problems = grant_problems(
                request.user, scopes=client.scopes, department=client.department
            )
            (refused if problems else clients).append((client, problems))
        for client, problems in refused:
            self.message_user(
                request,
                _("No new key for “%(name)s” (its current key still works): %(why)s")
                % {"name": client.name, "why": " ".join(problems)},
                messages.ERROR,
            )
        clients = [client for client, _problems in clients]
        if not clients:
            return
        with transaction.atomic():
            for client in clients:
                key = client.new_key()
                client.save(update_fields=["key_prefix", "key_hash"])
                _show_key(request, client, key)
        self.message_user(
            request,
            ngettext(
                "%(count)d new key issued; the previous key no longer works.",
                "%(count)d new keys issued; the previous keys no longer work.",
                len(clients),
            )
            % {"count": len(clients)},
        )

    # A client that has called the API may have sent complaints (which point at it) and
    # appears in logs: deactivate it instead. A never-used one (a typo, a test) may go.
    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.last_used_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would skip the per-client check above
        return actions
