"""One privacy module (complaints/privacy.py) for the admin, the API and the export (issue 10,
medium 5): staff without view_pii see names, phones and emails masked on every page, and can
neither search nor sort by them (no lookup oracle)."""

import re

import pytest
from django.db.models import F
from django.urls import reverse

from complaints import privacy
from complaints.models import Customer
from tests.factories import CustomerFactory, UserFactory, form_fields, make_complaint

pytestmark = pytest.mark.django_db

NAME, PHONE, EMAIL = "王小明", "+8613812345678", "wang.xiaoming@example.com"
MASKED = ("王**", "+86138****5678", "w***@example.com")


@pytest.fixture
def masked_user(db):
    """Sees every complaint and may edit customers, but not read personal data."""
    return UserFactory(
        username="no-pii",
        perms=[
            "complaints.view_complaint",
            "complaints.add_complaint",
            "complaints.change_complaint",
            "complaints.view_all_complaints",
            "complaints.view_customer",
            "complaints.change_customer",
        ],
    )


@pytest.fixture
def masked_client(login_client, masked_user):
    return login_client(masked_user)


@pytest.fixture
def person(manager):
    customer = CustomerFactory(name=NAME, phone=PHONE, email=EMAIL, external_id="CRM-77")
    make_complaint(user=manager, customer=customer, subject="Leaking roof")
    return customer


def without_search_box(page: str, term: str) -> str:
    return page.replace(f'value="{term}"', "")


def assert_masked(page: str):
    for raw in (NAME, PHONE, EMAIL, "13812345678"):
        assert raw not in page, raw
    assert any(m in page for m in MASKED)


# -- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("name", NAME, "王**"),
        ("name", "  张伟\u3000", "张*"),
        ("name", "A", "A*"),
        ("name", "Alexander Hamilton", "A***"),
        ("name", " \t", ""),
        ("phone", PHONE, "+86138****5678"),
        ("phone", "1234", "****"),
        ("phone", "123456", "**3456"),
        ("phone", "", ""),
        ("email", EMAIL, "w***@example.com"),
        ("email", "@example.com", "***@example.com"),
        ("email", "no-at-sign", ""),
    ],
)
def test_rules(kind, value, masked):
    assert privacy.mask(kind, value) == masked


@pytest.mark.postgres
def test_sql_is_generated_from_the_same_rules():
    values = [
        ("王小明", "+8613812345678", "wang@example.com"),
        ("  张伟\u3000\u2028", "1234", "@x"),
        ("A", "123456", "a@b@c"),
        ("O'Brien; --", "+442079460958", "o'b@example.com"),
        ("\u00a0欧阳娜娜 ", "12345678", "plain"),
        ("", "", ""),
    ]
    for i, (name, phone, email) in enumerate(values):
        Customer.objects.create(name=name, phone=phone, email=email, external_id=f"x{i}")
    rows = Customer.objects.annotate(
        n=privacy.MaskSQL("name", F("name")),
        p=privacy.MaskSQL("phone", F("phone")),
        e=privacy.MaskSQL("email", F("email")),
    ).values_list("name", "phone", "email", "n", "p", "e")
    for name, phone, email, n, p, e in rows:
        assert (n, p, e) == (
            privacy.mask("name", name),
            privacy.mask("phone", phone),
            privacy.mask("email", email),
        )


# -- admin: customer list, change page, autocomplete ------------------------------------------


def test_customer_list_is_masked_without_view_pii(masked_client, person):
    page = masked_client.get(reverse("admin:complaints_customer_changelist")).content.decode()
    assert_masked(page)
    assert "王**" in page and "+86138****5678" in page


def test_customer_change_page_is_masked_without_view_pii(masked_client, person):
    url = reverse("admin:complaints_customer_change", args=[person.pk])
    page = masked_client.get(url)
    assert page.status_code == 200
    assert_masked(page.content.decode())
    # Saving the other fields leaves the personal data as it was.
    data = form_fields(page.content.decode(), "customer_form")
    data["tier"] = ["vip"]
    data["name"] = ["Overwritten"]
    masked_client.post(url, data)
    person.refresh_from_db()
    assert (person.tier, person.name, person.phone) == ("vip", NAME, PHONE)


def test_customer_autocomplete_is_masked_without_view_pii(masked_client, person):
    response = masked_client.get(
        "/admin/autocomplete/",
        {"app_label": "complaints", "model_name": "complaint", "field_name": "customer"},
    )
    assert response.status_code == 200
    texts = [r["text"] for r in response.json()["results"]]
    assert texts and all(NAME not in t and "5678" not in t.replace("****5678", "") for t in texts)
    assert_masked(response.content.decode())


