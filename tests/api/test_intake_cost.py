"""What one API intake costs in queries (issue 15: 300 complaints/s with 2 workers). SLA
policies, categories, calendars and API clients come from the process's copy
(reference_cache), a new customer needs no look-up of earlier complaints or repeats, the
reference number is one statement, the idempotency record is one INSERT with the complaint,
and the answer is formatted from the saved complaint (no read-back)."""

import uuid

import pytest
from django.db import connection

from complaints.models import ApiClient, Complaint
from complaints.services import reference_cache
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _shared_cache(monkeypatch):
    """Production's cache is Redis, shared by every process; the tests' in-process cache
    stands for it here (without one, API keys are read per request: test_reference_cache)."""
    monkeypatch.setattr(reference_cache, "shared", lambda: True)


LIST = "/api/v1/complaints/"
REFERENCE_TABLES = (
    "complaints_slapolicy",
    "complaints_businesscalendar",
    "complaints_workinginterval",
)


@pytest.fixture
def writer(make_api_client, api, department):
    _client, key = make_api_client(
        ["complaints:read", "complaints:write", "pii:read"], name="crm", department=department
    )
    return api(key)


@pytest.fixture
def leak(department):
    category = CategoryFactory(code="leak", name="漏水", default_department=department)
    # The set-up is committed data for the requests below (not a change of this transaction).
    reference_cache._pending.connection = None
    return category


def post(client, n, **extra):
    body = {
        "channel": "web",
        "subject": f"卫生间漏水 {n}",
        "customer": {"name": "王伟", "phone": f"+86139{n:08d}", "email": f"w{n}@example.cn"},
        **extra,
    }
    response = client.post(LIST, body, format="json", HTTP_IDEMPOTENCY_KEY=f"key-{n}")
    assert response.status_code == 201, response.content
    return response


