import copy

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from ..messages import stored
from ..models import Complaint, Customer
from ..privacy import can_read, customer_label, mask
from ..selectors import visible_complaints, visible_customers
from ..services.customers import normalize_email, normalize_phone, phone_search_key
from ..services.errors import StaleVersion
from ..services.locking import check_customer_version
from ..services.recompute import schedule_recompute
from .jobs import report_jobs
from .pagination import EstimatedCountPaginator

IDENTITY_LABELS = {
    "phone": _("phone number"),
    "email": _("email address"),
    "external_id": _("external id"),
}


def identity_lookup(term: str) -> dict | None:
    """{field: normalised value} when a search term is a phone, an email or an external id
    on file (external ids have no format: any single word is tried)."""
    phone = phone_search_key(term)
    if phone:
        return {"phone": phone}
    if "@" in term:
        return {"email": normalize_email(term)}
    if " " not in term and Customer.objects.filter(external_id=term).exists():
        return {"external_id": term}
    return None


CLASH_MESSAGES = {
    "phone": _("Another customer on file has this phone number."),
    "email": _("Another customer on file has this email address."),
    "external_id": _("Another customer on file has this external id."),
}


NAMED_CLASH_MESSAGES = {
    "phone": _("%(customer)s already has this phone number."),
    "email": _("%(customer)s already has this email address."),
    "external_id": _("%(customer)s already has this external id."),
}


