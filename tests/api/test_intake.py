"""Sending complaints in (POST complaints/) with idempotency, and adding notes and contacts."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils.dateparse import parse_datetime

from complaints.models import (
    Complaint,
    ComplaintEvent,
    Customer,
    IdempotencyRecord,
    Severity,
)
from tests.factories import CategoryFactory, CustomerFactory, make_complaint

pytestmark = pytest.mark.django_db

LIST = "/api/v1/complaints/"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)
REFERENCE = re.compile(r"^C-2026-\d{6}$")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def writer_client(make_api_client):
    return make_api_client(["complaints:read", "complaints:write", "pii:read"], name="crm")


@pytest.fixture
def writer(writer_client, api):
    return api(writer_client[1])


@pytest.fixture
def leak(department):
    return CategoryFactory(code="leak", name="Water leak", default_department=department)


def body(**overrides):
    data = {
        "channel": "web",
        "subject": "Water leaking from the ceiling",
        "description": "Since Monday water drips in the bathroom.",
        "customer": {"name": "李四", "phone": "138 1234 5678", "email": "Li.Si@Example.com"},
    }
    data.update(overrides)
    return data


def post(client, data, key="req-1", **kwargs):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(LIST, data, format="json", headers=headers, **kwargs)


def counts():
    return (
        Complaint.objects.count(),
        Customer.objects.count(),
        IdempotencyRecord.objects.count(),
        ComplaintEvent.objects.count(),
    )


# -- happy path --------------------------------------------------------------------------------


def test_intake_creates_the_complaint_and_returns_it(writer, writer_client, leak):
    data = body(
        received_at="2026-03-10T08:30:00+08:00",
        desired_outcome="Fix it and pay for the paint.",
        category="leak",
        item_ref="Block 3, flat 1201",
        households_affected=2,
        media_risk=True,
        external_ref="CRM-2026-77",
        customer={
            "name": "李四",
            "phone": "138 1234 5678",
            "email": "Li.Si@Example.com",
            "external_id": "crm-991",
        },
    )
    response = post(writer, data)
    assert response.status_code == 201, response.content
    out = response.json()
    assert REFERENCE.match(out["reference"])
    assert "Idempotent-Replayed" not in response
    assert out["status"] == "new"
    assert out["severity"] == Severity.CRISIS  # media risk
    assert "media" in out["severity_reason"]
    ack, respond, resolve = (
        parse_datetime(out[f]) for f in ("ack_due_at", "response_due_at", "resolve_due_at")
    )
    assert parse_datetime(out["received_at"]) < ack <= respond <= resolve
    assert out["received_at"] == "2026-03-10T08:30:00+08:00"
    assert out["category"] == "leak"
    assert out["department"] == "property"  # the category's default department
    assert out["channel"] == "web"
    assert out["external_ref"] == "CRM-2026-77"
    assert out["customer"] == {
        "name": "李四",
        "phone": "+8613812345678",
        "email": "li.si@example.com",
        "external_id": "crm-991",
        "tier": "standard",
    }

    complaint = Complaint.objects.get(reference=out["reference"])
    assert complaint.api_client == writer_client[0]
    assert complaint.created_by is None
    assert complaint.households_affected == 2
    assert complaint.item_ref == "Block 3, flat 1201"
    assert complaint.desired_outcome == "Fix it and pay for the paint."
    assert complaint.customer.phone == "+8613812345678"
    assert complaint.events.filter(kind=ComplaintEvent.Kind.CREATED).count() == 1
    assert IdempotencyRecord.objects.get().complaint == complaint


def test_intake_defaults(writer):
    response = post(writer, {"channel": "hotline", "subject": "Noise", "customer": {"name": "A"}})
    assert response.status_code == 201, response.content
    out = response.json()
    assert parse_datetime(out["received_at"]) == NOW
    assert out["severity"] == Severity.GENERAL
    assert out["category"] is None and out["department"] is None
    complaint = Complaint.objects.get()
    assert (complaint.households_affected, complaint.media_risk) == (1, False)


@pytest.mark.parametrize(
    ("facts", "severity"),
    [
        ({"litigation_risk": True}, Severity.MAJOR),
        ({"households_affected": 12}, Severity.CRISIS),
        ({"households_affected": 4}, Severity.MAJOR),
    ],
)
def test_intake_severity_follows_the_rules(writer, facts, severity):
    response = post(writer, body(**facts))
    assert response.json()["severity"] == severity


def test_intake_finds_the_existing_customer(writer):
    known = CustomerFactory(name="李四", phone="+8613812345678")
    response = post(writer, body(customer={"phone": "13812345678"}))
    assert response.status_code == 201, response.content
    assert Complaint.objects.get().customer == known
    assert Customer.objects.count() == 1


def test_received_at_a_little_ahead_is_tolerated(writer):
    # Clock skew between systems (a few minutes) is not an error.
    ahead = (NOW + timedelta(minutes=2)).isoformat()
    assert post(writer, body(received_at=ahead)).status_code == 201


# -- validation (400, nothing written) ---------------------------------------------------------


@pytest.fixture
def inactive_category(department):
    return CategoryFactory(code="old", default_department=department, active=False)


INVALID = [
    ("missing-channel", lambda b: b.pop("channel"), ["channel"]),
    ("bad-channel", lambda b: b.update(channel="pigeon"), ["channel"]),
    ("missing-subject", lambda b: b.pop("subject"), ["subject"]),
    ("blank-subject", lambda b: b.update(subject=""), ["subject"]),
    ("long-subject", lambda b: b.update(subject="x" * 301), ["subject"]),
    ("future", lambda b: b.update(received_at="2026-03-11T10:00:00+08:00"), ["received_at"]),
    ("bad-time", lambda b: b.update(received_at="yesterday"), ["received_at"]),
    ("unknown-category", lambda b: b.update(category="nothing"), ["category"]),
    ("inactive-category", lambda b: b.update(category="old"), ["category"]),
    ("zero-households", lambda b: b.update(households_affected=0), ["households_affected"]),
    ("text-households", lambda b: b.update(households_affected="many"), ["households_affected"]),
    ("bad-media-risk", lambda b: b.update(media_risk="maybe"), ["media_risk"]),
    ("bad-litigation", lambda b: b.update(litigation_risk=[1]), ["litigation_risk"]),
    ("long-item", lambda b: b.update(item_ref="x" * 201), ["item_ref"]),
    ("long-external-ref", lambda b: b.update(external_ref="x" * 101), ["external_ref"]),
    ("missing-customer", lambda b: b.pop("customer"), ["customer"]),
    ("empty-customer", lambda b: b.update(customer={}), ["customer"]),
    ("customer-not-object", lambda b: b.update(customer="李四"), ["customer"]),
    ("bad-phone", lambda b: b["customer"].update(phone="12"), ["customer"]),
    ("bad-email", lambda b: b["customer"].update(email="not-an-email"), ["customer"]),
    ("new-customer-without-name", lambda b: b.update(customer={"phone": "13700000000"}), None),
    (
        "long-customer-external-id",
        lambda b: b["customer"].update(external_id="x" * 80),
        ["customer"],
    ),
    ("several", lambda b: b.update(channel="x", subject="", households_affected=-1), None),
]


@pytest.mark.parametrize(
    ("change", "fields"), [(c, f) for _, c, f in INVALID], ids=[name for name, _, _ in INVALID]
)
def test_invalid_intake_is_400_field_by_field_and_writes_nothing(
    writer, inactive_category, change, fields
):
    data = body()
    change(data)
    before = counts()
    response = post(writer, data)
    assert response.status_code == 400, response.content
    errors = response.json()
    if fields is None:  # several fields, or a rule across fields: some field key is named
        assert errors and all(isinstance(v, (list, dict)) for v in errors.values())
    else:
        assert sorted(errors) == fields
    assert counts() == before


def test_several_errors_are_reported_together(writer):
    response = post(writer, body(channel="x", subject="", households_affected=-1))
    assert set(response.json()) == {"channel", "subject", "households_affected"}


def test_customer_errors_name_the_nested_field(writer):
    response = post(writer, body(customer={"name": "A", "phone": "12", "email": "nope"}))
    assert set(response.json()["customer"]) == {"phone", "email"}


def test_new_customer_without_name_is_400_on_customer(writer):
    response = post(writer, body(customer={"phone": "13700000000"}))
    assert response.status_code == 400
    assert "customer" in response.json()


@pytest.mark.parametrize(
    "payload", ["not json", "[1, 2]", "null", '"text"'], ids=["garbage", "list", "null", "string"]
)
def test_body_that_is_not_an_object_is_400(writer, payload):
    before = counts()
    response = writer.post(
        LIST, payload, content_type="application/json", headers={"Idempotency-Key": "b"}
    )
    assert response.status_code == 400, response.content
    assert counts() == before


def test_missing_idempotency_key_is_400(writer):
    before = counts()
    response = post(writer, body(), key=None)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert counts() == before


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_blank_or_overlong_idempotency_key_is_400(writer, key):
    before = counts()
    response = post(writer, body(), key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert counts() == before


def test_a_rejected_request_does_not_use_up_its_key(writer):
    """A 400 writes nothing, the idempotency record included: the corrected request with the
    same key goes through."""
    assert post(writer, body(customer={"phone": "13700000000"}), key="k").status_code == 400
    response = post(writer, body(), key="k")
    assert response.status_code == 201
    assert Complaint.objects.count() == 1


# -- idempotency -------------------------------------------------------------------------------


def test_same_key_and_body_returns_the_original_complaint(writer):
    first = post(writer, body(), key="crm-1")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        again = post(writer, body(), key="crm-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["reference"] == first.json()["reference"]
    assert again.json()["received_at"] == first.json()["received_at"]
    assert Complaint.objects.count() == 1
    assert Customer.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize("routed", [False, True], ids=["numbered-with-insert", "numbered-first"])
def test_the_key_is_recorded_with_its_complaint_on_either_path(writer, leak, routed):
    """The idempotency record is inserted with the complaint (on PostgreSQL in its
    statement; a complaint with category and item is numbered first and saved on its own):
    either way it points to the complaint, and a twin request finds it."""
    extra = {"category": "leak", "item_ref": "A-1"} if routed else {}
    first = post(writer, body(**extra), key="crm-1")
    assert first.status_code == 201, first.content
    record = IdempotencyRecord.objects.select_related("complaint").get()
    assert record.complaint.reference == first.json()["reference"]
    assert record.client.name == "crm" and record.user is None
    again = post(writer, body(**extra), key="crm-1")
    assert again["Idempotent-Replayed"] == "true"
    assert post(writer, body(subject="Else", **extra), key="crm-1").status_code == 409
    assert Complaint.objects.count() == 1


def test_replay_does_not_depend_on_key_order_in_the_body(writer):
    data = body()
    first = post(writer, data, key="crm-1")
    reordered = dict(reversed(list(data.items())))
    reordered["customer"] = dict(reversed(list(data["customer"].items())))
    again = post(writer, reordered, key="crm-1")
    assert again.status_code == 201
    assert again.json()["reference"] == first.json()["reference"]


def test_same_key_with_a_different_body_is_409(writer):
    first = post(writer, body(), key="crm-1")
    before = counts()
    response = post(writer, body(subject="Something else"), key="crm-1")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]
    assert counts() == before
    assert Complaint.objects.get().reference == first.json()["reference"]


def test_different_keys_make_different_complaints(writer):
    a = post(writer, body(), key="crm-1").json()["reference"]
    b = post(writer, body(), key="crm-2").json()["reference"]
    assert a != b
    assert Complaint.objects.count() == 2


def test_keys_belong_to_their_client(writer, make_api_client, api):
    """Two systems may happen to use the same key; each gets its own complaint."""
    _other, key = make_api_client(["complaints:write"])
    a = post(writer, body(), key="42").json()["reference"]
    b = post(api(key), body(), key="42")
    assert b.status_code == 201 and "Idempotent-Replayed" not in b
    assert b.json()["reference"] != a


# -- notes and contacts ------------------------------------------------------------------------


@pytest.fixture
def complaint(department):
    return make_complaint(department=department, received_at=NOW - timedelta(days=1))


def notes_url(complaint):
    return f"{LIST}{complaint.reference}/notes/"


def test_add_a_note(writer, complaint):
    Complaint.objects.filter(pk=complaint.pk).update(updated_at=NOW - timedelta(hours=3))
    response = writer.post(
        notes_url(complaint), {"type": "note", "text": "Plumber booked."}, format="json"
    )
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["kind"] == "note"
    assert out["note"] == "Plumber booked."
    assert out["actor"] is None
    assert out["data"] == {"source": "api:crm"}
    complaint.refresh_from_db()
    assert complaint.updated_at == NOW  # incremental sync sees the change
    timeline = writer.get(f"{LIST}{complaint.reference}/").json()["timeline"]
    assert [e["kind"] for e in timeline] == ["created", "note"]


def test_log_an_outbound_contact_sets_the_first_response(writer, complaint):
    assert complaint.first_response_at is None
    when = NOW - timedelta(hours=2)
    response = writer.post(
        notes_url(complaint),
        {
            "type": "contact",
            "text": "Called back; plumber on Tuesday.",
            "channel": "hotline",
            "direction": "out",
            "contacted_at": when.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    out = response.json()
    assert (out["kind"], out["contact_channel"], out["contact_direction"]) == (
        "contact",
        "hotline",
        "out",
    )
    complaint.refresh_from_db()
    assert complaint.first_response_at == when
    assert complaint.updated_at == NOW
    detail = writer.get(f"{LIST}{complaint.reference}/").json()
    assert parse_datetime(detail["first_response_at"]) == when


def test_an_outbound_contact_without_time_is_now(writer, complaint):
    writer.post(
        notes_url(complaint),
        {"type": "contact", "text": "Called.", "channel": "hotline", "direction": "out"},
        format="json",
    )
    complaint.refresh_from_db()
    assert complaint.first_response_at == NOW


def test_an_inbound_contact_is_not_a_response(writer, complaint):
    response = writer.post(
        notes_url(complaint),
        {"type": "contact", "text": "Customer chased.", "channel": "email", "direction": "in"},
        format="json",
    )
    assert response.status_code == 201
    complaint.refresh_from_db()
    assert complaint.first_response_at is None
    assert complaint.updated_at == NOW


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"type": "note"}, {"text"}),
        ({"type": "note", "text": ""}, {"text"}),
        ({"type": "note", "text": "   "}, {"text"}),
        ({"type": "memo", "text": "Hi"}, {"type"}),
        ({"text": "Hi"}, {"type"}),
        ({"type": "contact", "text": "Hi"}, {"channel", "direction"}),
        ({"type": "contact", "text": "Hi", "channel": "hotline"}, {"direction"}),
        ({"type": "contact", "text": "Hi", "channel": "fax", "direction": "out"}, {"channel"}),
        ({"type": "contact", "text": "Hi", "channel": "email", "direction": "up"}, {"direction"}),
        (
            {
                "type": "contact",
                "text": "Hi",
                "channel": "email",
                "direction": "out",
                "contacted_at": "2026-03-11T10:00:00+08:00",
            },
            None,
        ),
        (
            {
                "type": "contact",
                "text": "Hi",
                "channel": "email",
                "direction": "out",
                "contacted_at": "2026-03-01T10:00:00+08:00",
            },
            None,
        ),
        ({"type": "note", "text": "x" * 10001}, {"text"}),
    ],
    ids=[
        "no-text",
        "empty-text",
        "blank-text",
        "bad-type",
        "no-type",
        "contact-no-channel",
        "contact-no-direction",
        "bad-channel",
        "bad-direction",
        "future-contact",
        "contact-before-received",
        "long-text",
    ],
)
def test_invalid_notes_are_400_and_write_nothing(writer, complaint, data, fields):
    before = (ComplaintEvent.objects.count(), Complaint.objects.get().updated_at)
    response = writer.post(notes_url(complaint), data, format="json")
    assert response.status_code == 400, response.content
    if fields is not None:
        assert set(response.json()) == fields
    assert (ComplaintEvent.objects.count(), Complaint.objects.get().updated_at) == before


def test_note_on_an_unknown_complaint_is_404(writer):
    response = writer.post(
        f"{LIST}C-2026-999999/notes/", {"type": "note", "text": "Hi"}, format="json"
    )
    assert response.status_code == 404


def test_intake_and_notes_do_not_accept_get_or_put(writer, complaint):
    assert writer.get(notes_url(complaint)).status_code == 405
    assert writer.put(f"{LIST}{complaint.reference}/", body(), format="json").status_code == 405
    assert writer.delete(f"{LIST}{complaint.reference}/").status_code == 405
    assert Complaint.objects.count() == 1


# -- matching does not reveal another department's customer (issue 10, medium 6) ---------------


@pytest.fixture
def secret_customer(manager):
    """A customer of another department, with data a restricted client may not read."""
    from tests.factories import DepartmentFactory

    other = DepartmentFactory(code="finance")
    customer = CustomerFactory(
        name="秘密客户", phone="+8613999999999", email="secret@example.com", external_id="VIP-1"
    )
    make_complaint(user=manager, department=other, customer=customer)
    return customer


@pytest.fixture
def restricted(make_api_client, api, department):
    _client, key = make_api_client(
        ["complaints:read", "complaints:write", "pii:read"], department=department
    )
    return api(key)


STORED = {"秘密客户", "secret@example.com", "+8613999999999", "VIP-1"}


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ({"name": "Caller", "phone": "139 9999 9999"}, "+8613999999999"),
        ({"name": "Caller", "external_id": "VIP-1"}, "VIP-1"),
        ({"name": "Caller", "email": "SECRET@example.com"}, "secret@example.com"),
    ],
    ids=["phone", "external-id", "email"],
)
def test_restricted_client_matching_another_departments_customer_learns_nothing(
    restricted, secret_customer, leak, sent, echoed
):
    response = post(restricted, body(category="leak", customer=sent))
    assert response.status_code == 201, response.content
    text = response.content.decode()
    for stored in STORED - {echoed}:
        assert stored not in text, stored
    customer = response.json()["customer"]
    assert customer["name"] == "Caller"  # what the caller sent, not what is on file
    # ... and linked: one person, one customer (the record on file is not changed).
    complaint = Complaint.objects.get(reference=response.json()["reference"])
    assert complaint.customer == secret_customer
    assert Customer.objects.count() == 1
    secret_customer.refresh_from_db()
    assert (secret_customer.name, secret_customer.email) == ("秘密客户", "secret@example.com")
    # A replay answers the same way.
    replay = post(restricted, body(category="leak", customer=sent))
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["customer"] == customer


def test_a_client_that_may_read_the_customer_gets_it_as_on_file(writer, secret_customer):
    response = post(writer, body(customer={"phone": "13999999999"}))
    assert response.status_code == 201
    assert response.json()["customer"]["name"] == "秘密客户"


# -- one intake rule for the admin and the API (issue 10, low) -------------------------------


@pytest.mark.parametrize("category", ["", None])
def test_a_restricted_client_can_read_what_it_sent(restricted, category, department):
    """`"category": ""` (or none) made a complaint without a department, which the sending
    department-restricted client could not read back. It lands in the client's department,
    as an uncategorised complaint recorded by that department's staff would."""
    data = body()
    if category is not None:
        data["category"] = category
    response = post(restricted, data)
    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    assert Complaint.objects.get(reference=reference).department == department
    assert restricted.get(f"{LIST}{reference}/").status_code == 200
    assert reference in [c["reference"] for c in restricted.get(LIST).json()["results"]]


