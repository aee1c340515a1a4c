from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from complaints.models import DepartmentMembership
from tests.conftest import ALL_COMPLAINT_PERMS
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")

HANDLER_PERMS = [
    "complaints.view_complaint",
    "complaints.add_complaint",
    "complaints.change_complaint",
    "complaints.view_customer",
    "complaints.view_department_complaints",
]


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def team(db):
    """Two departments, each with a head and a handler (with personal-data rights), and a
    handler of the first without them."""
    service = DepartmentFactory(code="service", name="客户服务部")
    property_ = DepartmentFactory(code="property", name="物业管理部")
    people = {"service": service, "property": property_}
    for code, department in (("service", service), ("property", property_)):
        head = UserFactory(
            username=f"head.{code}",
            email=f"head.{code}@example.com",
            perms=[
                *HANDLER_PERMS,
                "complaints.view_pii",
                "complaints.view_replytemplate",
                "complaints.add_replytemplate",
                "complaints.change_replytemplate",
            ],
        )
        MembershipFactory(department=department, user=head, role=DepartmentMembership.Role.HEAD)
        handler = UserFactory(
            username=f"handler.{code}",
            first_name=f"Handler {code}",
            email=f"handler.{code}@example.com",
            perms=[*HANDLER_PERMS, "complaints.view_pii"],
        )
        MembershipFactory(department=department, user=handler)
        people[f"head.{code}"], people[f"handler.{code}"] = head, handler
    masked = UserFactory(username="handler.masked", perms=HANDLER_PERMS)
    MembershipFactory(department=service, user=masked)
    people["masked"] = masked
    people["manager"] = UserFactory(
        username="mgr",
        perms=[
            *ALL_COMPLAINT_PERMS,
            "complaints.view_replytemplate",
            "complaints.add_replytemplate",
            "complaints.change_replytemplate",
        ],
    )
    return people
