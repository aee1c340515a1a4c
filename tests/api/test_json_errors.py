"""Every API failure is answered in JSON (never an HTML page), with the right status."""

import pytest

pytestmark = pytest.mark.django_db
LIST = "/api/v1/complaints/"


@pytest.fixture
def caller(full):
    full.raise_request_exception = False  # the status and body a real caller would get
    return full


def assert_json(response, status):
    assert response.status_code == status, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    assert "detail" in response.json() or response.json()


def test_json_nested_100000_deep_is_400_json(caller):
    body = "[" * 100_000 + "]" * 100_000
    response = caller.post(
        LIST, body, content_type="application/json", headers={"Idempotency-Key": "deep"}
    )
    assert_json(response, 400)


def test_a_6_mb_body_is_413_json(caller):
    body = '{"subject": "' + "x" * (6 * 1024 * 1024) + '"}'
    response = caller.post(
        LIST, body, content_type="application/json", headers={"Idempotency-Key": "big"}
    )
    assert_json(response, 413)


def test_unknown_api_route_is_404_json(caller):
    assert_json(caller.get("/api/v1/nothing-here/"), 404)
    assert_json(caller.get("/api/nothing/"), 404)


def test_wrong_method_is_405_json(caller):
    assert_json(caller.delete(LIST), 405)
    assert_json(caller.put("/api/v1/departments/"), 405)


def test_a_server_error_is_500_json(caller, monkeypatch):
    from complaints.api import views

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(views.DepartmentViewSet, "list", boom)
    assert_json(caller.get("/api/v1/departments/"), 500)


def test_csrf_failure_of_a_session_post_is_json(login_client, manager):
    from django.test import Client

    client = Client(enforce_csrf_checks=True, headers={"accept-language": "en"})
    client.force_login(manager)
    client.raise_request_exception = False
    response = client.post(
        LIST,
        {"channel": "web"},
        content_type="application/json",
        headers={"Idempotency-Key": "csrf"},
    )
    assert_json(response, 403)