@pytest.mark.parametrize("term", ["13812345678", EMAIL, "王小明", "小明"])
def test_customer_search_by_personal_data_is_no_oracle(masked_client, person, term):
    for url in (
        reverse("admin:complaints_customer_changelist") + "?q=" + term,
        "/admin/autocomplete/?app_label=complaints&model_name=complaint&field_name=customer"
        "&term=" + term,
    ):
        page = masked_client.get(url).content.decode()
        assert f"/admin/complaints/customer/{person.pk}/change/" not in page
        assert f'"id": "{person.pk}"' not in page
    # The external id is not personal data: it still finds the customer.
    found = masked_client.get(reverse("admin:complaints_customer_changelist") + "?q=CRM-77")
    assert f"/admin/complaints/customer/{person.pk}/change/" in found.content.decode()


def row_ids(page: str, model: str) -> list[str]:
    pattern = re.compile(rf'href="/admin/complaints/{model}/(\d+)/change/')
    ids = []
    for row in page.split('<tr class="data-row')[1:]:
        match = pattern.search(row.split("</tr>")[0])
        ids.append(match.group(1) if match else None)
    return ids


def test_customer_list_cannot_be_sorted_by_personal_data(masked_client, manager_client, manager):
    for name, phone in (("Mia", "+8613800000003"), ("Zed", "+8613800000001"), ("Adam", "")):
        make_complaint(user=manager, customer=CustomerFactory(name=name, phone=phone))
    url = reverse("admin:complaints_customer_changelist")
    default = row_ids(masked_client.get(url).content.decode(), "customer")
    assert len(default) == 3
    by_name = row_ids(manager_client.get(url, {"o": "0"}).content.decode(), "customer")
    assert by_name != default  # the name column sorts for those who may read it
    for o in ("0", "-0", "1", "-1", "2", "-2"):  # name, phone, email
        page = masked_client.get(url, {"o": o}).content.decode()
        assert row_ids(page, "customer") == default, o


# -- admin: complaint pages --------------------------------------------------------------------


@pytest.mark.parametrize("term", ["13812345678", "王小明"])
def test_complaint_search_by_customer_data_is_no_oracle(masked_client, person, term):
    page = masked_client.get(
        reverse("admin:complaints_complaint_changelist"), {"q": term}
    ).content.decode()
    assert "Leaking roof" not in page
    assert (
        "Leaking roof"
        in masked_client.get(
            reverse("admin:complaints_complaint_changelist"), {"q": "Leaking"}
        ).content.decode()
    )


def test_complaint_list_cannot_be_sorted_by_customer_name(masked_client, manager_client, manager):
    for name in ("Adam", "Zed", "Mia"):
        make_complaint(user=manager, customer=CustomerFactory(name=name))
    url = reverse("admin:complaints_complaint_changelist")
    default = row_ids(masked_client.get(url).content.decode(), "complaint")
    assert len(default) == 3
    by_name = row_ids(manager_client.get(url, {"o": "3"}).content.decode(), "complaint")
    assert by_name != default  # the customer column sorts for those who may read it
    for o in ("3", "-3"):
        page = masked_client.get(url, {"o": o}).content.decode()
        assert row_ids(page, "complaint") == default, o


def test_complaint_pages_are_masked_without_view_pii(masked_client, person):
    complaint = person.complaints.get()
    listing = masked_client.get(reverse("admin:complaints_complaint_changelist")).content.decode()
    assert_masked(listing)
    page = masked_client.get(
        reverse("admin:complaints_complaint_change", args=[complaint.pk])
    ).content.decode()
    assert_masked(page)


# -- API and export use the same module ---------------------------------------------------------


def test_api_masks_with_the_privacy_module(person, make_api_client):
    from rest_framework.test import APIClient

    _client, key = make_api_client(["complaints:read"])
    api = APIClient(headers={"accept-language": "en"})
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    customer = api.get("/api/v1/complaints/").json()["results"][0]["customer"]
    assert (customer["name"], customer["phone"], customer["email"]) == MASKED
    response = api.get("/api/v1/complaints/export/?format=csv")
    export = b"".join(response.streaming_content).decode()
    assert all(m in export for m in MASKED)
    assert NAME not in export and EMAIL not in export


@pytest.fixture
def make_api_client(db):
    from complaints.models import ApiClient

    def make(scopes):
        client = ApiClient(name="reader", owner="IT", scopes=sorted(scopes))
        key = client.new_key()
        client.save()
        return client, key

    return make
