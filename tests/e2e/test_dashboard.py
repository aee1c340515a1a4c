"""The reporting dashboard in a real browser: the landing page of a complaint manager draws
its charts (Chart.js from this site's static files), in English and Chinese, and clicking a
figure opens the complaint list behind it. Screenshots land in var/e2e/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from complaints.models import Complaint
from reporting.services import summaries
from tests.factories import CategoryFactory, DepartmentFactory, make_complaint


@pytest.fixture
def complaints(db):
    department = DepartmentFactory(code="e2e-dept", name="Property management")
    categories = [
        CategoryFactory(code=f"e2e-{i}", name=name, default_department=department)
        for i, name in enumerate(["Leak", "Noise", "Billing"])
    ]
    now = timezone.now()
    for i in range(24):
        complaint = make_complaint(
            received_at=now - timedelta(days=3 * i, hours=i),
            category=categories[i % 3 if i % 4 else 0],
            channel=["hotline", "web", "email", "chat"][i % 4],
            department=department,
        )
        if i % 3 == 0:
            Complaint.objects.filter(pk=complaint.pk).update(status="closed", validity="valid")
    summaries.rebuild()
    return department


@pytest.mark.parametrize(
    "language,heading", [("en", "Complaints dashboard"), ("zh-hans", "投诉仪表板")]
)
def test_manager_lands_on_the_dashboard_with_charts(logged_in, complaints, language, heading):
    page, _user = logged_in("manager", language=language, username=f"boss-{language}")
    page.goto("/admin/")
    expect(page.locator(".reporting-title")).to_have_text(heading)
    expect(page.locator('[data-kpi="received"] .reporting-card-value')).to_contain_text("24")
    # Chart.js loaded from /static/ and drew on every canvas.
    assert page.evaluate("typeof Chart") == "function"
    for chart in ("volume", "pareto", "channels", "sla", "backlog"):
        drawn = page.evaluate(f"!!Chart.getChart(document.getElementById('chart-{chart}'))")
        assert drawn, chart


def test_a_figure_opens_the_complaint_list(logged_in, complaints):
    page, _user = logged_in("manager", username="boss-click")
    page.goto("/admin/dashboard/")
    page.locator('[data-kpi="received"] .reporting-card-value a').click()
    expect(page).to_have_url(re.compile(r"/admin/complaints/complaint/\?"))
    expect(page.locator("body")).to_contain_text("24")


def test_printable(logged_in, complaints):
    page, _user = logged_in("manager", username="boss-print")
    page.goto("/admin/dashboard/")
    page.emulate_media(media="print")
    expect(page.locator(".reporting-filters button").first).to_be_hidden()
    expect(page.locator(".reporting-cards")).to_be_visible()
