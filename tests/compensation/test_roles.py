"""Every role (the groups the migrations create) against every compensation action."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from complaints.models import Compensation
from complaints.services import compensation as comp
from complaints.services import incidents
from complaints.services.errors import ServiceError
from tests.factories import UserFactory

from .conftest import ROLES

pytestmark = pytest.mark.django_db
ALL_ROLES = {
    **ROLES,
    "intake": "Intake agent · 受理专员",
    "sysadmin": "System administrator · 系统管理员",
}
ORDER = ["intake", "handler", "head", "manager", "approver", "auditor", "sysadmin"]
# action: allowed for intake, handler, head, manager, approver, auditor, sysadmin (Y/N)
TABLE = {
    "propose": "NYYYNNN",
    "approve (within limit)": "NNYYYNN",
    "record as paid": "NNYYYNN",
    "cancel": "NYYYNNN",
    "see the compensation list": "NYYYYYN",
    "edit the authority matrix": "NNNYNNN",
    "propose an incident remedy": "NNYYNNN",
}


def attempt(action, user, complaint, other, login_client, people) -> bool:
    try:
        if action == "propose":
            comp.propose(complaint.pk, user=user, kind="cash", amount="10", description="x")
            return True
        if action == "approve (within limit)":
            comp.approve(other.pk, user=user)
            return True
        if action == "record as paid":
            comp.approve(other.pk, user=people["approver"])
            comp.mark_fulfilled(other.pk, user=user, payout_reference="P")
            return Compensation.objects.get(pk=other.pk).status == "fulfilled"
        if action == "cancel":
            comp.cancel(other.pk, user=user, reason="r")
            return True
        if action == "see the compensation list":
            client = login_client(user)
            return (
                client.get(reverse("admin:complaints_compensation_changelist")).status_code == 200
            )
        if action == "edit the authority matrix":
            client = login_client(user)
            page = client.get(reverse("admin:complaints_approvallimit_add"))
            return page.status_code == 200
        if action == "propose an incident remedy":
            from complaints.models import Incident

            incident = Incident.objects.create(code="i-1", title="Outage")
            incidents.propose_remedy(
                incident.pk, user=user, kind="cash", amount_per_complaint="1", description="x"
            )
            return True
    except ServiceError:
        return False
    raise AssertionError(action)


@pytest.mark.parametrize("action", list(TABLE))
@pytest.mark.parametrize("role", ORDER)
def test_role_table(role, action, people, complaint, service, login_client):
    user = UserFactory(username=f"role-{role}")
    user.groups.add(Group.objects.get(name=ALL_ROLES[role]))
    if role in ("intake", "handler", "head", "approver"):
        from tests.factories import MembershipFactory

        MembershipFactory(department=service, user=user)
    other = comp.propose(
        complaint.pk, user=people["manager"], kind="cash", amount="10", description="x"
    )
    expected = TABLE[action][ORDER.index(role)] == "Y"
    assert attempt(action, user, complaint, other, login_client, people) is expected
