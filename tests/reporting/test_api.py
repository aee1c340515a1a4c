"""KPIs and monthly reports over the REST API (scope reports:read, department isolation)."""

import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient

from complaints.api.auth import CallerRateThrottle
from complaints.models import ApiClient
from reporting.services import reports, summaries
from tests.factories import UserFactory

from .conftest import NOW

pytestmark = pytest.mark.django_db
NOVEMBER = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


@pytest.fixture(autouse=True)
def _own_throttle_cache(monkeypatch):
    monkeypatch.setattr(CallerRateThrottle, "cache", LocMemCache(f"t-{uuid.uuid4()}", {}))


def client_with(scopes, department=None) -> APIClient:
    api_client = ApiClient(name=f"bi-{uuid.uuid4().hex[:8]}", scopes=scopes, department=department)
    key = api_client.new_key()
    api_client.save()
    client = APIClient(headers={"accept-language": "en"})
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def built(dataset):
    summaries.rebuild(now=NOW)
    return dataset


@pytest.mark.parametrize("source", ["summary", "live"])
def test_kpis_as_json(built, source):
    response = client_with(["reports:read"]).get(
        "/api/v1/reports/kpis/", {**NOVEMBER, "source": source}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["current"]["received"] == 9
    assert body["current"]["valid"] == 6
    assert body["current"]["closure_rate"] == pytest.approx(100 / 3)
    assert body["current"]["ack_on_time_rate"] == pytest.approx(60.0)
    assert body["previous"]["received"] == 1
    assert body["previous_period"] == {"date_from": "2026-10-02", "date_to": "2026-10-31"}
    assert body["open_backlog"] == 5 and body["overdue"] == 2
    median = body["current"]["first_response_hours"]["median"]
    assert median == pytest.approx(1.0 if source == "live" else 1.5)


def test_scope_is_required(built):
    assert client_with(["complaints:read"]).get("/api/v1/reports/kpis/").status_code == 403


def test_department_client_sees_only_its_department(built):
    client = client_with(["reports:read"], department=built["b"])
    body = client.get("/api/v1/reports/kpis/", NOVEMBER).json()
    assert body["current"]["received"] == 1
    assert body["departments"] == [built["b"].pk]
    other = client.get("/api/v1/reports/kpis/", {**NOVEMBER, "department": "dept-a"})
    assert other.status_code == 400
    assert "own departments" in str(other.json())


def test_bad_input_is_a_clear_400(built):
    client = client_with(["reports:read"])
    bad = client.get("/api/v1/reports/kpis/", {"date_from": "2026-12-01", "date_to": "2026-11-01"})
    assert bad.status_code == 400 and "start date is after" in str(bad.json())
    assert client.get("/api/v1/reports/kpis/", {"date_from": "yesterday"}).status_code == 400
    assert client.get("/api/v1/reports/kpis/", {"channel": "pigeon"}).status_code == 400
    # PostgreSQL text cannot hold NUL: a clear 400, not a database error (found by schemathesis).
    for field in ("department", "category"):
        nul = client.get("/api/v1/reports/kpis/", {field: "dept\x00a"})
        assert nul.status_code == 400 and field in nul.json(), nul.content


def test_staff_session_needs_the_dashboard_permission(built):
    client = APIClient()
    plain = UserFactory(username="plain", perms=["complaints.view_complaint"])
    client.force_login(plain)
    assert client.get("/api/v1/reports/kpis/").status_code == 403
    boss = UserFactory(
        username="boss", perms=["reporting.view_dashboard", "complaints.view_all_complaints"]
    )
    client.force_login(boss)
    assert client.get("/api/v1/reports/kpis/", NOVEMBER).json()["current"]["received"] == 9


def test_monthly_reports(built):
    reports.generate(NOW.date().replace(day=1), now=NOW)
    client = client_with(["reports:read"], department=built["a"])
    listed = client.get("/api/v1/reports/monthly/").json()
    assert [r["month"] for r in listed] == ["2026-11"]
    assert [r["department"] for r in listed[0]["departments"]] == ["Property A"]
    assert "total" not in listed[0]
    detail = client_with(["reports:read"]).get("/api/v1/reports/monthly/2026-11/").json()
    assert detail["total"]["received"] == 9
    assert client.get("/api/v1/reports/monthly/2026-10/").status_code == 404
    assert client.get("/api/v1/reports/monthly/nonsense/").status_code == 404


def test_dates_out_of_range_are_a_400_not_a_crash(built):
    client = client_with(["reports:read"])
    far = client.get("/api/v1/reports/kpis/", {"date_from": "9999-12-01", "date_to": "9999-12-31"})
    assert far.status_code == 400 and "between 1900 and 2999" in str(far.json())
