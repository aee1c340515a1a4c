"""The customer admin: list, search, complaint history, phone rules, no deletion."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints.models import Customer, Status
from complaints.services import lifecycle
from tests.factories import CustomerFactory, UserFactory, form_fields, make_complaint

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:complaints_customer_changelist")
ADD_URL = reverse("admin:complaints_customer_add")
ROW_LINK_RE = re.compile(r'href="/admin/complaints/customer/(\d+)/change/[^"]*"')


def change_url(customer):
    return reverse("admin:complaints_customer_change", args=[customer.pk])


def shown_customers(response) -> list[int]:
    """Primary keys of the customers in the list rows, top to bottom (each once)."""
    assert response.status_code == 200
    shown = []
    for row in response.content.decode().split('<tr class="data-row')[1:]:
        match = ROW_LINK_RE.search(row.split("</tr>")[0])
        assert match, "a row without a link to the customer"
        shown.append(int(match.group(1)))
    return shown


def row_html(response, customer) -> str:
    for row in response.content.decode().split('<tr class="data-row')[1:]:
        row = row.split("</tr>")[0]
        if f"/admin/complaints/customer/{customer.pk}/change/" in row:
            return row
    raise AssertionError(f"{customer} is not in the list")


# -- list -----------------------------------------------------------------------------------


def _customers_with_complaints(count, recorder, start=0):
    for i in range(start, start + count):
        customer = CustomerFactory(
            tier=Customer.Tier.values[i % 4], is_abusive=i % 3 == 0, is_difficult=i % 2 == 0
        )
        for _n in range(i % 3):
            make_complaint(user=recorder, customer=customer)


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("query", ["", "?tier__exact=vip", "?q=客户", "?is_abusive__exact=1"])
def test_changelist_query_count_does_not_grow_with_rows(manager_client, manager, query):
    _customers_with_complaints(6, manager)
    few_queries, few = _count_queries(manager_client, CHANGELIST + query)
    assert shown_customers(few)
    _customers_with_complaints(120, manager, start=6)
    many_queries, many = _count_queries(manager_client, CHANGELIST + query)
    assert len(shown_customers(many)) > len(shown_customers(few))
    assert many_queries == few_queries


def test_changelist_shows_complaint_count_and_flags(manager_client, manager):
    busy = CustomerFactory(name="Busy", is_abusive=True)
    quiet = CustomerFactory(name="Quiet", is_difficult=True)
    both = CustomerFactory(name="Both", is_abusive=True, is_difficult=True)
    for _i in range(3):
        make_complaint(user=manager, customer=busy)
    response = manager_client.get(CHANGELIST)
    busy_row = row_html(response, busy)
    assert re.search(r'class="field-complaint_count[^"]*">\s*3\s*<', busy_row)
    assert "Abusive" in busy_row
    quiet_row = row_html(response, quiet)
    assert re.search(r'class="field-complaint_count[^"]*">\s*0\s*<', quiet_row)
    assert "Difficult" in quiet_row
    assert "Abusive" not in quiet_row
    both_row = row_html(response, both)
    assert "Abusive" in both_row and "Difficult" in both_row


# -- search ---------------------------------------------------------------------------------


@pytest.fixture
def people():
    return {
        "wang": CustomerFactory(
            name="王小明", phone="+8613812345678", email="wang@example.com", external_id="CRM-1"
        ),
        "wangwu": CustomerFactory(name="王五", phone="+8613900000000"),
        "li": CustomerFactory(name="李华", phone="+8613987654321", email="li@example.com"),
    }


def _search(client, term):
    return sorted(shown_customers(client.get(CHANGELIST, {"q": term})))


@pytest.mark.parametrize(
    "term", ["138 1234 5678", "13812345678", "+86 138-1234-5678", "(+86)138.1234.5678"]
)
def test_search_by_phone_in_any_format(manager_client, people, term):
    assert _search(manager_client, term) == [people["wang"].pk]


def test_search_by_name_part(manager_client, people):
    assert _search(manager_client, "王") == sorted([people["wang"].pk, people["wangwu"].pk])
    assert _search(manager_client, "小明") == [people["wang"].pk]


def test_search_by_email_and_external_id(manager_client, people):
    assert _search(manager_client, "LI@Example.com") == [people["li"].pk]
    assert _search(manager_client, "CRM-1") == [people["wang"].pk]


def test_search_matching_nothing(manager_client, people):
    assert _search(manager_client, "139 9999 9999") == []
    assert _search(manager_client, "nobody") == []


# -- change page ----------------------------------------------------------------------------


def test_change_page_shows_complaint_history(manager_client, manager, department):
    customer = CustomerFactory(name="Repeat Caller")
    other = CustomerFactory(name="Someone Else")
    first = make_complaint(user=manager, customer=customer, subject="First time")
    second = make_complaint(
        user=manager, customer=customer, subject="Second time", department=department
    )
    lifecycle.transition(second.pk, Status.ACKNOWLEDGED, user=manager)
    foreign = make_complaint(user=manager, customer=other, subject="Not theirs")

    response = manager_client.get(change_url(customer))
    assert response.status_code == 200
    html = response.content.decode()
    for complaint in (first, second):
        assert complaint.reference in html
        link = reverse("admin:complaints_complaint_change", args=[complaint.pk])
        assert f'href="{link}"' in html
    assert foreign.reference not in html
    assert "Second time" in html
    # The history is read-only: no inputs for complaint fields, no rows to add.
    data = form_fields(html, "customer_form")
    assert data["complaints-MAX_NUM_FORMS"] == ["0"]
    editable = {n.rsplit("-", 1)[1] for n in data if re.match(r"complaints-\d+-", n)}
    assert editable <= {"id", "customer"}

    # Saving the customer leaves the complaints as they were.
    data["notes"] = ["Calls often"]
    assert manager_client.post(change_url(customer), data).status_code == 302
    customer.refresh_from_db()
    assert customer.notes == "Calls often"
    assert set(customer.complaints.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_handler_can_view_customer_and_history(handler_client, manager, department):
    customer = CustomerFactory()
    complaint = make_complaint(user=manager, customer=customer, department=department)
    elsewhere = make_complaint(user=manager, customer=customer)  # no department of theirs
    response = handler_client.get(change_url(customer))
    assert response.status_code == 200
    assert complaint.reference in response.content.decode()
    assert elsewhere.reference not in response.content.decode()
    # View-only: saving is refused.
    assert handler_client.post(change_url(customer), {"name": "X"}).status_code == 403
    customer.refresh_from_db()
    assert customer.name != "X"


def _customer_form(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return form_fields(response.content.decode(), "customer_form")


def test_phone_is_normalized_on_save(manager_client):
    data = _customer_form(manager_client, ADD_URL)
    data.update({"name": ["Zhao Lei"], "phone": ["138-0000 1111"], "email": [" Zhao@Example.COM "]})
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.phone == "+8613800001111"
    assert customer.email == "zhao@example.com"

    data = _customer_form(manager_client, change_url(customer))
    data["phone"] = ["+86 (139) 0000 2222"]
    assert manager_client.post(change_url(customer), data).status_code == 302
    customer.refresh_from_db()
    assert customer.phone == "+8613900002222"


def test_invalid_phone_is_refused(manager_client):
    data = _customer_form(manager_client, ADD_URL)
    data.update({"name": ["Bad Phone"], "phone": ["12"]})
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "is not a valid phone number" in response.content.decode()
    assert not Customer.objects.exists()


def test_duplicate_phone_on_another_customer_is_refused(manager_client):
    owner = CustomerFactory(name="Phone Owner", phone="+8613812345678")
    other = CustomerFactory(name="Other", phone="+8613700000000")

    data = _customer_form(manager_client, change_url(other))
    data["phone"] = ["138 1234 5678"]
    response = manager_client.post(change_url(other), data)
    assert response.status_code == 200
    assert "Phone Owner (+8613812345678) already has this phone number." in (
        response.content.decode()
    )
    other.refresh_from_db()
    assert other.phone == "+8613700000000"

    data = _customer_form(manager_client, ADD_URL)
    data.update({"name": ["Newcomer"], "phone": ["+86 138 1234 5678"]})
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "already has this phone number" in response.content.decode()
    assert Customer.objects.filter(phone="+8613812345678").count() == 1

    # Saving the owner with its own number is fine.
    data = _customer_form(manager_client, change_url(owner))
    data["name"] = ["Phone Owner Renamed"]
    assert manager_client.post(change_url(owner), data).status_code == 302


def test_customer_delete_is_not_offered(login_client, manager_client, superuser, manager):
    customer = CustomerFactory()
    make_complaint(user=manager, customer=customer)
    delete_url = reverse("admin:complaints_customer_delete", args=[customer.pk])
    for client in (manager_client, login_client(superuser)):
        assert "delete_selected" not in client.get(CHANGELIST).content.decode()
        assert delete_url not in client.get(change_url(customer)).content.decode()
        assert client.get(delete_url).status_code == 403
        assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_staff_without_customer_permission_is_refused(login_client):
    customer = CustomerFactory()
    outsider = UserFactory(username="nocustomers", perms=["complaints.view_complaint"])
    client = login_client(outsider)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(customer)).status_code == 403
