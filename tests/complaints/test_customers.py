"""Customer identification: phones in E.164, emails matched regardless of case."""

import pytest
from django.core.exceptions import ValidationError

from complaints.models import Customer
from complaints.services.customers import (
    normalize_email,
    normalize_phone,
    phone_search_key,
)
from complaints.services.intake import IntakeError, find_or_create_customer


@pytest.mark.parametrize(
    "raw",
    [
        "138 1234 5678",
        "13812345678",
        "+86-138-1234-5678",
        "+86 138 1234 5678",
        "008613812345678",
        "(+86) 138-1234-5678",
        "  13812345678  ",
    ],
)
def test_mobile_numbers_normalise_to_e164(raw):
    assert normalize_phone(raw) == "+8613812345678"


def test_landline_keeps_area_code():
    assert normalize_phone("010 1234 5678") == "+861012345678"


def test_foreign_number_keeps_its_country():
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


def test_empty_phone_is_empty():
    assert normalize_phone("") == ""
    assert normalize_phone("   ") == ""


@pytest.mark.parametrize(
    "raw",
    # "12345" and "95588" have a possible length but are no CN subscriber number (defect 4).
    ["12", "hello", "138 1234 5678 9012 345", "+0 123", "12345", "95588", "1381234567"],
)
def test_invalid_phone_is_refused(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


def test_phone_search_key():
    assert phone_search_key("138-1234-5678") == "+8613812345678"
    assert phone_search_key("2026") is None  # too short: a year, not a phone
    assert phone_search_key("leak") is None


def test_normalize_email():
    assert normalize_email("  Zhang.Wei@Example.COM ") == "zhang.wei@example.com"


@pytest.mark.django_db
def test_new_customer_is_created_with_normalised_contacts():
    customer, created = find_or_create_customer(
        name="  张伟 ", phone="138 1234 5678", email="Zhang.Wei@Example.com"
    )
    assert created is True
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.phone, stored.email) == (
        "张伟",
        "+8613812345678",
        "zhang.wei@example.com",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["+86-138-1234-5678", "008613812345678", "13812345678"])
def test_matches_existing_customer_by_phone_in_any_format(phone):
    existing, _ = find_or_create_customer(name="张伟", phone="138 1234 5678")
    found, created = find_or_create_customer(name="Zhang Wei", phone=phone)
    assert (found, created) == (existing, False)
    assert Customer.objects.count() == 1
    # matching does not rename the existing customer
    assert Customer.objects.get().name == "张伟"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "email", ["ZHANG.WEI@EXAMPLE.COM", " zhang.wei@example.com ", "Zhang.Wei@example.com"]
)
def test_matches_existing_customer_by_email_ignoring_case(email):
    existing, _ = find_or_create_customer(name="张伟", email="Zhang.Wei@Example.com")
    found, created = find_or_create_customer(name="", email=email)
    assert (found, created) == (existing, False)
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_matches_by_external_id_first():
    by_id, _ = find_or_create_customer(name="CRM customer", external_id="CRM-42")
    by_phone, _ = find_or_create_customer(name="Phone customer", phone="13812345678")
    found, created = find_or_create_customer(name="", external_id="CRM-42", phone="13812345678")
    assert (found, created) == (by_id, False)
    assert found != by_phone


@pytest.mark.django_db
def test_different_contacts_create_a_new_customer():
    first, _ = find_or_create_customer(name="张伟", phone="13812345678", email="a@example.com")
    second, created = find_or_create_customer(
        name="李娜", phone="13987654321", email="b@example.com"
    )
    assert created is True
    assert second != first
    assert Customer.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   "])
def test_new_customer_needs_a_name(name):
    with pytest.raises(IntakeError):
        find_or_create_customer(name=name, phone="13812345678")
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_invalid_phone_creates_nobody():
    with pytest.raises(IntakeError):
        find_or_create_customer(name="张伟", phone="12")
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_invalid_email_creates_nobody():
    with pytest.raises(IntakeError):
        find_or_create_customer(name="张伟", email="not-an-email")
    assert not Customer.objects.exists()
