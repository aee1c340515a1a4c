"""Export of the complaint list (CSV, XLSX): the list's rows exactly (filters, search, order,
isolation), masked without the personal-data right, localized, streamed with a constant
number of queries, audited."""

import csv
import io
import json
from datetime import datetime, timedelta

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.admin import export
from complaints.models import Severity
from tests.factories import (
    CustomerFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    make_complaint,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:complaints_complaint_changelist")
CSV = reverse("admin:complaints_complaint_export", args=["csv"])
XLSX = reverse("admin:complaints_complaint_export", args=["xlsx"])
READER = [
    "complaints.view_complaint",
    "complaints.change_complaint",
    "complaints.view_department_complaints",
]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def xlsx_rows(response) -> list[list]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


@pytest.fixture
def data(department, manager):
    other = DepartmentFactory(code="sales", name="Sales")
    now = timezone.now()
    zhang = CustomerFactory(name="张伟", phone="+8613812345678")
    ours = [
        make_complaint(
            user=manager,
            department=department,
            customer=zhang,
            subject=f"Leak {i}",
            severity=Severity.GENERAL,
            received_at=now - timedelta(hours=i + 1),
        )
        for i in range(3)
    ]
    theirs = make_complaint(
        user=manager,
        department=other,
        customer=CustomerFactory(name="李娜", phone="+8613900001111"),
        subject='=HYPERLINK("http://x")',
        received_at=now - timedelta(hours=10),
    )
    return {"ours": ours, "theirs": theirs, "other": other}


def test_csv_is_the_filtered_sorted_list(manager_client, data):
    query = "?q=Leak&o=-2"  # search, ordered by received_at ascending... descending by column 2
    listed = [c.reference for c in manager_client.get(CHANGELIST + query).context["cl"].queryset]
    rows = csv_rows(manager_client.get(CSV + query))
    assert rows[0][:5] == ["reference", "received at", "customer", "phone", "subject"]
    assert [r[0] for r in rows[1:]] == listed
    assert len(listed) == 3 and data["theirs"].reference not in listed
    first = rows[1]
    assert first[2] == "张伟" and first[3] == "+8613812345678"  # the manager may read PII
    assert first[6] == "New" and first[9] == "Property management"


def test_export_buttons_keep_the_query_string(manager_client, data):
    html = manager_client.get(CHANGELIST + "?q=Leak&o=-2").content.decode()
    assert f'href="{CSV}?q=Leak&amp;o=-2"' in html
    assert f'href="{XLSX}?q=Leak&amp;o=-2"' in html


def test_export_is_isolated_and_masked(login_client, data, department):
    reader = UserFactory(username="reader", perms=READER)  # no view_pii
    MembershipFactory(department=department, user=reader)
    rows = csv_rows(login_client(reader).get(CSV))
    references = [r[0] for r in rows[1:]]
    assert sorted(references) == sorted(c.reference for c in data["ours"])
    body = "\n".join(",".join(r) for r in rows)
    assert "张伟" not in body and "13812345678" not in body
    assert rows[1][2] == "张*" and rows[1][3] == "+86138****5678"

    sheet = xlsx_rows(login_client(reader).get(XLSX))
    assert [r[0] for r in sheet[1:]] == references
    assert sheet[1][2] == "张*" and sheet[1][3] == "+86138****5678"


def test_another_departments_handler_exports_only_their_own(login_client, data):
    olga = UserFactory(username="olga", perms=[*READER, "complaints.view_pii"])
    MembershipFactory(department=data["other"], user=olga)
    rows = csv_rows(login_client(olga).get(CSV))
    assert [r[0] for r in rows[1:]] == [data["theirs"].reference]
    # A filter naming another department's complaint finds nothing for them.
    rows = csv_rows(login_client(olga).get(CSV + f"?q={data['ours'][0].reference}"))
    assert rows[1:] == []


def test_formula_guard_and_xlsx_types(manager_client, data):
    rows = csv_rows(manager_client.get(CSV + f"?q={data['theirs'].reference}"))
    assert rows[1][4] == '\'=HYPERLINK("http://x")'
    sheet = xlsx_rows(manager_client.get(XLSX + f"?q={data['theirs'].reference}"))
    assert sheet[1][4] == '=HYPERLINK("http://x")'  # a text cell, not a formula
    assert isinstance(sheet[1][1], datetime)
    local = timezone.localtime(data["theirs"].received_at).replace(tzinfo=None, second=0)
    assert abs(sheet[1][1] - local.replace(microsecond=0)) < timedelta(minutes=1)


def test_headers_and_labels_in_chinese(login_client, manager, data):
    client = login_client(manager)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    rows = csv_rows(client.get(CSV + "?q=Leak"))
    header = rows[0]
    assert not any(ch.isascii() and ch.isalpha() for ch in "".join(header)), header
    assert rows[1][6] == "新建" or not rows[1][6].isascii()
    sheet = xlsx_rows(client.get(XLSX + "?q=Leak"))
    assert sheet[0] == header


def test_export_query_count_does_not_grow_with_rows(manager_client, manager, department):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            for url in (CSV, XLSX):
                response = manager_client.get(url)
                b"".join(response.streaming_content)
        return len(ctx.captured_queries)

    for i in range(3):
        make_complaint(user=manager, department=department, subject=f"a{i}")
    few = count()
    for i in range(25):
        make_complaint(user=manager, department=department, subject=f"b{i}")
    assert count() == few


def test_export_is_audited_with_filter_and_row_count(manager_client, manager, superuser, data):
    response = manager_client.get(CSV + "?q=Leak")
    b"".join(response.streaming_content)
    entry = LogEntry.objects.get(action_flag=export.EXPORT_FLAG)
    assert entry.user == manager
    details = json.loads(entry.change_message)["export"]
    assert details == {"format": "csv", "query": "q=Leak", "rows": 3, "masked": False}
    assert "3 complaints exported as CSV" in export.describe(entry)


def test_invalid_filter_exports_nothing(manager_client, data):
    response = manager_client.get(CSV + "?nonsense__field=1")
    assert response.status_code == 302
    assert not LogEntry.objects.filter(action_flag=export.EXPORT_FLAG).exists()


def test_export_needs_a_login(client, data):
    response = client.get(CSV)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.postgres
def test_copy_and_python_paths_write_the_same_bytes(manager, data, rf):
    from complaints.models import Complaint

    labels = export.Labels.now()
    now = timezone.now()
    queryset = Complaint.objects.order_by("-received_at", "-pk")
    for pii in (True, False):
        copied = b"".join(export.copy_csv(queryset, pii=pii, now=now, labels=labels, counter=[0]))
        python = b"".join(export.python_csv(queryset, pii=pii, now=now, labels=labels, counter=[0]))
        assert copied == python
        assert copied.count(b"\n") == 5


@pytest.mark.parametrize(
    "query",
    ["", "?o=2", "?o=-3", "?o=9", "?o=-9.1", "?status__exact=new&o=6", "?mine=departments"],
)
def test_export_follows_every_list_order(manager, login_client, department, query):
    """Orders by a column, by an expression (the due column: nulls last), with a filter: the
    file lists the rows in the list's order (both paths on PostgreSQL: COPY for CSV)."""
    from complaints.services import lifecycle

    MembershipFactory(department=department, user=manager)
    now = timezone.now()
    for i in range(6):
        complaint = make_complaint(
            user=manager,
            department=department,
            customer=CustomerFactory(name=f"客户{5 - i}"),
            received_at=now - timedelta(hours=i),
        )
        if i % 3 == 0:
            lifecycle.transition(complaint.pk, "invalid", user=manager, note="duplicate call")
    client = login_client(manager)
    listed = [c.reference for c in client.get(CHANGELIST + query).context["cl"].queryset]
    assert len(listed) >= 4
    assert [r[0] for r in csv_rows(client.get(CSV + query))[1:]] == listed
    assert [r[0] for r in xlsx_rows(client.get(XLSX + query))[1:]] == listed


@pytest.mark.postgres
def test_an_unreadable_timestamp_does_not_cut_the_file(manager_client, data):
    """A received time PostgreSQL stores but Python cannot read: both files still hold every
    row (times are formatted by the database)."""
    from tests.complaints.test_poisoned_rows import poison

    poison(data["ours"][1].pk)
    expected = {c.reference for c in [*data["ours"], data["theirs"]]}
    rows = csv_rows(manager_client.get(CSV))
    assert {r[0] for r in rows[1:]} == expected
    sheet = xlsx_rows(manager_client.get(XLSX))
    assert {r[0] for r in sheet[1:]} == expected


@pytest.mark.postgres
def test_xlsx_written_by_the_database_reads_like_the_python_one(manager, department):
    """The XLSX rows PostgreSQL writes (one COPY) hold the same values as the Python writer's:
    escaping, characters XML cannot carry, newlines, empty cells, dates, masking."""
    from complaints import xlsx
    from complaints.models import Complaint

    make_complaint(
        user=manager,
        department=department,
        subject='A <b> & "c"\x01 line\nnext',
        customer=CustomerFactory(name="O'Brien <x>", phone="+8613811112222"),
    )
    make_complaint(user=manager, subject="no department", customer=CustomerFactory(phone=""))
    labels = export.Labels.now()
    now = timezone.now()
    queryset = Complaint.objects.order_by("-received_at", "-pk")

    def read(data: bytes):
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]

    for pii in (True, False):
        raw_rows = export.copy_xlsx_rows(queryset, pii=pii, now=now, labels=labels)
        database = read(b"".join(xlsx.stream_workbook(labels.header, raw_rows, raw=True)))
        python_rows = export.python_rows(queryset, pii=pii, now=now, labels=labels, as_text=False)
        python = read(b"".join(xlsx.stream_workbook(labels.header, python_rows)))
        assert len(database) == len(python) == 3
        for got, expected in zip(database, python, strict=True):
            for a, b in zip(got, expected, strict=True):
                if isinstance(b, datetime):
                    assert abs(a - b) < timedelta(seconds=1)
                else:
                    assert a == b
        assert database[2][4] == 'A <b> & "c" line\nnext'


