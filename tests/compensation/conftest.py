"""Role users for the compensation tests: the groups and the starting authority matrix are
the ones the migrations create (head 2,000 / 5,000; approver 20,000 / 50,000; manager
50,000 / 200,000 CNY)."""

import pytest
from django.contrib.auth.models import Group

from complaints.models import DepartmentMembership
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory, make_complaint

ROLES = {
    "handler": "Handler · 处理专员",
    "head": "Department head · 部门负责人",
    "manager": "Complaint manager · 投诉经理",
    "approver": "Compensation approver · 补偿审批人",
    "auditor": "Auditor · 审计员",
}


def role_user(username, role, department=None, *, head=False, **fields):
    user = UserFactory(username=username, first_name=username.title(), **fields)
    user.groups.add(Group.objects.get(name=ROLES[role]))
    if department is not None:
        MembershipFactory(
            department=department,
            user=user,
            role=DepartmentMembership.Role.HEAD if head else DepartmentMembership.Role.MEMBER,
        )
    return user


@pytest.fixture
def service(db):
    return DepartmentFactory(code="service", name="Customer service")


@pytest.fixture
def elsewhere(db):
    return DepartmentFactory(code="works", name="Engineering works")


@pytest.fixture
def people(service, elsewhere):
    return {
        "handler": role_user("hana", "handler", service),
        "handler2": role_user("hugo", "handler", service),
        "head": role_user("helen", "head", service, head=True),
        "head2": role_user("henry", "head", service, head=True),
        "approver": role_user("april", "approver", service),
        "manager": role_user("mona", "manager"),
        "other_head": role_user("oscar", "head", elsewhere, head=True),
        "auditor": role_user("audrey", "auditor"),
    }


@pytest.fixture
def complaint(people, service):
    return make_complaint(user=people["manager"], department=service)


# The API helpers (keys with scopes, token clients) for test_api.py.
from tests.api.conftest import _own_throttle_cache, api, make_api_client  # noqa: E402, F401