def statements(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_intake_of_a_new_customer(writer, leak, django_assert_max_num_queries):
    post(writer, 0)  # warms the reference data and the key
    # customer look-up and insert, reference number, complaint, timeline, idempotency
    # record; plus the savepoint around the customer insert and the request's transaction
    # (a savepoint in a test, BEGIN/COMMIT outside): 4 statements.
    with django_assert_max_num_queries(10) as queries:
        post(writer, 1)
    sql = statements(queries)
    assert len(sql) <= 6, sql
    if connection.vendor == "postgresql":
        # The customer's look-up with its insert; the reference number with the complaint,
        # its timeline event and the idempotency record: one statement each.
        assert len(sql) == 2, sql
        assert sql[0].startswith("WITH found AS") and "INSERT INTO" in sql[0]
        assert "complaints_referencecounter" in sql[1] and "complaints_complaintevent" in sql[1]
        assert "complaints_idempotencyrecord" in sql[1]
    assert not [s for s in sql if any(t in s for t in (*REFERENCE_TABLES, "complaints_apiclient"))]
    assert not [s for s in sql if "COUNT(" in s]  # no earlier complaints of a new customer
    assert not [s for s in sql if s.startswith("UPDATE") and "idempotency" in s]
    # Nothing read back: neither the answer nor the repeat links (a new customer has none).
    assert not [s for s in sql if s.startswith('SELECT "complaints_complaint"')]


def test_intake_with_category_and_item_of_a_returning_customer(
    writer, leak, django_assert_max_num_queries
):
    post(writer, 0, category="leak", item_ref="A-1")
    # + the category (its department joined), visibility of the customer (not the count of
    # their earlier complaints: the answer does not show it), the cluster and repeat rules,
    # the caller's right to the customer
    # (and, after the commit, the repeat links: one query, the complaint is not read again).
    with django_assert_max_num_queries(13) as queries:
        response = writer.post(
            LIST,
            {
                "channel": "web",
                "subject": "又漏水",
                "category": "leak",
                "item_ref": "A-1",
                "customer": {"phone": "+8613900000000"},
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="key-again",
        )
    assert response.status_code == 201, response.content
    sql = statements(queries)
    assert len(sql) <= 10
    assert not [s for s in sql if "COUNT(" in s]
    assert not [s for s in sql if any(t in s for t in REFERENCE_TABLES)]
    assert not [s for s in sql if s.startswith('SELECT "complaints_department"')]
    assert Complaint.objects.filter(customer__phone="+8613900000000").count() == 2


def test_the_answer_is_the_serializers_json(writer, leak):
    from complaints.api.serializers import ComplaintSerializer

    response = post(writer, 7, category="leak")
    complaint = Complaint.objects.select_related(
        "customer", "category", "department", "assignee"
    ).get(reference=response.json()["reference"])
    expected = ComplaintSerializer(complaint, context={"pii": True}).data
    got = response.json()
    assert got.pop("is_overdue") is False
    expected.pop("is_overdue")
    assert got == expected


def test_a_key_is_read_from_the_copy_and_its_changes_are_seen_at_once(
    make_api_client, api, department, django_assert_max_num_queries
):
    from django.core.cache import cache

    client, key = make_api_client(["complaints:write"], name="crm-2", department=department)
    reference_cache._pending.connection = None  # committed set-up
    caller = api(key)
    post(caller, 20)  # the clients are now in this process's copy
    with django_assert_max_num_queries(10) as queries:
        post(caller, 21)
    assert not [s for s in statements(queries) if "complaints_apiclient" in s]

    # Deactivated by another process (this one saw no signal): its new token says so.
    ApiClient.objects.filter(pk=client.pk).update(active=False)
    assert post_status(caller, 22) == 201  # same token: the copy is still used
    cache.set(reference_cache.VERSION_KEY, f"changed-elsewhere-{uuid.uuid4()}", timeout=None)
    assert post_status(caller, 23) == 401

    # Reactivated and given a new key here: the old key is refused by the next request.
    client.refresh_from_db()
    client.active = True
    new_key = client.new_key()
    client.save()
    reference_cache._pending.connection = None  # as if committed
    assert post_status(caller, 24) == 401
    assert post_status(api(new_key), 25) == 201


def test_without_redis_the_key_is_read_from_the_database(writer, leak, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(reference_cache, "_token", lambda: None)  # no copy may be kept
    with CaptureQueriesContext(connection) as queries:
        post(writer, 30)
    assert (
        len([s for s in statements(queries) if s.startswith('SELECT "complaints_apiclient')]) == 1
    )


def post_status(client, n) -> int:
    body = {"channel": "web", "subject": "s", "customer": {"name": "n", "phone": f"+86138{n:08d}"}}
    response = client.post(LIST, body, format="json", HTTP_IDEMPOTENCY_KEY=f"k-{n}")
    return response.status_code


def test_a_staff_intake_does_not_check_that_its_own_user_exists(
    client, django_user_model, leak, django_assert_max_num_queries
):
    """The browsable API's path (a staff session): the new customer's created_by is the
    signed-in user, not looked up again by the customer's validation."""
    admin = django_user_model.objects.create_superuser("boss", password="x")  # noqa: S106
    client.force_login(admin)
    reference_cache._pending.connection = None

    def send(n):
        body = {
            "channel": "web",
            "subject": "s",
            "customer": {"name": "n", "phone": f"+86137{n:08d}"},
        }
        response = client.post(
            LIST, body, content_type="application/json", headers={"Idempotency-Key": f"s-{n}"}
        )
        assert response.status_code == 201, response.content

    send(1)
    with django_assert_max_num_queries(12) as queries:
        send(2)
    assert not [s for s in statements(queries) if s.startswith('SELECT 1 AS "a" FROM "auth_user"')]


def test_a_returning_customer_of_a_key_for_all_departments(
    make_api_client, api, leak, django_assert_max_num_queries
):
    """A key without a department reads every customer: the matched customer is not looked
    up again to ask whether it may, nor are their earlier complaints counted (the answer does
    not show the count): the customer's statement and the complaint's."""
    _client, key = make_api_client(["complaints:write", "pii:read"], name="crm-all")
    reference_cache._pending.connection = None
    everyone = api(key)
    post(everyone, 40)
    with django_assert_max_num_queries(7) as queries:
        response = everyone.post(
            LIST,
            {"channel": "web", "subject": "又漏水", "customer": {"phone": "+8613900000040"}},
            format="json",
            HTTP_IDEMPOTENCY_KEY="key-41",
        )
    assert response.status_code == 201, response.content
    assert response.json()["customer"]["name"] == "王伟"  # the record on file, readable
    sql = statements(queries)
    assert not [s for s in sql if s.startswith('SELECT 1 AS "a" FROM "complaints_customer"')]
    assert not [s for s in sql if "COUNT(" in s]
    if connection.vendor == "postgresql":
        assert len(sql) == 2, sql
