"""Customers follow complaint isolation (issue 10, medium 4).

A user may see a customer who has at least one complaint the user may see
(selectors.visible_complaints), or whom the user recorded. The complaint form's customer field,
the customer admin (list, change page, autocomplete, raw ids) and the lifecycle service offer
and accept only those. A returning caller whom the user cannot see is still recognised at
intake: their phone or email entered as a new customer links the customer on file."""

import pytest
from django.urls import reverse

from complaints.models import Complaint, Customer
from complaints.services import lifecycle
from complaints.services.errors import NotPermitted
from tests.factories import CustomerFactory, form_fields, make_complaint

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:complaints_complaint_add")


@pytest.fixture
def stranger(manager):
    """Another department's customer, with a complaint the handler may not see."""
    customer = CustomerFactory(
        name="秘密客户", phone="+8613999999999", email="secret@example.com", external_id="CRM-9"
    )
    make_complaint(user=manager, customer=customer)
    return customer


@pytest.fixture
def own(manager, department):
    """A complaint of the handler's department."""
    return make_complaint(user=manager, department=department, customer=CustomerFactory())


def change_url(obj):
    return reverse(f"admin:complaints_{obj._meta.model_name}_change", args=[obj.pk])


def autocomplete(client, term):
    response = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "complaints",
            "model_name": "complaint",
            "field_name": "customer",
            "term": term,
        },
    )
    assert response.status_code == 200
    return [int(r["id"]) for r in response.json()["results"]]


def test_handler_cannot_put_another_departments_customer_on_their_complaint(
    handler_client, own, stranger
):
    data = form_fields(handler_client.get(change_url(own)).content.decode(), "complaint_form")
    data["customer"] = [str(stranger.pk)]
    response = handler_client.post(change_url(own), data)

    assert response.status_code == 200  # the form again, with an error
    assert "Select a valid choice" in response.content.decode()
    own.refresh_from_db()
    assert own.customer_id != stranger.pk
    # ... so the customer page stays closed to them.
    assert handler_client.get(change_url(stranger)).status_code in (302, 404)


def test_the_service_refuses_a_customer_the_user_cannot_see(handler, own, stranger):
    with pytest.raises(NotPermitted):
        lifecycle.update_complaint(
            own.pk, user=handler, changes={"customer": stranger}, expected_version=own.version
        )
    assert Complaint.objects.get(pk=own.pk).customer_id != stranger.pk


def test_add_form_refuses_a_raw_id_of_an_invisible_customer(handler_client, stranger):
    data = form_fields(handler_client.get(ADD_URL).content.decode(), "complaint_form")
    data.update(
        channel=["hotline"],
        subject=["Noise"],
        description=["Loud at night."],
        customer=[str(stranger.pk)],
    )
    response = handler_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert Complaint.objects.filter(customer=stranger).count() == 1  # only the manager's


def test_autocomplete_offers_only_visible_customers_even_for_exact_lookups(
    handler_client, own, stranger
):
    for term in ("13999999999", "secret@example.com", "CRM-9", "秘密"):
        assert stranger.pk not in autocomplete(handler_client, term)
    assert autocomplete(handler_client, own.customer.phone[3:]) == [own.customer_id]


def test_customer_list_exact_lookup_shows_no_data_of_an_invisible_customer(
    handler_client, stranger
):
    for term in ("13999999999", "secret@example.com", "CRM-9"):
        page = handler_client.get(
            reverse("admin:complaints_customer_changelist"), {"q": term}
        ).content.decode()
        page = page.replace(f'value="{term}"', "")  # the search box keeps what was typed
        assert "秘密客户" not in page
        assert "secret@example.com" not in page
        assert change_url(stranger) not in page
        # What the caller needs: this person is on file, and how to record them.
        assert "is on file" in page


def test_returning_caller_from_elsewhere_is_linked_through_the_new_customer_fields(
    handler_client, handler, stranger
):
    data = form_fields(handler_client.get(ADD_URL).content.decode(), "complaint_form")
    data.update(
        channel=["hotline"],
        subject=["Lift broken again"],
        description=["Third time this month."],
        customer=[""],
        new_customer_name=["Caller"],
        new_customer_phone=["139 9999 9999"],
    )
    response = handler_client.post(ADD_URL, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Customer.objects.filter(phone="+8613999999999").count() == 1
    recorded = Complaint.objects.get(created_by=handler)
    assert recorded.customer == stranger
    assert Customer.objects.get(pk=stranger.pk).name == "秘密客户"  # not rewritten


def test_a_customer_the_user_added_stays_visible_to_them(handler_client, handler):
    from django.contrib.auth.models import Permission

    handler.user_permissions.add(Permission.objects.get(codename="add_customer"))
    url = reverse("admin:complaints_customer_add")
    data = form_fields(handler_client.get(url).content.decode(), "customer_form")
    data.update(name=["新客户"], phone=["13711112222"])
    response = handler_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer = Customer.objects.get(name="新客户")
    assert customer.created_by == handler
    assert handler_client.get(change_url(customer)).status_code == 200
    assert autocomplete(handler_client, "13711112222") == [customer.pk]


def test_history_inline_lists_only_visible_complaints(handler_client, manager, own, department):
    hidden = make_complaint(user=manager, customer=own.customer, subject="Other department")
    page = handler_client.get(change_url(own.customer)).content.decode()
    assert own.reference in page
    assert hidden.reference not in page
