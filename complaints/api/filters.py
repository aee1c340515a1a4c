"""Filters shared by the complaint list and the export."""

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

from ..models import OPEN_STATUSES, Channel, Complaint, Severity, Status
from ..search import search_complaints
from .auth import caller


class InstantField(IsoDateTimeField):
    """An ISO 8601 time, compared in UTC: any offset Python accepts (up to ±23:59) reaches
    the database as UTC, which PostgreSQL can read (it refuses offsets beyond ±15:59)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None:
            try:
                value = value.astimezone(dt.UTC)
            except OverflowError as exc:
                message = _("This time is out of range.")
                raise forms.ValidationError(message, code="invalid") from exc
        return value


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField


class ComplaintFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, distinct=False)
    department = django_filters.CharFilter(
        field_name="department__code", method="filter_code", help_text=_("Department code.")
    )
    category = django_filters.CharFilter(
        field_name="category__code", method="filter_code", help_text=_("Category code.")
    )
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, distinct=False)
    received_after = InstantFilter(field_name="received_at", lookup_expr="gte")
    received_before = InstantFilter(field_name="received_at", lookup_expr="lt")
    updated_since = InstantFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=_("Changed at or after this time (complaint or anything on it)."),
    )
    overdue = django_filters.BooleanFilter(method="filter_overdue")
    q = django_filters.CharFilter(
        method="filter_q",
        help_text=_(
            "Words from the subject, or with the pii:read scope also from the customer's name "
            "(Chinese terms of two or more characters use the bigram index)."
        ),
    )

    class Meta:
        model = Complaint
        fields = []

    def filter_code(self, queryset, name, value):
        """The code resolved to its id first (one small query): with a constant
        department_id/category_id the planner reads the received-order index of that one
        department or category (e.g. complaint_open_dept_recv_idx for its open work) and
        stops after a page, instead of joining on the code and sorting everything it has."""
        relation = name.split("__")[0]
        model = Complaint._meta.get_field(relation).related_model
        pk = None
        if "\x00" not in value:  # PostgreSQL text cannot hold NUL: no such code
            pk = model.objects.filter(code=value).values_list("pk", flat=True).first()
        if pk is None:
            return queryset.none()
        return queryset.filter(**{f"{relation}_id": pk})

    def filter_overdue(self, queryset, name, value):
        overdue = Q(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_q(self, queryset, name, value):
        term = " ".join(value.split())
        if not term:
            return queryset
        names = caller(self.request).has_scope("pii:read")
        return search_complaints(queryset, term, pii=names)
