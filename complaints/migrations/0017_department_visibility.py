"""Department visibility becomes a permission (intake agents see only what they recorded).

Before, every department member saw the department's complaints. Now it takes
`view_department_complaints`: given to the Handler, Department head and Compensation approver
roles. So that nobody else loses access on upgrade, department members who are in none of the
role groups (permissions given individually) get it individually; members whose only role is
Intake agent do not (README "Roles")."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

DEPARTMENT_ROLES = (
    "Handler · 处理专员",
    "Department head · 部门负责人",
    "Compensation approver · 补偿审批人",
)
INTAKE_ROLE = "Intake agent · 受理专员"


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    permission = Permission.objects.get(
        content_type__app_label="complaints", codename="view_department_complaints"
    )
    for group in Group.objects.filter(name__in=DEPARTMENT_ROLES):
        group.permissions.add(permission)
    roles = (*DEPARTMENT_ROLES, INTAKE_ROLE)
    members = User.objects.filter(department_memberships__isnull=False).distinct()
    individual = members.exclude(groups__name__in=roles)
    permission.user_set.add(*individual)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="complaints", codename="view_department_complaints"
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('complaints', '0016_intake_description_optional'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='complaint',
            options={'ordering': ['-received_at', '-pk'], 'permissions': [('close_complaint', 'Can close complaints'), ('reopen_complaint', 'Can reopen complaints'), ('invalidate_complaint', 'Can mark complaints invalid'), ('merge_complaint', 'Can merge complaints'), ('override_severity', 'Can override the severity'), ('view_all_complaints', 'Can see the complaints of every department'), ('view_department_complaints', 'Can see the complaints of their departments (not only those they recorded)')], 'verbose_name': 'complaint', 'verbose_name_plural': 'complaints'},
        ),
        migrations.RunPython(grant, revoke),
    ]
