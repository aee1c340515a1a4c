"""Customer edits use the same optimistic lock as complaints: a form opened before someone
else's save is refused with a clear message, and nothing is overwritten."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from complaints.models import Customer
from tests.factories import CustomerFactory, UserFactory, form_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_managers(login_client):
    group = Group.objects.get(name__startswith="Complaint manager")
    users = [UserFactory(username=f"mgr{i}") for i in range(2)]
    for user in users:
        user.groups.add(group)
    return [login_client(user) for user in users]


def open_form(client, customer):
    url = reverse("admin:complaints_customer_change", args=[customer.pk])
    page = client.get(url)
    assert page.status_code == 200
    return url, form_fields(page.content.decode(), "customer_form")


def test_a_stale_customer_form_is_refused_and_overwrites_nothing(two_managers):
    first, second = two_managers
    customer = CustomerFactory(name="Zhang Wei", tier=Customer.Tier.STANDARD)
    url, form_a = open_form(first, customer)
    _url, form_b = open_form(second, customer)

    form_a["tier"] = ["vip"]
    assert first.post(url, form_a).status_code == 302
    form_b["notes"] = ["Prefers email"]  # B still shows tier "standard"
    response = second.post(url, form_b)

    assert response.status_code == 200
    assert "was changed by someone else" in response.content.decode()
    customer.refresh_from_db()
    assert customer.tier == Customer.Tier.VIP  # not reverted by the stale form
    assert customer.notes == ""
    # The re-shown form carries the current version: saving again is a conscious overwrite.
    again = form_fields(response.content.decode(), "customer_form")
    assert second.post(url, again).status_code == 302
    customer.refresh_from_db()
    assert customer.notes == "Prefers email"


def test_each_save_moves_the_version(two_managers):
    first, _second = two_managers
    customer = CustomerFactory()
    before = customer.version
    url, form = open_form(first, customer)
    form["notes"] = ["x"]
    assert first.post(url, form).status_code == 302
    customer.refresh_from_db()
    assert customer.version == before + 1
