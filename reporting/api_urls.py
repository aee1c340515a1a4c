from django.urls import path

from . import api

urlpatterns = [
    path("kpis/", api.KpiView.as_view(), name="reports-kpis"),
    path("monthly/", api.MonthlyReportListView.as_view(), name="reports-monthly"),
    path(
        "monthly/<str:month>/", api.MonthlyReportDetailView.as_view(), name="reports-monthly-detail"
    ),
]
