"""Reading complaints: list (filters, ordering, cursor pages, query count), detail with its
timeline, departments and categories, and masking of personal data."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints.api.views import ComplaintCursorPagination
from complaints.models import Channel, Complaint, ComplaintEvent, Customer, Severity, Status
from complaints.services import lifecycle
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    DepartmentFactory,
    UserFactory,
    make_complaint,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/complaints/"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def refs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["reference"] for row in response.json()["results"]]


def set_fields(complaint, **fields) -> Complaint:
    """Test data: put a complaint into a state directly (the services are tested elsewhere)."""
    Complaint.objects.filter(pk=complaint.pk).update(**fields)
    complaint.refresh_from_db()
    return complaint


# -- list ------------------------------------------------------------------------------------


def test_list_returns_a_cursor_page_of_complaints(reader, department):
    complaint = make_complaint(department=department, received_at=NOW - timedelta(hours=1))
    response = reader.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert body["next"] is None and body["previous"] is None
    [row] = body["results"]
    assert row["reference"] == complaint.reference
    assert row["status"] == "new"
    assert row["department"] == "property"
    assert row["severity"] == Severity.GENERAL
    assert row["ack_due_at"] and row["resolve_due_at"]
    assert row["is_overdue"] is False
    assert "timeline" not in row


def test_list_is_newest_received_first_by_default(reader):
    old = make_complaint(received_at=NOW - timedelta(days=2))
    new = make_complaint(received_at=NOW - timedelta(hours=1))
    middle = make_complaint(received_at=NOW - timedelta(days=1))
    assert refs(reader.get(LIST)) == [new.reference, middle.reference, old.reference]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("received_at", ["a", "b", "c"]),
        ("-received_at", ["c", "b", "a"]),
        ("updated_at", ["c", "a", "b"]),
        ("-updated_at", ["b", "a", "c"]),
    ],
)
def test_list_ordering(reader, ordering, expected):
    made = {
        "a": make_complaint(received_at=NOW - timedelta(days=3)),
        "b": make_complaint(received_at=NOW - timedelta(days=2)),
        "c": make_complaint(received_at=NOW - timedelta(days=1)),
    }
    set_fields(made["c"], updated_at=NOW - timedelta(hours=5))
    set_fields(made["a"], updated_at=NOW - timedelta(hours=4))
    set_fields(made["b"], updated_at=NOW - timedelta(hours=3))
    got = refs(reader.get(LIST, {"ordering": ordering}))
    assert got == [made[name].reference for name in expected]


def test_list_ordering_on_other_fields_is_ignored(reader):
    old = make_complaint(received_at=NOW - timedelta(days=2))
    new = make_complaint(received_at=NOW - timedelta(days=1))
    # Only received_at/updated_at are allowed; anything else keeps the default order.
    assert refs(reader.get(LIST, {"ordering": "subject"})) == [new.reference, old.reference]


@pytest.fixture
def variety(department):
    """Complaints that differ in one fact each, to prove each filter narrows the list."""
    other = DepartmentFactory(code="catering", name="Catering")
    leak = CategoryFactory(code="leak", default_department=department)
    noise = CategoryFactory(code="noise", default_department=other)
    base = make_complaint(
        department=department,
        category=leak,
        channel=Channel.HOTLINE,
        received_at=NOW - timedelta(days=10),
    )
    media = make_complaint(
        department=other,
        category=noise,
        channel=Channel.EMAIL,
        media_risk=True,
        received_at=NOW - timedelta(days=5),
    )
    lawyer = make_complaint(
        department=other,
        channel=Channel.WEB,
        litigation_risk=True,
        received_at=NOW - timedelta(days=1),
    )
    set_fields(base, updated_at=NOW - timedelta(days=9))
    set_fields(media, updated_at=NOW - timedelta(days=4), status=Status.CLOSED, due_at=None)
    set_fields(lawyer, updated_at=NOW - timedelta(hours=2))
    return {"base": base, "media": media, "lawyer": lawyer}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"base", "media", "lawyer"}),
        ({"status": "closed"}, {"media"}),
        ({"status": "new"}, {"base", "lawyer"}),
        ({"status": ["new", "closed"]}, {"base", "media", "lawyer"}),
        ({"severity": "1"}, {"media"}),
        ({"severity": "2"}, {"lawyer"}),
        ({"severity": ["1", "4"]}, {"media", "base"}),
        ({"department": "property"}, {"base"}),
        ({"department": "catering"}, {"media", "lawyer"}),
        ({"department": "nowhere"}, set()),
        ({"category": "leak"}, {"base"}),
        ({"category": "noise"}, {"media"}),
        ({"channel": "email"}, {"media"}),
        ({"channel": ["hotline", "web"]}, {"base", "lawyer"}),
        ({"received_after": "2026-03-05T00:00:00+08:00"}, {"media", "lawyer"}),
        ({"received_before": "2026-03-05T00:00:00+08:00"}, {"base"}),
        (
            {"received_after": "2026-02-25T00:00:00Z", "received_before": "2026-03-08T00:00:00Z"},
            {"base", "media"},
        ),
        ({"updated_since": "2026-03-06T00:00:00+08:00"}, {"media", "lawyer"}),
        ({"updated_since": "2026-03-10T00:00:00+08:00"}, {"lawyer"}),
    ],
)
def test_list_filters(reader, variety, params, expected):
    got = set(refs(reader.get(LIST, params)))
    assert got == {variety[name].reference for name in expected}


def test_received_after_is_inclusive_and_received_before_exclusive(reader):
    complaint = make_complaint(received_at=NOW - timedelta(days=1))
    at = (NOW - timedelta(days=1)).isoformat()
    assert refs(reader.get(LIST, {"received_after": at})) == [complaint.reference]
    assert refs(reader.get(LIST, {"received_before": at})) == []


def test_overdue_filter(reader):
    late = make_complaint(received_at=NOW - timedelta(days=20))
    set_fields(late, due_at=NOW - timedelta(hours=1))
    on_time = make_complaint(received_at=NOW - timedelta(hours=1))
    set_fields(on_time, due_at=NOW + timedelta(hours=5))
    closed_late = make_complaint(received_at=NOW - timedelta(days=30))
    set_fields(closed_late, due_at=NOW - timedelta(days=2), status=Status.CLOSED)

    assert refs(reader.get(LIST, {"overdue": "true"})) == [late.reference]
    assert set(refs(reader.get(LIST, {"overdue": "false"}))) == {
        on_time.reference,
        closed_late.reference,
    }
    rows = {row["reference"]: row for row in reader.get(LIST).json()["results"]}
    assert rows[late.reference]["is_overdue"] is True
    assert rows[on_time.reference]["is_overdue"] is False
    assert rows[closed_late.reference]["is_overdue"] is False


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"severity": "9"},
        {"channel": "pigeon"},
        {"received_after": "yesterday"},
        {"received_before": "2026-13-01"},
        {"updated_since": "not a time"},
    ],
)
def test_invalid_filter_values_are_400_naming_the_parameter(reader, params):
    make_complaint()
    response = reader.get(LIST, params)
    assert response.status_code == 400, response.content
    assert set(response.json()) == set(params)


def test_updated_since_finds_a_complaint_changed_by_a_note(reader, manager):
    complaint = make_complaint(received_at=NOW - timedelta(days=3))
    set_fields(complaint, updated_at=NOW - timedelta(days=3))
    since = (NOW - timedelta(minutes=1)).isoformat()
    assert refs(reader.get(LIST, {"updated_since": since})) == []
    lifecycle.add_note(complaint.pk, user=manager, text="Called the plumber.")
    assert refs(reader.get(LIST, {"updated_since": since})) == [complaint.reference]


# -- cursor pagination -------------------------------------------------------------------------


def walk(client, url, params=None):
    """Follow `next` links; returns (pages of references, last response body)."""
    pages = []
    response = client.get(url, params or {})
    while True:
        body = response.json()
        assert response.status_code == 200, body
        pages.append([row["reference"] for row in body["results"]])
        if not body["next"]:
            return pages, body
        response = client.get(body["next"])


def test_cursor_pages_forward_and_back(reader):
    made = [make_complaint(received_at=NOW - timedelta(hours=i + 1)) for i in range(5)]
    newest_first = [c.reference for c in made]

    first = reader.get(LIST, {"page_size": 2}).json()
    assert [r["reference"] for r in first["results"]] == newest_first[:2]
    assert first["previous"] is None and "cursor=" in first["next"]

    second = reader.get(first["next"]).json()
    assert [r["reference"] for r in second["results"]] == newest_first[2:4]
    assert second["previous"] and second["next"]

    third = reader.get(second["next"]).json()
    assert [r["reference"] for r in third["results"]] == newest_first[4:]
    assert third["next"] is None

    back = reader.get(third["previous"]).json()
    assert [r["reference"] for r in back["results"]] == newest_first[2:4]
    back = reader.get(back["previous"]).json()
    assert [r["reference"] for r in back["results"]] == newest_first[:2]
    assert back["previous"] is None


def test_cursor_pages_keep_filters_and_ordering(reader):
    made = [
        make_complaint(
            received_at=NOW - timedelta(hours=i + 1),
            channel=Channel.EMAIL if i % 2 else Channel.HOTLINE,
        )
        for i in range(6)
    ]
    pages, _ = walk(reader, LIST, {"page_size": 2, "channel": "email", "ordering": "received_at"})
    emails = [c.reference for c in reversed(made) if c.channel == Channel.EMAIL]
    assert pages == [emails[:2], emails[2:]]


def test_cursor_pages_do_not_skip_or_repeat_complaints_received_at_the_same_time(reader):
    same = NOW - timedelta(hours=1)
    made = {make_complaint(received_at=same).reference for _ in range(7)}
    pages, _ = walk(reader, LIST, {"page_size": 3})
    seen = [ref for page in pages for ref in page]
    assert sorted(seen) == sorted(made)


def test_incremental_sync_by_updated_at_sees_every_change_once(reader, manager):
    """A consumer pages with ordering=updated_at from its last high-water mark."""
    made = [make_complaint(received_at=NOW - timedelta(days=1)) for _ in range(4)]
    for i, complaint in enumerate(made):
        set_fields(complaint, updated_at=NOW - timedelta(hours=10 - i))
    pages, _ = walk(reader, LIST, {"ordering": "updated_at", "page_size": 3})
    assert [ref for page in pages for ref in page] == [c.reference for c in made]

    mark = reader.get(LIST, {"ordering": "-updated_at", "page_size": 1}).json()["results"][0]
    lifecycle.add_note(made[1].pk, user=manager, text="Plumber booked.")
    again = refs(reader.get(LIST, {"ordering": "updated_at", "updated_since": mark["updated_at"]}))
    # The last one seen (>= mark) and the one changed since.
    assert again == [made[3].reference, made[1].reference]


def test_page_size_is_capped_at_the_maximum(reader):
    maximum = ComplaintCursorPagination.max_page_size
    customer = CustomerFactory()
    Complaint.objects.bulk_create(
        Complaint(
            reference=f"C-2026-{900000 + i}",
            channel=Channel.HOTLINE,
            subject="Bulk",
            description="",
            customer=customer,
            received_at=NOW - timedelta(minutes=i + 1),
        )
        for i in range(maximum + 1)
    )
    body = reader.get(LIST, {"page_size": maximum + 100}).json()
    assert len(body["results"]) == maximum
    assert body["next"]
    assert len(reader.get(LIST, {"page_size": 7}).json()["results"]) == 7
    assert len(reader.get(LIST).json()["results"]) == ComplaintCursorPagination.page_size


def test_bad_cursor_is_404(reader):
    make_complaint()
    response = reader.get(LIST, {"cursor": "garbage"})
    assert response.status_code == 404
    assert "detail" in response.json()


def test_list_query_count_does_not_grow_with_page_size(reader, department):
    users = [UserFactory() for _ in range(3)]
    categories = [CategoryFactory(default_department=department) for _ in range(3)]
    customers = [CustomerFactory() for _ in range(5)]
    Complaint.objects.bulk_create(
        Complaint(
            reference=f"C-2026-{800000 + i}",
            channel=Channel.HOTLINE,
            subject="Bulk",
            description="",
            customer=customers[i % 5],
            category=categories[i % 3],
            department=department,
            assignee=users[i % 3],
            received_at=NOW - timedelta(minutes=i + 1),
        )
        for i in range(120)
    )

    reader.get(LIST, {"page_size": 1})  # the first use of a key records last_used_at

    def count(page_size):
        with CaptureQueriesContext(connection) as ctx:
            response = reader.get(LIST, {"page_size": page_size})
        assert len(response.json()["results"]) == page_size
        return len(ctx.captured_queries)

    assert count(10) == count(100)


# -- detail ------------------------------------------------------------------------------------


def test_detail_has_the_complaint_and_its_timeline(reader, manager, department):
    complaint = make_complaint(user=manager, department=department)
    lifecycle.add_note(complaint.pk, user=manager, text="Plumber booked for Tuesday.")
    lifecycle.log_contact(
        complaint.pk,
        user=manager,
        channel=Channel.HOTLINE,
        direction=ComplaintEvent.Direction.OUTBOUND,
        summary="Told the customer about Tuesday.",
    )
    response = reader.get(f"{LIST}{complaint.reference}/")
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == complaint.reference
    assert body["subject"] == complaint.subject
    assert body["department"] == "property"
    kinds = [event["kind"] for event in body["timeline"]]
    assert kinds == ["created", "note", "contact"]
    note, contact = body["timeline"][1:]
    assert note["note"] == "Plumber booked for Tuesday."
    assert note["actor"] == "manager"
    assert contact["contact_channel"] == "hotline"
    assert contact["contact_direction"] == "out"
    assert body["first_response_at"] is not None


def test_detail_query_count_does_not_grow_with_the_timeline(reader, manager):
    complaint = make_complaint(user=manager)
    url = f"{LIST}{complaint.reference}/"

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert reader.get(url).status_code == 200
        return len(ctx.captured_queries)

    reader.get(url)  # the first use of a key records last_used_at
    before = count()
    for i in range(5):
        lifecycle.add_note(
            complaint.pk, user=UserFactory(perms=["complaints.change_complaint"]), text=f"Note {i}"
        )
    assert count() == before


@pytest.mark.parametrize("reference", ["C-2026-999999", "nothing", "c-2026-000001"])
def test_detail_of_an_unknown_reference_is_404(reader, reference):
    make_complaint()
    assert reader.get(f"{LIST}{reference}/").status_code == 404


# -- departments and categories ----------------------------------------------------------------


def test_departments_list_and_detail(reader, department):
    DepartmentFactory(
        code="catering", name="餐饮部", name_en="Catering", parent=department, email="c@x.cn"
    )
    body = reader.get("/api/v1/departments/").json()
    assert body == [
        {
            "code": "catering",
            "name": "餐饮部",
            "name_en": "Catering",
            "parent": "property",
            "email": "c@x.cn",
            "active": True,
        },
        {
            "code": "property",
            "name": "Property management",
            "name_en": "",
            "parent": None,
            "email": "",
            "active": True,
        },
    ]
    assert reader.get("/api/v1/departments/catering/").json()["parent"] == "property"
    assert reader.get("/api/v1/departments/nowhere/").status_code == 404


def test_categories_list_and_detail(reader, department):
    from complaints.services.categories import rebuild_paths

    parent = CategoryFactory(
        code="building", name="建筑", name_en="Building", default_department=department
    )
    CategoryFactory(
        code="leak", name="渗漏", name_en="Leak", parent=parent, default_department=department
    )
    rebuild_paths()
    body = reader.get("/api/v1/categories/").json()
    assert [c["code"] for c in body] == ["building", "leak"]
    leak = reader.get("/api/v1/categories/leak/").json()
    assert leak["parent"] == "building"
    assert leak["default_department"] == "property"
    assert (leak["name"], leak["name_en"]) == ("渗漏", "Leak")
    assert (leak["full_name"], leak["full_name_en"]) == ("建筑 / 渗漏", "Building / Leak")
    assert reader.get("/api/v1/categories/nothing/").status_code == 404


# -- masking -----------------------------------------------------------------------------------


@pytest.fixture
def customer_complaint():
    customer = Customer.objects.create(
        name="张三丰", phone="+8613812345678", email="zhang.san@qq.com", external_id="CRM-7"
    )
    return make_complaint(customer=customer)


MASKED = {"name": "张**", "phone": "+86138****5678", "email": "z***@qq.com"}
CLEAR = {"name": "张三丰", "phone": "+8613812345678", "email": "zhang.san@qq.com"}


def customer_in(client, complaint):
    listed = client.get(LIST).json()["results"][0]["customer"]
    detailed = client.get(f"{LIST}{complaint.reference}/").json()["customer"]
    assert listed == detailed
    return {k: detailed[k] for k in ("name", "phone", "email")}, detailed


def test_personal_data_is_masked_without_pii_read(reader, customer_complaint):
    shown, customer = customer_in(reader, customer_complaint)
    assert shown == MASKED
    assert customer["external_id"] == "CRM-7"  # not personal data
    assert "13812345678" not in str(reader.get(LIST).content)


def test_personal_data_is_clear_with_pii_read(make_api_client, api, customer_complaint):
    _client, key = make_api_client(["complaints:read", "pii:read"])
    shown, _ = customer_in(api(key), customer_complaint)
    assert shown == CLEAR


@pytest.mark.parametrize(
    ("perms", "expected"),
    [
        (["complaints.view_complaint"], MASKED),
        (["complaints.view_complaint", "complaints.view_pii"], CLEAR),
    ],
    ids=["staff-without-view_pii", "staff-with-view_pii"],
)
def test_staff_session_masking_follows_the_view_pii_permission(
    api, customer_complaint, perms, expected
):
    user = UserFactory(perms=[*perms, "complaints.view_all_complaints"])
    client = api()
    client.force_login(user)
    shown, _ = customer_in(client, customer_complaint)
    assert shown == expected


def test_masked_values(reader):
    from complaints.privacy import mask_email, mask_name, mask_phone

    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+8613812345678") == "+86138****5678"
    assert mask_phone("12345") == "*2345"
    assert mask_phone("123") == "***"
    assert mask_name("李") == "李*"
    assert mask_name("Alexander Smith") == "A***"
    assert mask_name("  ") == ""
    assert mask_email("ab@x.cn") == "a***@x.cn"
    assert mask_email("") == ""
    assert mask_email("no-at-sign") == ""
