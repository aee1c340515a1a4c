"""The follow-up permissions of the roles (README "Roles", followups/migrations/0003_roles)."""

import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db

ROLE = {
    "intake": "Intake agent · 受理专员",
    "handler": "Handler · 处理专员",
    "head": "Department head · 部门负责人",
    "manager": "Complaint manager · 投诉经理",
    "auditor": "Auditor · 审计员",
}


def perms(role) -> set[str]:
    group = Group.objects.get(name=ROLE[role])
    return set(
        group.permissions.filter(content_type__app_label="followups").values_list(
            "codename", flat=True
        )
    )


@pytest.mark.parametrize(
    "role,has,lacks",
    [
        ("intake", set(), {"view_followup", "change_followup"}),
        (
            "handler",
            {"view_followup", "change_followup", "add_surveyinvitation"},
            {"change_improvementaction", "change_followuppolicy"},
        ),
        (
            "head",
            {"change_followup", "add_improvementaction", "change_improvementaction"},
            {"review_improvementaction", "change_followuppolicy"},
        ),
        (
            "manager",
            {"review_improvementaction", "change_followuppolicy", "change_messagetemplate"},
            set(),
        ),
        (
            "auditor",
            {"view_followup", "view_improvementaction", "view_followuppolicy"},
            {"change_followup", "add_surveyinvitation", "change_improvementaction"},
        ),
    ],
)
def test_role_permissions(role, has, lacks):
    granted = perms(role)
    assert has <= granted
    assert not (lacks & granted)
