"""Follow-up permissions for the roles (groups of complaints 0010_roles). Adds what is
missing; never removes permissions staff granted later."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FU = "followups"
HANDLER = [
    f"{FU}.view_followup",
    f"{FU}.change_followup",
    f"{FU}.view_surveyinvitation",
    f"{FU}.add_surveyinvitation",
    f"{FU}.view_repeatlink",
    f"{FU}.view_improvementaction",
    f"{FU}.view_followupwaiver",
]
HEAD = [
    *HANDLER,
    f"{FU}.add_improvementaction",
    f"{FU}.change_improvementaction",
    f"{FU}.view_reminder",
]
MANAGER = [
    *HEAD,
    f"{FU}.review_improvementaction",
    f"{FU}.view_followuppolicy",
    f"{FU}.add_followuppolicy",
    f"{FU}.change_followuppolicy",
    f"{FU}.view_followupstep",
    f"{FU}.add_followupstep",
    f"{FU}.change_followupstep",
    f"{FU}.delete_followupstep",
    f"{FU}.view_messagetemplate",
    f"{FU}.change_messagetemplate",
]
AUDITOR = [
    f"{FU}.view_{model}"
    for model in (
        "followup",
        "followuppolicy",
        "followupstep",
        "followupwaiver",
        "surveyinvitation",
        "messagetemplate",
        "repeatlink",
        "improvementaction",
        "reminder",
    )
]
ROLES = {
    "Handler · 处理专员": HANDLER,
    "Department head · 部门负责人": HEAD,
    "Complaint manager · 投诉经理": MANAGER,
    "Auditor · 审计员": AUDITOR,
}


def add_permissions(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    found = {
        f"{app}.{codename}": pk
        for pk, app, codename in Permission.objects.filter(
            content_type__app_label=FU
        ).values_list("pk", "content_type__app_label", "codename")
    }
    missing = sorted({p for perms in ROLES.values() for p in perms} - set(found))
    if missing:
        raise RuntimeError(f"Permissions missing for the roles: {missing}")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(found[p] for p in perms))


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0002_followup_defaults"),
        ("complaints", "0010_roles"),
    ]

    operations = [migrations.RunPython(add_permissions, migrations.RunPython.noop)]
