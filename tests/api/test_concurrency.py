"""Two identical intake requests at the same moment make exactly one complaint (PostgreSQL:
the unique idempotency key makes the second request wait for the first, then replay it)."""

import threading
import time

import pytest
from django.db import connection

from complaints.api import views
from complaints.models import Channel, Complaint, Customer, IdempotencyRecord

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BODY = {
    "channel": "web",
    "subject": "Lift broken",
    "description": "The lift in block 3 has been broken for a week.",
    "customer": {"name": "王五", "phone": "13900001111"},
}


@pytest.fixture
def slow_intake(monkeypatch):
    """Hold the first request inside its transaction long enough for the twin to arrive."""
    register = views.ComplaintViewSet._register

    def slowly(self, *args):
        time.sleep(0.5)
        return register(self, *args)

    monkeypatch.setattr(views.ComplaintViewSet, "_register", slowly)


def send_together(client, bodies, key):
    """POST each body from its own thread (own DB connection) at the same moment."""
    barrier = threading.Barrier(len(bodies))
    responses = [None] * len(bodies)
    errors = []

    def send(i, body):
        try:
            barrier.wait(timeout=10)
            responses[i] = client.post(
                "/api/v1/complaints/", body, format="json", headers={"Idempotency-Key": key}
            )
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, b)) for i, b in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return responses


def test_two_identical_requests_at_once_make_one_complaint(slow_intake, make_api_client, api):
    _client, key = make_api_client(["complaints:write"])
    client = api(key)
    responses = send_together(client, [BODY, BODY], key="crm-1")

    assert [r.status_code for r in responses] == [201, 201], [r.content for r in responses]
    references = {r.json()["reference"] for r in responses}
    assert len(references) == 1
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert Complaint.objects.count() == 1
    assert Complaint.objects.get().reference in references
    assert Customer.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_two_different_requests_with_one_key_at_once(slow_intake, make_api_client, api):
    _client, key = make_api_client(["complaints:write"])
    other = {**BODY, "subject": "Something else"}
    responses = send_together(api(key), [BODY, other], key="crm-1")
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert Complaint.objects.count() == 1


@pytest.fixture
def slow_customer_intake(monkeypatch):
    """Hold each intake's transaction open after its customer insert, so a twin intake looks
    the customer up before the first commits (the race that made two customers or a 500)."""
    from complaints.services import lifecycle

    register = lifecycle.register_complaint

    def slowly(complaint, **kwargs):
        time.sleep(0.5)
        return register(complaint, **kwargs)

    monkeypatch.setattr(lifecycle, "register_complaint", slowly)


def post_together(client, bodies):
    """Like send_together, each body with its own Idempotency-Key (two distinct intakes)."""
    barrier = threading.Barrier(len(bodies))
    responses = [None] * len(bodies)
    errors = []

    def send(i, body):
        try:
            barrier.wait(timeout=10)
            responses[i] = client.post(
                "/api/v1/complaints/", body, format="json", headers={"Idempotency-Key": f"k{i}"}
            )
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, b)) for i, b in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return responses


@pytest.mark.parametrize(
    "customer",
    [
        {"name": "王五", "phone": "13900001111"},
        {"name": "王五", "external_id": "CRM-42"},
        {"name": "王五", "email": "Wang.Wu@Example.com"},
    ],
    ids=["phone", "external-id", "email"],
)
def test_two_intakes_for_one_new_customer_at_once_make_one_customer(
    slow_customer_intake, make_api_client, api, customer
):
    _client, key = make_api_client(["complaints:write", "complaints:read"])
    bodies = [
        {**BODY, "customer": customer},
        {**BODY, "subject": "Also the stairs light", "customer": {**customer, "name": "Wang Wu"}},
    ]
    responses = post_together(api(key), bodies)

    assert [r.status_code for r in responses] == [201, 201], [r.content for r in responses]
    assert Complaint.objects.count() == 2
    assert Customer.objects.count() == 1
    assert set(Complaint.objects.values_list("customer_id", flat=True)) == {
        Customer.objects.get().pk
    }


def test_admin_and_api_intake_at_once_make_one_customer(
    slow_customer_intake, make_api_client, api, manager
):
    """The admin add form and the API use the same intake service."""
    from complaints.services.intake import CustomerDetails, record_complaint

    _client, key = make_api_client(["complaints:write", "complaints:read"])
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def via_api():
        try:
            barrier.wait(timeout=10)
            results["api"] = api(key).post(
                "/api/v1/complaints/",
                {**BODY, "customer": {"name": "王五", "phone": "139 0000 1111"}},
                format="json",
                headers={"Idempotency-Key": "api-1"},
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def via_service():
        try:
            barrier.wait(timeout=10)
            results["service"] = record_complaint(
                Complaint(channel=Channel.HOTLINE, subject="Lift", description="Broken"),
                details=CustomerDetails(name="Wang Wu", phone="+86 13900001111"),
                user=manager,
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=via_api), threading.Thread(target=via_service)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert results["api"].status_code == 201, results["api"].content
    assert Customer.objects.count() == 1
    assert Complaint.objects.count() == 2
