from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from ..models import Complaint, Customer
from ..selectors import sees_all, visible_complaints
from ..services.customers import normalize_email, normalize_phone, phone_search_key
from ..services.recompute import schedule_recompute
from .jobs import report_jobs
from .pagination import EstimatedCountPaginator


class CustomerForm(forms.ModelForm):
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

    def clean_phone(self):
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc

    def clean_email(self):
        return normalize_email(self.cleaned_data["email"])

    def clean(self):
        cleaned = super().clean()
        phone = cleaned.get("phone")
        if phone:
            clash = Customer.objects.filter(phone=phone).exclude(pk=self.instance.pk).first()
            if clash:
                self.add_error(
                    "phone",
                    _("%(customer)s already has this phone number.") % {"customer": clash},
                )
        return cleaned


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
        (None, {"fields": ("name", "phone", "email", "external_id", "tier")}),
        (_("Flags and notes"), {"fields": ("is_abusive", "is_difficult", "notes")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = [ComplaintHistoryInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "tier" in form.changed_data:
            # The tier can select another SLA policy for the customer's open complaints.
            job = schedule_recompute(
                reason=_("The customer's tier changed."), customer_id=obj.pk, actor=request.user
            )
            report_jobs(self, request, [job])

    def get_queryset(self, request):
        return self._all(request).filter(self._visible(request))

    def _all(self, request):
        # A correlated subquery is evaluated for the rows shown only, not the whole table.
        counts = (
            Complaint.objects.filter(customer=OuterRef("pk"))
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(_complaints=Subquery(counts))

    def _visible(self, request) -> Q:
        """Customers of complaints the user may see (department isolation)."""
        if sees_all(request.user):
            return Q()
        return Q(pk__in=visible_complaints(request.user).values("customer_id"))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.replace("\x00", "").strip()
        if not term:
            return queryset, False
        # An exact phone, email or external id finds the customer whoever they complained
        # to (the caller on the line is known already; recording them twice helps nobody).
        # Names are searched only among the customers the user may see.
        phone = phone_search_key(term)
        if phone:
            return self._all(request).filter(phone=phone), False
        if "@" in term:
            return self._all(request).filter(email=normalize_email(term)), False
        by_id = self._all(request).filter(external_id=term)
        if by_id.exists():
            return by_id, False
        return queryset.filter(name__icontains=term), False

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
