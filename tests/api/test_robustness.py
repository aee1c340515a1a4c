"""Input a caller can send is answered with a 4xx and a JSON message, never a 500 (found by
probing edge values on SQLite and PostgreSQL; each case failed with a 500 on at least one)."""

import base64

import pytest

from tests.factories import make_complaint

pytestmark = pytest.mark.django_db

LIST = "/api/v1/complaints/"


@pytest.fixture
def caller(full):
    full.raise_request_exception = False  # see the status a real caller would get
    return full


def assert_client_error(response, status):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")


def cursor(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("raw", [b"p=garbage", b"p=\x00", b"p=2026-99-99"])
def test_tampered_cursor_position_is_404(caller, raw):
    # DRF decodes the cursor's position and filters with it: a non-date was a 500.
    make_complaint()
    assert_client_error(caller.get(LIST, {"cursor": cursor(raw)}), 404)


@pytest.mark.parametrize(
    "params",
    [
        {"received_after": "0001-01-01T00:00:00+14:00"},
        {"received_before": "0001-01-01T00:00:00+14:00"},
        {"updated_since": "9999-12-31T23:59:59-12:00"},
        # PostgreSQL refuses offsets beyond ±15:59 that Python accepts: a DataError (500).
        {"updated_since": "2000-01-01T00:00:00+16:00"},
        {"received_after": "2000-01-01T00:00:00-23:30"},
    ],
)
def test_filter_times_outside_the_utc_range_are_not_a_server_error(caller, params):
    # SQLite stores UTC: converting these was an OverflowError (500).
    make_complaint()
    for path in (LIST, LIST + "export/?format=jsonl"):
        response = caller.get(path, params)
        assert response.status_code in (200, 400), response.content[:300]


@pytest.mark.parametrize("path", ["/api/v1/departments/a%00b/", "/api/v1/categories/%00/"])
def test_nul_in_a_code_is_404(caller, department, path):
    # PostgreSQL refuses NUL in text: the lookup was a DataError (500).
    assert_client_error(caller.get(path), 404)


def intake(client, key="k-1", **fields):
    body = {"channel": "web", "subject": "Noise", "customer": {"name": "A"}, **fields}
    return client.post(LIST, body, format="json", headers={"Idempotency-Key": key})


def test_households_beyond_the_database_integer_is_400(caller):
    # PostgreSQL integer overflow was a 500.
    response = intake(caller, households_affected=2**40)
    assert_client_error(response, 400)
    assert "households_affected" in response.json()


def test_nul_in_the_category_code_is_400(caller):
    response = intake(caller, category="leak\x00")
    assert_client_error(response, 400)
    assert "category" in response.json()


def test_nul_in_the_idempotency_key_is_400(caller):
    # PostgreSQL refuses NUL in text: storing the key was a DataError (500).
    response = intake(caller, key="a\x00b")
    assert_client_error(response, 400)
    assert "Idempotency-Key" in response.json()
