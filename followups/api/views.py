"""REST API v1 (read): follow-ups, satisfaction surveys, repeat links, improvement actions.

Same authentication, scopes, throttling and department isolation as the complaint API
(complaints.api.auth); cursor pagination, so deep pages cost the same as the first. Each list
has an `export/` action: the same rows, filters and isolation as one streamed CSV or JSON Lines
file (followups/api/export.py)."""

from django.db.models import Q
from django.utils import timezone
from django_filters import rest_framework as filters
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination

from complaints.api.auth import caller
from complaints.api.export import EXPORT_ACTION
from complaints.api.views import ApiView
from complaints.models import Complaint, DepartmentMembership

from ..models import FollowUp, ImprovementAction, RepeatLink, SurveyInvitation
from . import export as exports
from .serializers import (
    FollowUpSerializer,
    ImprovementActionSerializer,
    RepeatLinkSerializer,
    SurveySerializer,
)


class ByIdCursor(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"


def visible_complaint_ids(request):
    return caller(request).visible(Complaint.objects.all()).values("pk")


class FollowUpFilter(filters.FilterSet):
    complaint = filters.CharFilter(field_name="complaint__reference")

    class Meta:
        model = FollowUp
        fields = ["status", "kind", "complaint"]


class FollowUpViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    queryset = FollowUp.objects.none()  # for the schema (model, filters); see get_queryset
    serializer_class = FollowUpSerializer
    pagination_class = ByIdCursor
    required_scopes = {"*": "followups:read"}
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = FollowUpFilter

    def get_queryset(self):
        return FollowUp.objects.filter(
            complaint__in=visible_complaint_ids(self.request)
        ).select_related("complaint", "assignee")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @exports.export_schema("follow-ups", "followups:read")
    @action(detail=False, **EXPORT_ACTION)
    def export(self, request, format=None):
        return exports.export_action(self, request, exports.FOLLOWUPS, format)


class SurveyFilter(filters.FilterSet):
    complaint = filters.CharFilter(field_name="complaint__reference")
    answered = filters.BooleanFilter(field_name="used_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = SurveyInvitation
        fields = ["complaint", "answered"]


class SurveyViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    queryset = SurveyInvitation.objects.none()  # for the schema (model, filters); see get_queryset
    serializer_class = SurveySerializer
    pagination_class = ByIdCursor
    required_scopes = {"*": "followups:read"}
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = SurveyFilter

    def get_queryset(self):
        return SurveyInvitation.objects.filter(
            complaint__in=visible_complaint_ids(self.request)
        ).select_related("complaint")

    @exports.export_schema("surveys", "followups:read")
    @action(detail=False, **EXPORT_ACTION)
    def export(self, request, format=None):
        return exports.export_action(self, request, exports.SURVEYS, format)


class RepeatLinkViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    queryset = RepeatLink.objects.none()  # for the schema (model, filters); see get_queryset
    serializer_class = RepeatLinkSerializer
    pagination_class = ByIdCursor
    required_scopes = {"*": "followups:read"}

    def get_queryset(self):
        ids = visible_complaint_ids(self.request)
        return RepeatLink.objects.filter(complaint__in=ids, earlier__in=ids).select_related(
            "complaint", "earlier"
        )

    @exports.export_schema("repeat links", "followups:read")
    @action(detail=False, **EXPORT_ACTION)
    def export(self, request, format=None):
        return exports.export_action(self, request, exports.REPEATS, format)


class ImprovementActionViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    queryset = ImprovementAction.objects.none()  # for the schema (model, filters); see get_queryset
    serializer_class = ImprovementActionSerializer
    pagination_class = ByIdCursor
    required_scopes = {"*": "improvements:read"}
    filter_backends = [filters.DjangoFilterBackend]
    filterset_fields = ["status"]

    def get_queryset(self):
        rows = ImprovementAction.objects.select_related(
            "root_cause", "category", "department", "owner"
        ).prefetch_related("complaints")
        who = caller(self.request)
        if who.client is not None:
            if who.department_id is None:
                return rows
            return rows.filter(department_id=who.department_id)
        from complaints.selectors import sees_all

        if sees_all(who.user):
            return rows
        departments = DepartmentMembership.objects.filter(user=who.user).values("department_id")
        return rows.filter(Q(department_id__in=departments) | Q(owner=who.user))

    @exports.export_schema("improvement actions", "improvements:read")
    @action(detail=False, **EXPORT_ACTION)
    def export(self, request, format=None):
        return exports.export_action(self, request, exports.IMPROVEMENT_ACTIONS, format)
