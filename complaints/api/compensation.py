"""REST API for compensations: list (keyset pages over (updated_at, id) for incremental sync),
detail, filters, and a streamed export. Scope `compensations:read`; a key restricted to a
department reads the compensations of that department's complaints (as for complaints)."""

from __future__ import annotations

import base64
import binascii
import json

import django_filters
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from ..compensation_selectors import visible_compensations
from ..models import Compensation, CompensationKind, Complaint, Currency
from .auth import caller
from .export import EXPORT_ACTION, FORMATS, compensation_stream
from .filters import InstantFilter
from .views import ApiView


class CompensationSerializer(serializers.ModelSerializer):
    complaint = serializers.CharField(source="complaint.reference", read_only=True)
    department = serializers.CharField(
        source="complaint.department.code", read_only=True, allow_null=True, default=None
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    is_estimate = serializers.BooleanField(read_only=True)
    proposed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    fulfilled_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    incident = serializers.CharField(
        source="incident_remedy.incident.code", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Compensation
        fields = [
            "id",
            "complaint",
            "department",
            "kind",
            "amount",
            "currency",
            "is_estimate",
            "description",
            "status",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "fulfilled_by",
            "fulfilled_at",
            "payout_reference",
            "cancelled_at",
            "cancel_reason",
            "incident",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = fields


class CompensationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Compensation.Status.choices, distinct=False
    )
    kind = django_filters.MultipleChoiceFilter(choices=CompensationKind.choices, distinct=False)
    currency = django_filters.ChoiceFilter(choices=Currency.choices)
    complaint = django_filters.CharFilter(
        field_name="complaint__reference", help_text=gettext_lazy("Complaint reference.")
    )
    department = django_filters.CharFilter(
        field_name="complaint__department__code", help_text=gettext_lazy("Department code.")
    )
    updated_since = InstantFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=gettext_lazy("Changed at or after this time."),
    )
    decided_after = InstantFilter(field_name="decided_at", lookup_expr="gte")
    decided_before = InstantFilter(field_name="decided_at", lookup_expr="lt")

    class Meta:
        model = Compensation
        fields = []


class KeysetPagination(BasePagination):
    """Pages in (updated_at, id) order without OFFSET: the cursor is the last row's key, so
    a page costs the same at any depth and rows changed while paging are not skipped (they
    move to the end). `ordering=-updated_at` pages newest first."""

    page_size = 100
    max_page_size = 500
    invalid_cursor_message = gettext_lazy("Invalid cursor")

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.descending = request.query_params.get("ordering") == "-updated_at"
        try:
            size = int(request.query_params.get("page_size", self.page_size))
        except ValueError:
            size = self.page_size
        size = max(1, min(size, self.max_page_size))
        sign = "-" if self.descending else ""
        queryset = queryset.order_by(f"{sign}updated_at", f"{sign}id")
        cursor = request.query_params.get("cursor")
        if cursor:
            when, pk = self._decode(cursor)
            if self.descending:
                after = Q(updated_at__lt=when) | Q(updated_at=when, id__lt=pk)
            else:
                after = Q(updated_at__gt=when) | Q(updated_at=when, id__gt=pk)
            queryset = queryset.filter(after)
        rows = list(queryset[: size + 1])
        self.has_next = len(rows) > size
        rows = rows[:size]
        self.last = rows[-1] if rows else None
        return rows

    def _decode(self, cursor: str):
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
            when = parse_datetime(data["t"])
            pk = int(data["id"])
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise NotFound(self.invalid_cursor_message) from None
        if when is None or timezone.is_naive(when):
            raise NotFound(self.invalid_cursor_message)
        return when, pk

    def _encode(self, row) -> str:
        data = {"t": row.updated_at.isoformat(), "id": row.pk}
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()

    def get_next_link(self):
        if not self.has_next or self.last is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, "cursor", self._encode(self.last))

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "The `next` link's cursor.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": "Rows per page (1-500, default 100).",
                "schema": {"type": "integer"},
            },
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "description": "updated_at (default, for incremental sync) or -updated_at.",
                "schema": {"type": "string", "enum": ["updated_at", "-updated_at"]},
            },
        ]


def _restricted_department(request):
    who = caller(request)
    restricted = who.client.department if who.client else None
    wanted = request.query_params.get("department")
    if restricted and wanted and wanted != restricted.code:
        raise PermissionDenied(_("This key may only read its own department's complaints."))


class CompensationViewSet(
    ApiView, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    required_scopes = {
        "*": "compensations:read",
        "list": "compensations:read",
        "retrieve": "compensations:read",
        "export": "compensations:read",
    }
    serializer_class = CompensationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CompensationFilter
    pagination_class = KeysetPagination
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        rows = Compensation.objects.select_related(
            "complaint__department",
            "proposed_by",
            "decided_by",
            "fulfilled_by",
            "incident_remedy__incident",
        )
        who = caller(self.request)
        if who.client is None:
            return visible_compensations(who.user, rows)
        if who.department_id is None:
            return rows
        return rows.filter(complaint__in=who.visible(Complaint.objects.all()).values("pk"))

    def list(self, request, *args, **kwargs):
        _restricted_department(request)
        ordering = request.query_params.get("ordering")
        if ordering not in (None, "updated_at", "-updated_at"):
            raise serializers.ValidationError(
                {"ordering": [_("Order by updated_at or -updated_at.")]}
            )
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Export compensations (CSV or JSON Lines, streamed)",
        filters=True,
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=[*FORMATS],
                default="csv",
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR),
            400: OpenApiResponse(description="Unknown format or invalid filter values."),
            403: OpenApiResponse(description="Missing scope, or another department's data."),
        },
    )
    @action(detail=False, **EXPORT_ACTION)
    def export(self, request, format=None):
        fmt = format or request.query_params.get("format") or "csv"
        if fmt not in FORMATS:
            message = _('Unknown export format "%(format)s": use csv or jsonl.') % {"format": fmt}
            raise serializers.ValidationError({"format": [message]})
        _restricted_department(request)
        rows = self.filter_queryset(self.get_queryset()).order_by("updated_at", "id")
        content_type, extension = FORMATS[fmt]
        response = StreamingHttpResponse(compensation_stream(rows, fmt), content_type=content_type)
        day = timezone.localtime(timezone.now()).date().isoformat()
        response["Content-Disposition"] = f'attachment; filename="compensations-{day}.{extension}"'
        response["Cache-Control"] = "private, no-store"
        return response
