"""What one API intake costs in queries (issue 15: 300 complaints/s with 2 workers). SLA
policies, categories and calendars come from the process's copy (reference_cache), a new
customer needs no look-up of earlier complaints, the reference number is one statement."""

import pytest

from complaints.models import Complaint
from complaints.services import reference_cache
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

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
    post(writer, 0)  # warms the reference data
    # key, idempotency record, customer look-up and insert, reference number, complaint,
    # timeline, record update, the answer; plus 3 savepoints (6 statements) on SQLite/tests.
    with django_assert_max_num_queries(15) as queries:
        post(writer, 1)
    sql = statements(queries)
    assert len(sql) <= 9
    assert not [s for s in sql if any(t in s for t in REFERENCE_TABLES)]
    assert not [s for s in sql if "COUNT(" in s]  # no earlier complaints of a new customer


def test_intake_with_category_and_item_of_a_returning_customer(
    writer, leak, django_assert_max_num_queries
):
    post(writer, 0, category="leak", item_ref="A-1")
    # + the category (its department joined), visibility and count of the customer's
    # earlier complaints, the cluster and repeat rules, the caller's right to the customer.
    with django_assert_max_num_queries(20) as queries:
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
    assert len(sql) <= 14
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
