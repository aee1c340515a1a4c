"""Who may call what: keys (401), scopes (403), department restriction, staff sessions and
throttling per client."""

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.api.auth import CallerRateThrottle
from complaints.models import ApiClient, Complaint
from tests.factories import DepartmentFactory, UserFactory, make_complaint

pytestmark = pytest.mark.django_db

LIST = "/api/v1/complaints/"


def intake_body(**overrides):
    body = {
        "channel": "web",
        "subject": "Lift broken",
        "description": "The lift in block 3 has been broken for a week.",
        "customer": {"name": "王五", "phone": "13900001111"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def complaint(department):
    return make_complaint(department=department)


def every_endpoint(reference):
    """(method, path, body) for each operation of the API."""
    return [
        ("get", LIST, None),
        ("get", f"{LIST}{reference}/", None),
        ("post", LIST, intake_body()),
        ("post", f"{LIST}{reference}/notes/", {"type": "note", "text": "Hello"}),
        ("get", "/api/v1/departments/", None),
        ("get", "/api/v1/departments/property/", None),
        ("get", "/api/v1/categories/", None),
    ]


def call(client, method, path, body):
    if method == "get":
        return client.get(path)
    return client.post(path, body, format="json", headers={"Idempotency-Key": "k-1"})


# -- 401 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Token",
        "Token a b",
        "Token not-a-key",
        "Token rdx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Bearer whatever",
        "Basic bWFuYWdlcjpwdw==",
    ],
    ids=["missing", "no-key", "two-words", "garbage", "unknown-rdx", "bearer", "basic"],
)
def test_missing_or_bad_key_is_401_everywhere(api, complaint, authorization):
    client = api()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    for method, path, body in every_endpoint(complaint.reference):
        response = call(client, method, path, body)
        assert response.status_code == 401, (method, path, response.content)
        assert response["WWW-Authenticate"] == "Token"
        assert "detail" in response.json()
    assert Complaint.objects.count() == 1


def test_right_prefix_with_wrong_secret_is_401(make_api_client, api, complaint):
    _client, key = make_api_client(["complaints:read"])
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert api(forged).get(LIST).status_code == 401
    assert api(key).get(LIST).status_code == 200


def test_inactive_client_is_401(make_api_client, api, complaint):
    client, key = make_api_client(["complaints:read"])
    assert api(key).get(LIST).status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(active=False)
    response = api(key).get(LIST)
    assert response.status_code == 401
    assert "inactive" in response.json()["detail"]


def test_use_of_a_key_is_recorded(make_api_client, api, complaint):
    client, key = make_api_client(["complaints:read"])
    assert client.last_used_at is None
    api(key).get(LIST)
    client.refresh_from_db()
    assert client.last_used_at is not None


def test_key_is_stored_only_as_a_hash(make_api_client):
    client, key = make_api_client(["complaints:read"])
    client.refresh_from_db()
    assert key.startswith("rdx_") and len(key) > 40
    assert key not in (client.key_hash, client.key_prefix)
    assert key.startswith(client.key_prefix)
    assert client.key_matches(key)


# -- scopes (403) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        (["compensations:read"], set()),
        (["pii:read"], set()),
        (["complaints:write"], {"post"}),
        (["complaints:read"], {"get"}),
        (["complaints:read", "complaints:write"], {"get", "post"}),
    ],
)
def test_each_operation_needs_its_scope(make_api_client, api, complaint, scopes, allowed):
    _client, key = make_api_client(scopes)
    client = api(key)
    for method, path, body in every_endpoint(complaint.reference):
        response = call(client, method, path, body)
        if method in allowed:
            assert response.status_code in (200, 201), (method, path, response.content)
        else:
            assert response.status_code == 403, (method, path, response.content)
            assert "scope" in response.json()["detail"]
    # Without complaints:write nothing was sent in.
    assert Complaint.objects.count() == (2 if "post" in allowed else 1)


def test_write_without_read_still_gets_the_created_complaint(make_api_client, api):
    _client, key = make_api_client(["complaints:write"])
    response = api(key).post(LIST, intake_body(), format="json", headers={"Idempotency-Key": "x"})
    assert response.status_code == 201
    assert response.json()["customer"]["phone"] == "+86139****1111"


# -- department restriction --------------------------------------------------------------------


@pytest.fixture
def other_department():
    return DepartmentFactory(code="catering", name="Catering")


@pytest.fixture
def restricted(make_api_client, api, department):
    _client, key = make_api_client(
        ["complaints:read", "complaints:write", "pii:read"], department=department
    )
    return api(key)


def test_restricted_client_lists_only_its_departments_complaints(
    restricted, department, other_department
):
    mine = make_complaint(department=department)
    theirs = make_complaint(department=other_department)
    assisted = make_complaint(department=other_department)
    assisted.assisting_departments.add(department)
    unassigned = make_complaint()

    got = {row["reference"] for row in restricted.get(LIST).json()["results"]}
    assert got == {mine.reference, assisted.reference}
    assert theirs.reference not in got and unassigned.reference not in got
    own = restricted.get(LIST, {"department": "property"})
    assert {row["reference"] for row in own.json()["results"]} == {mine.reference}


def test_restricted_client_may_not_filter_by_another_department(restricted, other_department):
    make_complaint(department=other_department)
    response = restricted.get(LIST, {"department": "catering"})
    assert response.status_code == 403
    assert "department" in response.json()["detail"]