def test_the_change_log_shows_exports_to_auditors(manager_client, superuser, login_client, data):
    b"".join(manager_client.get(CSV + "?q=Leak").streaming_content)
    page = login_client(superuser).get(reverse("admin:admin_logentry_changelist"))
    html = page.content.decode()
    assert "exported" in html and "3 complaints exported as CSV; filter: q=Leak" in html
    # Handlers do not read the log of complaint data (it names what was searched for).
    handler = UserFactory(username="h2", perms=["admin.view_logentry"])
    hidden = login_client(handler).get(reverse("admin:admin_logentry_changelist"))
    assert "complaints exported" not in hidden.content.decode()


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/London", "Asia/Kolkata"])
def test_minutes_from_the_text_output_are_to_chars(zone):
    """LocalMinute cuts the time's text output where the year has four digits; it must write
    what to_char(..., 'YYYY-MM-DD HH24:MI') writes for every time, also around the bounds and
    for years it leaves to to_char (BC, five digits)."""
    from django.db.models import F

    from complaints.models import Complaint

    values = [
        "2026-03-10 10:00:00+08",
        "2026-03-10 10:00:59.999999+08",
        "2026-07-01 23:59:30.5+00",
        "1930-01-15 03:02:01.123456+00",
        "1000-01-01 00:00:00+00",
        "0999-12-31 23:59:59+00",
        "9998-12-31 20:00:00+00",
        "9999-06-01 00:00:00+00",
        "10000-01-01 00:00:00+00",
        "0001-12-31 16:00:00+00 BC",
    ]
    query = Complaint.objects.annotate(m=export.LocalMinute(F("received_at"))).values("m")
    minute_sql = str(query.query).split("SELECT ", 1)[1].split(" AS ", 1)[0]
    minute_sql = minute_sql.replace('"complaints_complaint"."received_at"', "v")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        cursor.execute(
            f"SELECT {minute_sql}, to_char(v, 'YYYY-MM-DD HH24:MI') "  # noqa: S608
            "FROM unnest(%s::timestamptz[]) AS u(v)",
            [values],
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT set_config('TimeZone', 'UTC', false)")
    assert "left(" in minute_sql
    assert [a for a, _b in rows] == [b for _a, b in rows]


def test_the_escalation_column_is_the_current_level(manager_client, data):
    """The level counts the current deadlines: 0 once a complaint is no longer open, as the
    list's due column and its "escalated" filter have it (the escalations sent stay on the
    timeline and in the audit list)."""
    from complaints.models import AlertSchedule, Complaint, Status

    escalated, closed, _calm = data["ours"]
    AlertSchedule.objects.filter(complaint_id__in=[escalated.pk, closed.pk]).update(
        escalation_level=2
    )
    Complaint.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    rows = csv_rows(manager_client.get(CSV + "?q=Leak"))
    column = rows[0].index("current escalation level")
    levels = {row[0]: row[column] for row in rows[1:]}
    assert levels[escalated.reference] == "2"
    assert levels[closed.reference] == "0"