def test_description_is_optional_at_both_entry_points(writer, manager_client):
    """The API accepts a complaint without a description; the admin then edits it (the form
    required one, so such complaints could not be saved in the admin)."""
    from django.urls import reverse

    from tests.factories import form_fields

    response = post(writer, body(description=""))
    assert response.status_code == 201, response.content
    complaint = Complaint.objects.get(reference=response.json()["reference"])
    url = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    data = form_fields(manager_client.get(url).content.decode(), "complaint_form")
    data["subject"] = ["Edited in the admin"]
    assert manager_client.post(url, data).status_code == 302
    assert Complaint.objects.get(pk=complaint.pk).subject == "Edited in the admin"


@pytest.mark.parametrize("subject", ["", "   "])
def test_a_blank_subject_is_refused_by_the_api(writer, subject):
    response = post(writer, body(subject=subject))
    assert response.status_code == 400
    assert "subject" in response.json()
    assert Complaint.objects.count() == 0


def test_intake_uses_the_shared_plausibility_rule(writer):
    before = counts()
    response = post(writer, body(received_at="1999-12-31T23:00:00+08:00"))
    assert response.status_code == 400
    assert "cannot be earlier than 2000-01-01" in str(response.json()["received_at"])
    assert counts() == before


def test_replay_after_the_complaint_moved_departments_shows_nothing_of_it_now(restricted, leak):
    """A department-restricted client replaying its key after the complaint moved to another
    department gets a 409 naming the reference it created, not the complaint's current row
    (status, department, subject as others changed them)."""
    from tests.factories import DepartmentFactory

    first = post(restricted, body(category="leak"), key="moved-1")
    assert first.status_code == 201, first.content
    complaint = Complaint.objects.get(reference=first.json()["reference"])
    Complaint.objects.filter(pk=complaint.pk).update(
        department=DepartmentFactory(code="finance"), subject="Renamed by finance"
    )
    again = post(restricted, body(category="leak"), key="moved-1")
    assert again.status_code == 409, again.content
    assert again.json()["reference"] == complaint.reference
    assert "Renamed by finance" not in again.content.decode()
    assert Complaint.objects.count() == 1  # still not recorded twice


