"""The OpenAPI schema and the docs page, and a Schemathesis run of every operation against
the project's own schema: no 5xx, and every response as the schema describes it."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from complaints.models import SCOPES, ApiClient
from config.wsgi import application
from tests.factories import CategoryFactory, DepartmentFactory, make_complaint

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_public(api):
    response = api().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= {
        "/api/v1/complaints/",
        "/api/v1/complaints/{reference}/",
        "/api/v1/complaints/{reference}/notes/",
        "/api/v1/departments/",
        "/api/v1/departments/{code}/",
        "/api/v1/categories/",
        "/api/v1/categories/{code}/",
    }
    assert "apiKey" in schema["components"]["securitySchemes"]
    intake = schema["paths"]["/api/v1/complaints/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in intake["parameters"])


def test_docs_page_is_served(api):
    response = api().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content


@pytest.fixture
def _one_connection():
    """Keep the test's database connection across the WSGI requests: Django closes
    connections at the start and end of each request, which on PostgreSQL would end the
    test's transaction (Django's own test client disconnects the same handlers)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_headers(db, _one_connection, monkeypatch):
    """A key with every scope, and some data for the operations to find. Schemathesis sends
    hundreds of requests with invalid keys: the per-address limit must not answer them."""
    from complaints.api.auth import AddressRateThrottle

    monkeypatch.setattr(AddressRateThrottle, "rate", "1000000/min", raising=False)
    department = DepartmentFactory(code="property", name="Property management")
    CategoryFactory(code="leak", default_department=department)
    make_complaint(department=department)
    client = ApiClient(name="schemathesis", scopes=sorted(SCOPES))
    key = client.new_key()
    client.save()
    return {"Authorization": f"Token {key}"}


# Loaded when the module is imported (no database needed). `schemathesis.pytest.from_fixture`
# would be the lazy way, but schemathesis 4.32.5 sets `node._nodeid`, which pytest 9 removed.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_api_conforms_to_its_schema(case, api_headers):
    excluded = [
        # Filters ignore empty values (`?updated_since=`), as django-filter does everywhere.
        schemathesis.checks.negative_data_rejection,
    ]
    if case.method == "POST" or case.path == "/api/v1/reports/kpis/":
        # Intake and notes have rules a schema cannot state (an existing category code, a name
        # for a new customer, times not in the future): a schema-valid body may get a 400.
        # So do the KPIs' filters (existing department and category codes, dates in order
        # and at most 3660 days apart).
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.call_and_validate(headers=api_headers, excluded_checks=excluded)
