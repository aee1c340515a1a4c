"""KPIs and monthly department reports as JSON for other departments' BI tools.

Scope `reports:read` (staff: the "Can see the reporting dashboard" permission). An API client
tied to a department, and a staff user who does not see every department, get the figures of
their department(s) only, as on the dashboard."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints.api.auth import (
    CallerRateThrottle,
    HasScope,
    SessionAuthentication,
    TokenAuthentication,
    caller,
)
from complaints.api.serializers import CodeRelatedField
from complaints.models import Category, Channel, Department, Severity

from . import queries
from .models import MonthlyReport
from .queries import DEFAULT_DAYS, Filters, FreshSource, SummarySource
from .views import MAX_DAYS, MAX_YEAR, MIN_YEAR, scope_for


def caller_scope(request) -> tuple[int, ...] | None:
    who = caller(request)
    if who.client is not None:
        return None if who.department_id is None else (who.department_id,)
    return scope_for(who.user)


class KpiQuery(serializers.Serializer):
    date_from = serializers.DateField(
        required=False, help_text="First day (local), default: 89 days before date_to."
    )
    date_to = serializers.DateField(
        required=False, help_text="Last day (local, included), default: today."
    )
    department = CodeRelatedField(
        slug_field="code", queryset=Department.objects.all(), required=False
    )
    category = CodeRelatedField(slug_field="code", queryset=Category.objects.all(), required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    source = serializers.ChoiceField(
        choices=[("summary", "summary"), ("live", "live")],
        default="summary",
        help_text="summary: from the summary tables (updated every minute, percentiles "
        "interpolated); live: current to the second (days changed since the last refresh "
        "read from the complaints) with exact percentiles.",
    )

    def validate(self, data):
        end = data.get("date_to") or queries.today()
        start = data.get("date_from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError(_("The start date is after the end date."))
        if start.year < MIN_YEAR or end.year > MAX_YEAR:
            raise serializers.ValidationError(
                _("Dates must lie between %(first)d and %(last)d.")
                % {"first": MIN_YEAR, "last": MAX_YEAR}
            )
        if (end - start).days + 1 > MAX_DAYS:
            raise serializers.ValidationError(
                _("Choose at most %(days)d days.") % {"days": MAX_DAYS}
            )
        data["date_from"], data["date_to"] = start, end
        scope = self.context["scope"]
        department = data.get("department")
        if department is not None and scope is not None and department.pk not in scope:
            raise serializers.ValidationError(
                {"department": _("You may only see the figures of your own departments.")}
            )
        return data


def _period(filters: Filters) -> dict:
    return {"date_from": filters.date_from.isoformat(), "date_to": filters.date_to.isoformat()}


class ReportsApiView(APIView):
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [CallerRateThrottle]
    required_scopes = {"*": "reports:read"}


class KpiView(ReportsApiView):
    """The dashboard's KPIs for a period and the period of the same length before it.
    Definitions: README "Reporting" (reporting/kpis.py)."""

    @extend_schema(parameters=[KpiQuery], responses={200: {"type": "object"}}, tags=["reports"])
    def get(self, request):
        scope = caller_scope(request)
        query = KpiQuery(data=request.query_params, context={"scope": scope})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        filters = Filters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            department=data["department"].pk if data.get("department") else None,
            category=data["category"].pk if data.get("category") else None,
            channel=data.get("channel") or None,
            severity=int(data["severity"]) if data.get("severity") else None,
            departments=scope,
        )
        source = FreshSource() if data["source"] == "live" else SummarySource()
        current = queries.figures(source, filters)
        previous = queries.figures(source, filters.previous())
        return Response(
            {
                "source": source.name,
                "departments": None if scope is None else list(scope),
                "period": _period(filters),
                "previous_period": _period(filters.previous()),
                "current": current.as_dict(),
                "previous": previous.as_dict(),
                **queries.backlog(filters, source),
            }
        )


class MonthlyReportListView(ReportsApiView):
    """Stored monthly department reports (newest first), each with its departments' rows."""

    @extend_schema(
        responses={200: {"type": "array", "items": {"type": "object"}}}, tags=["reports"]
    )
    def get(self, request):
        scope = caller_scope(request)
        reports = MonthlyReport.objects.order_by("-month")[:120]
        return Response([_report(r, scope) for r in reports])


class MonthlyReportDetailView(ReportsApiView):
    @extend_schema(
        parameters=[OpenApiParameter("month", str, OpenApiParameter.PATH, description="YYYY-MM")],
        responses={200: {"type": "object"}},
        tags=["reports"],
    )
    def get(self, request, month: str):
        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError as exc:
            raise NotFound(_("Give the month as YYYY-MM.")) from exc
        report = MonthlyReport.objects.filter(month=first).first()
        if report is None:
            raise NotFound(_("No report has been generated for this month."))
        return Response(_report(report, caller_scope(request)))


def _report(report: MonthlyReport, scope) -> dict:
    rows = [
        r
        for r in report.data.get("departments", [])
        if scope is None or r["department_id"] in scope
    ]
    result = {
        "month": report.month.strftime("%Y-%m"),
        "generated_at": report.generated_at.isoformat(),
        "departments": rows,
    }
    if scope is None:
        result["total"] = report.data.get("total")
    return result