class CustomerForm(forms.ModelForm):
    """Edits are checked against the version the form was loaded with (as complaints are)."""

    loaded_version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, label=_("version of the record")
    )

    class Meta:
        model = Customer
        fields = (
            "name",
            "phone",
            "email",
            "external_id",
            "tier",
            "is_abusive",
            "is_difficult",
            "notes",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version

    def clean_phone(self):
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc

    def clean_email(self):
        return normalize_email(self.cleaned_data["email"])

    def clean_external_id(self):
        return self.cleaned_data["external_id"].strip()

    def clean(self):
        cleaned = super().clean()
        # One customer per phone, email and external id (database constraints). The other
        # customer is named only to a user who may see them and read personal data.
        if self.instance.duplicate_of_id is not None:
            return self._clean_version(cleaned)
        canonical = Customer.objects.filter(duplicate_of__isnull=True).exclude(pk=self.instance.pk)
        user = getattr(self, "request_user", None)
        for field, message in CLASH_MESSAGES.items():
            value = cleaned.get(field)
            clash = canonical.filter(**{field: value}).first() if value else None
            if clash is None:
                continue
            if (
                user is not None
                and can_read(user)
                and visible_customers(user, Customer.objects.filter(pk=clash.pk)).exists()
            ):
                message = NAMED_CLASH_MESSAGES[field] % {"customer": clash}
            self.add_error(field, message)
        return self._clean_version(cleaned)

    def _clean_version(self, cleaned):
        if self.instance.pk and not self.errors:
            self._check_version(cleaned)
        return cleaned

    def validate_constraints(self):
        pass  # checked field by field in clean(); the database enforces them on save

    def _check_version(self, cleaned) -> None:
        # The admin view runs in a transaction: this lock holds until the save commits.
        current = Customer.objects.select_for_update().get(pk=self.instance.pk)
        try:
            check_customer_version(current, cleaned.get("loaded_version"))
        except StaleVersion as exc:
            # Keep what the user typed; the next save is a conscious overwrite.
            self.data = self.data.copy()
            self.data["loaded_version"] = current.version
            raise forms.ValidationError(exc.message) from exc
        self.instance.version = current.version


class ComplaintHistoryInline(TabularInline):
    """The customer's complaints, newest first, read-only."""

    model = Complaint
    fk_name = "customer"
    verbose_name = _("complaint")
    verbose_name_plural = _("complaint history")
    fields = ("reference_link", "received_at", "subject", "status", "severity", "department")
    readonly_fields = fields
    extra = 0
    per_page = 20
    show_count = True
    can_delete = False
    ordering = ("-received_at", "-id")

    def get_queryset(self, request):
        rows = super().get_queryset(request).select_related("department")
        return visible_complaints(request.user, rows)

    @display(description=_("reference"))
    def reference_link(self, obj):
        url = reverse("admin:complaints_complaint_change", args=[obj.pk])
        return format_html('<a class="text-primary-600" href="{}">{}</a>', url, obj.reference)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ModelAdmin):
    form = CustomerForm
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_display = (
        "name",
        "phone",
        "email",
        "tier",
        "flags",
        "complaint_count",
        "created_at",
    )
    list_filter = ("tier", "is_abusive", "is_difficult")
    search_fields = ("name", "phone", "email", "external_id")
    search_help_text = _("Phone number, exact email or external id, or part of the name.")
    ordering = ("-created_at", "-id")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("loaded_version", "name", "phone", "email", "external_id", "tier")}),
        (_("Flags and notes"), {"fields": ("is_abusive", "is_difficult", "notes")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = [ComplaintHistoryInline]

    # -- personal data: masked, not searchable, not sortable without view_pii (privacy.py) ----

    masked_fields = {"name": "masked_name", "phone": "masked_phone", "email": "masked_email"}

    def get_list_display(self, request):
        if can_read(request.user):
            return self.list_display
        return tuple(self.masked_fields.get(f, f) for f in self.list_display)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or can_read(request.user):
            return fieldsets
        return [
            (title, {**opts, "fields": tuple(self.masked_fields.get(f, f) for f in opts["fields"])})
            for title, opts in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and not can_read(request.user):
            readonly += tuple(self.masked_fields.values())
        return readonly

    @display(description=_("name"))
    def masked_name(self, obj):
        return mask("name", obj.name)

    @display(description=_("phone"))
    def masked_phone(self, obj):
        return mask("phone", obj.phone)

    @display(description=_("email"))
    def masked_email(self, obj):
        return mask("email", obj.email)

    @staticmethod
    def _masked_copy(obj):
        """A copy for titles, breadcrumbs, messages and log entries: str() masked."""
        shown = copy.copy(obj)
        shown.name, shown.phone = mask("name", obj.name), mask("phone", obj.phone)
        shown.email = mask("email", obj.email)
        return shown

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not can_read(request.user):
            context.update(original=self._masked_copy(obj), subtitle=customer_label(obj, pii=False))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_change(self, request, obj):
        if not can_read(request.user):
            obj = self._masked_copy(obj)
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        if not can_read(request.user):
            obj = self._masked_copy(obj)
        return super().response_add(request, obj, post_url_continue)

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        obj = getattr(response, "context_data", {}).get("object")
        if obj is not None and not can_read(request.user):
            response.context_data["title"] = _("Change history: %s") % customer_label(
                obj, pii=False
            )
        return response

    # The admin change log is read by auditors and system administrators: entries name the
    # customer masked, whoever made the change.
    def log_addition(self, request, obj, message):
        return super().log_addition(request, self._masked_copy(obj), message)

    def log_change(self, request, obj, message):
        return super().log_change(request, self._masked_copy(obj), message)

    def autocomplete_label(self, request, obj) -> str:
        """The text of an autocomplete result (see admin.site's autocomplete view)."""
        return customer_label(obj, pii=can_read(request.user))

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request_user = request.user
        return form

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user  # stays visible to whoever added it
        else:
            obj.version += 1  # the row is locked since the form's version check
        super().save_model(request, obj, form, change)
        if change and "tier" in form.changed_data:
            # The tier can select another SLA policy for the customer's open complaints.
            job = schedule_recompute(
                reason=stored(gettext_noop("The customer's tier changed.")),
                customer_id=obj.pk,
                actor=request.user,
            )
            report_jobs(self, request, [job])

    def get_queryset(self, request):
        # Isolation: the list, change pages, autocomplete and raw ids all start here.
        return visible_customers(request.user, self._annotated(request))

    def _annotated(self, request):
        # A correlated subquery is evaluated for the rows shown only, not the whole table.
        counts = (
            Complaint.objects.filter(customer=OuterRef("pk"))
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(_complaints=Subquery(counts))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.replace("\x00", "").strip()
        if not term:
            return queryset, False
        if not can_read(request.user):
            # No search by name, phone or email: it would confirm what the mask hides.
            # The external id is not personal data.
            return queryset.filter(external_id=term), False
        # An exact phone, email or external id is an identity: it finds that customer among
        # those the user may see. A returning caller the user may not see is announced, not
        # shown (recording them with that phone or email links the customer on file).
        key = identity_lookup(term)
        if key is not None:
            found = queryset.filter(**key)
            if self._is_changelist(request) and not found.exists():
                on_file = Customer.objects.filter(duplicate_of__isnull=True, **key).exists()
                if on_file:
                    messages.info(
                        request,
                        _(
                            "A customer with this %(what)s is on file, with complaints you "
                            "cannot see. Record the complaint with this %(what)s as a new "
                            "customer: it is linked to the customer on file."
                        )
                        % {"what": IDENTITY_LABELS[next(iter(key))]},
                    )
            return found, False
        return queryset.filter(name__icontains=term), False

    @staticmethod
    def _is_changelist(request) -> bool:
        match = getattr(request, "resolver_match", None)
        return bool(match and match.url_name == "complaints_customer_changelist")

    @display(description=_("flags"), label={"abusive": "danger", "difficult": "warning"})
    def flags(self, obj):
        flags = []
        if obj.is_abusive:
            flags.append(("abusive", _("Abusive")))
        if obj.is_difficult:
            flags.append(("difficult", _("Difficult")))
        if len(flags) < 2:
            return flags[0] if flags else None
        # Both: unfold's label display takes (key, [texts]); a bare list made it crash.
        return flags[0][0], [text for _key, text in flags]

    @display(description=_("complaints"))
    def complaint_count(self, obj):
        return obj._complaints or 0

    def has_delete_permission(self, request, obj=None):
        return False  # customers are anonymised, never deleted (their complaints stay)