def test_restricted_client_may_not_read_another_departments_complaint(
    restricted, department, other_department
):
    theirs = make_complaint(department=other_department)
    response = restricted.get(f"{LIST}{theirs.reference}/")
    assert response.status_code == 403
    assert "another department" in response.json()["detail"]

    assisted = make_complaint(department=other_department)
    assisted.assisting_departments.add(department)
    assert restricted.get(f"{LIST}{assisted.reference}/").status_code == 200


def test_restricted_client_may_not_add_notes_to_another_departments_complaint(
    restricted, other_department
):
    theirs = make_complaint(department=other_department)
    response = restricted.post(
        f"{LIST}{theirs.reference}/notes/", {"type": "note", "text": "Hi"}, format="json"
    )
    assert response.status_code == 403
    assert theirs.events.count() == 1


def test_unrestricted_client_sees_every_department(reader, department, other_department):
    a = make_complaint(department=department)
    b = make_complaint(department=other_department)
    got = {row["reference"] for row in reader.get(LIST).json()["results"]}
    assert got == {a.reference, b.reference}


# -- staff sessions ----------------------------------------------------------------------------


def session(api, user):
    client = api()
    client.force_login(user)
    return client


def test_staff_session_reads_with_view_complaint(api, complaint):
    user = UserFactory(perms=["complaints.view_complaint", "complaints.view_all_complaints"])
    client = session(api, user)
    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}{complaint.reference}/").status_code == 200
    assert client.get("/api/v1/departments/").status_code == 200


def test_staff_session_without_view_complaint_is_403(api, complaint):
    client = session(api, UserFactory(perms=["complaints.view_customer"]))
    assert client.get(LIST).status_code == 403


def test_staff_session_intake_needs_add_complaint(api):
    reader_only = session(api, UserFactory(perms=["complaints.view_complaint"]))
    response = reader_only.post(
        LIST, intake_body(), format="json", headers={"Idempotency-Key": "s-1"}
    )
    assert response.status_code == 403

    writer = UserFactory(perms=["complaints.view_complaint", "complaints.add_complaint"])
    response = session(api, writer).post(
        LIST, intake_body(), format="json", headers={"Idempotency-Key": "s-1"}
    )
    assert response.status_code == 201
    assert Complaint.objects.get().created_by == writer


def test_staff_session_notes_need_change_complaint(api, complaint):
    """complaints:write maps to add_complaint, but adding to a complaint is a change: a user
    who may record complaints but not change them is refused (403, like a missing scope)."""
    perms = [
        "complaints.view_complaint",
        "complaints.view_all_complaints",
        "complaints.add_complaint",
    ]
    adder = session(api, UserFactory(perms=perms))
    response = adder.post(
        f"{LIST}{complaint.reference}/notes/", {"type": "note", "text": "Hi"}, format="json"
    )
    assert response.status_code == 403, response.content
    assert complaint.events.count() == 1

    user = UserFactory(perms=[*perms, "complaints.change_complaint"])
    response = session(api, user).post(
        f"{LIST}{complaint.reference}/notes/", {"type": "note", "text": "Hi"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["actor"] == user.username


def test_non_staff_session_is_401(api, complaint):
    user = UserFactory(is_staff=False, perms=["complaints.view_complaint"])
    assert session(api, user).get(LIST).status_code == 401


def test_staff_session_sees_only_the_complaints_its_admin_shows(
    api, handler, department, other_department
):
    """A department member without view_all_complaints sees their departments' complaints
    (complaints/selectors.py), as in the admin."""
    mine = make_complaint(department=department)
    theirs = make_complaint(department=other_department)
    client = session(api, handler)
    got = {row["reference"] for row in client.get(LIST).json()["results"]}
    assert got == {mine.reference}
    assert client.get(f"{LIST}{theirs.reference}/").status_code in (403, 404)


# -- throttling --------------------------------------------------------------------------------


@pytest.fixture
def low_rate(monkeypatch):
    # DRF binds THROTTLE_RATES when the class is defined, so a settings override would not
    # reach it; the rate is patched on the class (the cache is per test, see conftest).
    monkeypatch.setattr(CallerRateThrottle, "THROTTLE_RATES", {"caller": "3/min"})


def test_throttled_per_client_with_429(low_rate, make_api_client, api, complaint):
    _a, key_a = make_api_client(["complaints:read"])
    _b, key_b = make_api_client(["complaints:read"])
    a, b = api(key_a), api(key_b)
    assert [a.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    response = a.get(LIST)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "detail" in response.json()
    assert b.get(LIST).status_code == 200  # another client has its own budget


def test_throttle_window_passes(low_rate, make_api_client, api, complaint):
    import time_machine

    _client, key = make_api_client(["complaints:read"])
    client = api(key)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(3):
            client.get(LIST)
        assert client.get(LIST).status_code == 429
        clock.shift(timedelta(seconds=61))
        assert client.get(LIST).status_code == 200


def test_intake_is_throttled_too(low_rate, make_api_client, api):
    _client, key = make_api_client(["complaints:write"])
    client = api(key)
    codes = [
        client.post(
            LIST, intake_body(), format="json", headers={"Idempotency-Key": f"t-{i}"}
        ).status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    assert Complaint.objects.count() == 3
