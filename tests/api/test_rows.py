"""The list's fast JSON (complaints/api/rows.py) is ComplaintSerializer's, value for value:
masked and unmasked, nulls, CJK text, times with and without microseconds, overdue or not,
in another current time zone; and the list endpoint answers with it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from complaints.api import rows
from complaints.api.serializers import ComplaintSerializer
from complaints.models import Complaint, Customer, Status
from tests.factories import CategoryFactory, CustomerFactory, DepartmentFactory, make_complaint

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)
LIST = "/api/v1/complaints/"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def varied(department):
    """Complaints whose values exercise every formatting rule."""
    water = CategoryFactory(code="water", name="漏水", default_department=department)
    other = DepartmentFactory(code="维修-2", name="维修部")
    handler = get_user_model().objects.create_user("王小明", password="x")
    made = [
        make_complaint(
            customer=CustomerFactory(
                name="欧阳娜娜", phone="+8613812345678", email="ouyang.nana@qq.com"
            ),
            subject="卫生间漏水，天花板滴水 🚿",
            description="自周一起\n\t“引号” 'quotes' \\ backslash",
            category=water,
            received_at=NOW - timedelta(days=40, microseconds=123),
        ),
        make_complaint(
            customer=CustomerFactory(name="L", phone="", email="", external_id="crm-7"),
            subject="=cmd|' /C calc'!A0",
            description="",
            department=other,
            received_at=NOW - timedelta(hours=3),
        ),
        make_complaint(
            customer=CustomerFactory(name="  Li  Na ", phone="+1234", email="not-an-address"),
            subject="No category, no department",
            received_at=datetime(2025, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("UTC")),
        ),
    ]
    # A finished one (met deadlines, closed), an overdue open one, an assigned one.
    Complaint.objects.filter(pk=made[0].pk).update(
        status=Status.RESOLVED,
        resolved_at=NOW - timedelta(days=1),
        acknowledged_at=NOW - timedelta(days=39),
        first_response_at=NOW - timedelta(days=38, seconds=1, microseconds=5),
        due_at=None,
        assignee=handler,
    )
    Complaint.objects.filter(pk=made[1].pk).update(due_at=NOW - timedelta(minutes=1))
    Complaint.objects.filter(pk=made[2].pk).update(
        ack_due_at=None, response_due_at=None, resolve_due_at=None, due_at=None
    )
    return made


def serializer_json(*, pii: bool, now) -> list[dict]:
    complaints = Complaint.objects.select_related(
        "customer", "category", "department", "assignee"
    ).order_by("-received_at")
    context = {"pii": pii, "now": now}
    return [dict(row) for row in ComplaintSerializer(complaints, many=True, context=context).data]


def fast_json(*, pii: bool, now) -> list[dict]:
    return rows.complaint_json(
        rows.values(Complaint.objects.order_by("-received_at")), pii=pii, now=now
    )


def plain(data):
    """OrderedDict/ReturnDict nesting as plain dicts, for equality with key order."""
    if isinstance(data, dict):
        return [(key, plain(value)) for key, value in data.items()]
    return data


@pytest.mark.parametrize("pii", [True, False])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/St_Johns"])
def test_fast_rows_are_the_serializers_json(varied, pii, zone):
    now = timezone.now()
    with timezone.override(ZoneInfo(zone)):
        expected = serializer_json(pii=pii, now=now)
        got = fast_json(pii=pii, now=now)
    assert len(got) == 3
    assert [plain(row) for row in got] == [plain(row) for row in expected]


def test_the_comparison_sees_masking_nulls_and_overdue(varied):
    """The data above really covers what the formatter decides (a guard for the test)."""
    now = timezone.now()
    masked = {row["reference"]: row for row in fast_json(pii=False, now=now)}
    clear = {row["reference"]: row for row in fast_json(pii=True, now=now)}
    first, second, third = (c.reference for c in varied)
    assert masked[first]["customer"]["name"] == "欧***"
    assert masked[first]["customer"]["phone"] == "+86138****5678"
    assert masked[first]["customer"]["email"] == "o***@qq.com"
    assert clear[first]["customer"]["name"] == "欧阳娜娜"
    assert masked[third]["customer"]["email"] == ""
    assert masked[second]["category"] is None and masked[second]["department"] == "维修-2"
    assert masked[first]["assignee"] == "王小明"
    assert masked[second]["is_overdue"] is True and masked[first]["is_overdue"] is False
    assert masked[third]["ack_due_at"] is None
    assert masked[third]["received_at"] == "2026-01-01T07:59:59+08:00"
    assert masked[first]["received_at"].endswith(".999877+08:00")


def test_fast_rows_have_the_serializers_fields_in_order():
    keys = list(rows.complaint_json([_row()], pii=True, now=timezone.now())[0])
    assert keys == ComplaintSerializer.Meta.fields


def _row() -> dict:
    row = dict.fromkeys(rows.PATHS)
    row["status"] = Status.NEW
    return row


def test_list_endpoint_answers_with_the_fast_rows(reader, varied):
    response = reader.get(LIST)
    assert response.status_code == 200
    assert response.json()["results"] == fast_json(pii=False, now=timezone.now())
    assert Customer.objects.count() == 3
