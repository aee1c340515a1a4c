"""Every role against every sensitive action (the table is documented in README "Roles").

The roles are the groups the migration creates; users get them exactly as staff would."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from complaints.models import Complaint, DepartmentMembership, Status
from tests.factories import (
    CustomerFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    form_fields,
    make_complaint,
)

pytestmark = pytest.mark.django_db

ROLES = {
    "intake": "Intake agent · 受理专员",
    "handler": "Handler · 处理专员",
    "head": "Department head · 部门负责人",
    "manager": "Complaint manager · 投诉经理",
    "approver": "Compensation approver · 补偿审批人",
    "auditor": "Auditor · 审计员",
    "sysadmin": "System administrator · 系统管理员",
}
# Members of the department "service" (the others work across departments or not at all).
# Intake agents are members too, yet see only what they recorded (README "Roles").
IN_DEPARTMENT = {"intake", "handler", "head", "approver"}

# action: allowed for intake, handler, head, manager, approver, auditor, sysadmin (Y/N)
TABLE = {
    "see own department's complaint": "NYYYYYN",
    "see another department's complaint": "NNNYNYN",
    "see the complaint they recorded": "YYYYYYN",
    "record a complaint": "YYYYNNN",
    "edit a complaint": "NYYYNNN",
    "acknowledge (transition)": "NYYYNNN",
    "mark invalid": "NNYYNNN",
    "override severity": "NNYYNNN",
    "read personal data": "YYYYYYN",
    "change SLA policies": "NNNYNNY",
    "change business calendars": "NNNYNNY",
    "issue API keys": "NNNYNNN",
    "view SLA policies": "NNNYNYY",
    "manage staff users": "NNNNNNY",
    "pick an assignee (autocomplete)": "YYYYYYN",
    "read the admin audit log": "NNNNNYY",
    "API: read complaints": "YYYYYYN",
    "API: send complaints in": "YYYYNNN",
    "API: another department's complaint": "NNNYNYN",
    "export (API, CSV)": "YYYYYYN",
    "assign roles to other staff": "NNNNNNY",
    "change another staff user's password": "NNNNNNY",
    "change a superuser's password": "NNNNNNN",
    "change a superuser's name, email or active status": "NNNNNNN",
    "give themselves another role": "NNNNNNN",
    "change a role's permissions": "NNNNNNN",
    "create a role": "NNNNNNN",
}


@pytest.fixture
def world(manager):
    service = DepartmentFactory(code="service", name="Customer service")
    other = DepartmentFactory(code="other", name="Engineering")
    customer = CustomerFactory(name="王小明", phone="+8613812345678")
    return {
        "service": service,
        "own": make_complaint(
            user=manager, department=service, customer=customer, subject="Own department"
        ),
        "other": make_complaint(user=manager, department=other, subject="Other department"),
    }


def member(role: str, world) -> object:
    user = UserFactory(username=f"role-{role}")
    user.groups.add(Group.objects.get(name=ROLES[role]))
    if role in IN_DEPARTMENT:
        MembershipFactory(
            department=world["service"],
            user=user,
            role=DepartmentMembership.Role.HEAD if role == "head" else "member",
        )
    return user


def recorded_by(user, **fields) -> Complaint:
    """A complaint the user recorded (set directly where the role cannot record)."""
    complaint = make_complaint(user=None, subject="Recorded", **fields)
    Complaint.objects.filter(pk=complaint.pk).update(created_by=user)
    return complaint


def change_url(complaint):
    return reverse("admin:complaints_complaint_change", args=[complaint.pk])


def attempt(action: str, user, client, world) -> bool:
    own = world["own"]
    if action == "see own department's complaint":
        return client.get(change_url(own)).status_code == 200
    if action == "see another department's complaint":
        return client.get(change_url(world["other"])).status_code == 200
    if action == "see the complaint they recorded":
        mine = recorded_by(user, department=world["other"].department)
        return client.get(change_url(mine)).status_code == 200
    if action == "record a complaint":
        return client.get(reverse("admin:complaints_complaint_add")).status_code == 200
    if action == "edit a complaint":
        page = client.get(change_url(own))
        if page.status_code != 200:
            return False
        data = form_fields(page.content.decode(), "complaint_form")
        if "subject" not in data:
            return False  # read-only page
        data["subject"] = ["Edited by " + user.username]
        client.post(change_url(own), data)
        return Complaint.objects.get(pk=own.pk).subject == data["subject"][0]
    if action in ("acknowledge (transition)", "mark invalid"):
        target = Status.ACKNOWLEDGED if action.startswith("ack") else Status.INVALID
        url = reverse("admin:complaints_complaint_transition", args=[own.pk, target])
        client.post(url, {"version": own.version, "note": "Checked by the role test"})
        return Complaint.objects.get(pk=own.pk).status == target
    if action == "override severity":
        url = reverse("admin:complaints_complaint_severity", args=[own.pk])
        client.post(url, {"version": own.version, "severity": 2, "reason": "Role test"})
        return Complaint.objects.get(pk=own.pk).severity_overridden
    if action == "read personal data":
        mine = recorded_by(user, department=world["service"], customer=own.customer)
        page = client.get(change_url(mine))
        return page.status_code == 200 and "王小明" in page.content.decode()
    if action == "change SLA policies":
        return client.get(reverse("admin:complaints_slapolicy_add")).status_code == 200
    if action == "change business calendars":
        return client.get(reverse("admin:complaints_businesscalendar_add")).status_code == 200
    if action == "issue API keys":
        return client.get(reverse("admin:complaints_apiclient_add")).status_code == 200
    if action == "view SLA policies":
        return client.get(reverse("admin:complaints_slapolicy_changelist")).status_code == 200
    if action == "pick an assignee (autocomplete)":
        response = client.get(
            "/admin/autocomplete/",
            {
                "app_label": "complaints",
                "model_name": "complaint",
                "field_name": "assignee",
                "term": "",
            },
        )
        return response.status_code == 200
    if action == "manage staff users":
        return client.get(reverse("admin:auth_user_add")).status_code == 200
    if action == "read the admin audit log":
        return user.has_perm("admin.view_logentry")
    if action == "API: read complaints":
        return client.get("/api/v1/complaints/").status_code == 200
    if action == "API: another department's complaint":
        return client.get(f"/api/v1/complaints/{world['other'].reference}/").status_code == 200
    if action == "export (API, CSV)":
        response = client.get("/api/v1/complaints/export/?format=csv")
        if response.status_code != 200:
            return False
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        # Only what the role may see: never the other department's complaint.
        assert (world["other"].reference in body) == user.has_perm("complaints.view_all_complaints")
        return True
    if action == "API: send complaints in":
        client.handler.enforce_csrf_checks = False
        response = client.post(
            "/api/v1/complaints/",
            {"channel": "hotline", "subject": "By API", "customer": {"name": "A"}},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"role-{user.username}",
        )
        return response.status_code == 201
    if action in USER_ACTIONS:
        return USER_ACTIONS[action](user, client)
    raise AssertionError(action)


def _post_user_form(client, target, **changes) -> bool:
    """Post the user's change form with `changes`; True if the page offered those fields
    and the post went through (redirect)."""
    url = reverse("admin:auth_user_change", args=[target.pk])
    page = client.get(url)
    if page.status_code != 200:
        return False
    data = form_fields(page.content.decode(), "user_form")
    if not set(changes) <= set(data) | {"is_active"}:
        return False  # read-only for this user
    for field, value in changes.items():
        if value is None:
            data.pop(field, None)  # an unticked checkbox
        else:
            data[field] = value if isinstance(value, list) else [value]
    return client.post(url, data).status_code == 302


def _set_password(client, target) -> bool:
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    client.post(url, {"password1": "Taken-over-2026!", "password2": "Taken-over-2026!"})
    target.refresh_from_db()
    return target.check_password("Taken-over-2026!")


def _superuser():
    return UserFactory(username="root-target", is_superuser=True, email="root@example.com")


def _assign_role(user, client) -> bool:
    colleague = UserFactory(username="colleague")
    group = Group.objects.get(name=ROLES["handler"])
    _post_user_form(client, colleague, groups=[str(group.pk)])
    return colleague.groups.filter(pk=group.pk).exists()


def _superuser_account(user, client) -> bool:
    root = _superuser()
    _post_user_form(client, root, username="renamed", email="evil@example.com", is_active=None)
    root.refresh_from_db()
    return (root.username, root.email, root.is_active) != ("root-target", "root@example.com", True)


def _own_role(user, client) -> bool:
    before = set(user.groups.values_list("pk", flat=True))
    manager_role = Group.objects.exclude(pk__in=before).get(
        name=ROLES[
            "auditor" if Group.objects.get(name=ROLES["manager"]).pk in before else "manager"
        ]
    )
    wanted = [str(pk) for pk in before | {manager_role.pk}]
    _post_user_form(client, user, groups=wanted)
    return user.groups.filter(pk=manager_role.pk).exists()


def _group_permissions(user, client) -> bool:
    from django.contrib.auth.models import Permission

    group = user.groups.first()
    url = reverse("admin:auth_group_change", args=[group.pk])
    page = client.get(url)
    if page.status_code != 200:
        return False
    data = form_fields(page.content.decode(), "group_form")
    wanted = Permission.objects.get(codename="view_pii")
    if wanted.pk in set(group.permissions.values_list("pk", flat=True)):
        wanted = Permission.objects.get(codename="delete_user")
    data["permissions"] = [*data.get("permissions", []), str(wanted.pk)]
    client.post(url, data)
    return group.permissions.filter(pk=wanted.pk).exists()


def _create_group(user, client) -> bool:
    client.post(reverse("admin:auth_group_add"), {"name": "Everything", "permissions": []})
    return Group.objects.filter(name="Everything").exists()


USER_ACTIONS = {
    "assign roles to other staff": _assign_role,
    "change another staff user's password": lambda user, client: _set_password(
        client, UserFactory(username="colleague")
    ),
    "change a superuser's password": lambda user, client: _set_password(client, _superuser()),
    "change a superuser's name, email or active status": _superuser_account,
    "give themselves another role": _own_role,
    "change a role's permissions": _group_permissions,
    "create a role": _create_group,
}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("action", list(TABLE))
def test_role_table(action, role, world, login_client):
    user = member(role, world)
    expected = TABLE[action][list(ROLES).index(role)] == "Y"
    assert attempt(action, user, login_client(user), world) is expected


def test_table_covers_every_role():
    assert all(len(row) == len(ROLES) and set(row) <= {"Y", "N"} for row in TABLE.values())
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES.values())


def test_intake_agent_sees_what_they_recorded_not_the_department(
    world, login_client, manager, api_client_for
):
    """An intake agent in the customer service department records for everyone: they find
    their own intakes again (list, change page, API), not the department's queue."""
    agent = member("intake", world)
    client = login_client(agent)
    mine = recorded_by(agent, department=world["service"])
    listing = client.get(reverse("admin:complaints_complaint_changelist")).content.decode()
    assert mine.reference in listing
    assert world["own"].reference not in listing  # the department's, recorded by someone else
    assert client.get(change_url(mine)).status_code == 200
    assert client.get(change_url(world["own"])).status_code in (302, 404)
    mine_only = client.get(reverse("admin:complaints_complaint_changelist"), {"mine": "recorded"})
    assert mine.reference in mine_only.content.decode()
    api = api_client_for(agent)
    references = [c["reference"] for c in api.get("/api/v1/complaints/").json()["results"]]
    assert references == [mine.reference]


def test_handler_sees_the_department(world, login_client):
    handler = member("handler", world)
    listing = login_client(handler).get(reverse("admin:complaints_complaint_changelist"))
    assert world["own"].reference in listing.content.decode()
    assert world["other"].reference not in listing.content.decode()


@pytest.fixture
def api_client_for():
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient(headers={"accept-language": "en"})
        client.force_login(user)
        return client

    return make