def test_the_intake_fields_are_bound_once_and_keep_no_state():
    """IntakeSerializer's fields are built once per class (FieldsBoundOnce): instances
    validating one after another get their own values and errors."""
    from complaints.api.serializers import IntakeSerializer

    good, bad = IntakeSerializer(data=body()), IntakeSerializer(data=body(channel="fax"))
    assert good.fields is bad.fields
    assert bad.fields["customer"].fields["phone"].root is good.fields["channel"].root
    assert not bad.is_valid()
    assert set(bad.errors) == {"channel"}
    assert good.is_valid(), good.errors
    assert good.validated_data["customer"]["phone"] == "+8613812345678"
    worse = IntakeSerializer(data=body(customer={"phone": "12"}, subject=""))
    assert not worse.is_valid()
    assert set(worse.errors) == {"customer", "subject"}
    assert set(worse.errors["customer"]) == {"phone"}
    again = IntakeSerializer(data=body())
    assert again.is_valid(), again.errors
    # With a context (not the intake's use) an instance builds its own.
    assert IntakeSerializer(data=body(), context={"x": 1}).fields is not good.fields


def test_shared_intake_fields_answer_in_each_callers_language():
    """DRF's length validators keep their message once rendered: fields shared by every
    request must not answer an English caller in the first caller's Chinese (or back)."""
    from django.utils import translation

    from complaints.api.serializers import IntakeSerializer

    def subject_error(language):
        with translation.override(language):
            serializer = IntakeSerializer(data=body(subject="长" * 301))
            assert not serializer.is_valid()
            return str(serializer.errors["subject"][0])

    chinese, english = subject_error("zh-hans"), subject_error("en")
    assert "300" in chinese and "300" in english
    assert "字符" in chinese
    assert "characters" in english, english
    assert subject_error("zh-hans") == chinese
