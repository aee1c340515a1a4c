"""Role users for the compensation tests: the groups and the starting authority matrix are
the ones the migrations create (head 2,000 / 5,000; approver 20,000 / 50,000; manager
50,000 / 200,000 CNY)."""

import importlib
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission

from complaints.models import DepartmentMembership
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory, make_complaint

ROLES = {
    "handler": "Handler · 处理专员",
    "head": "Department head · 部门负责人",
    "manager": "Complaint manager · 投诉经理",
    "approver": "Compensation approver · 补偿审批人",
    "auditor": "Auditor · 审计员",
}


def ensure_roles() -> None:
    """Recreate the role groups, their permissions and the starting matrix of the migrations
    (a transactional test's flush empties those tables; permissions come back by themselves)."""
    from complaints.models import ApprovalLimit

    found = {
        f"{app}.{code}": pk
        for pk, app, code in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    roles = importlib.import_module("complaints.migrations.0010_roles").ROLES
    compensation = importlib.import_module("complaints.migrations.0015_compensation_roles")
    for table in (roles, compensation.ROLES):
        for name, perms in table.items():
            group, _created = Group.objects.get_or_create(name=name)
            group.permissions.add(*(found[p] for p in perms if p in found))
    for name, (per_one, per_complaint) in compensation.LIMITS.items():
        ApprovalLimit.objects.get_or_create(
            group=Group.objects.get(name=name),
            department=None,
            currency="CNY",
            defaults={
                "max_per_compensation": Decimal(per_one),
                "max_per_complaint": Decimal(per_complaint),
            },
        )


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
