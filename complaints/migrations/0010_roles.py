"""Roles as groups with their permissions (README: "Roles"). Re-running adds what is missing
and never removes permissions staff granted later."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CX = "complaints"
INTAKE = [
    f"{CX}.view_complaint",
    f"{CX}.add_complaint",
    f"{CX}.view_customer",
    f"{CX}.add_customer",
    f"{CX}.change_customer",
    f"{CX}.view_pii",
    f"{CX}.view_category",
    f"{CX}.view_department",
]
HANDLER = [
    *INTAKE,
    f"{CX}.change_complaint",
    f"{CX}.close_complaint",
    f"{CX}.view_deadlinealert",
]
HEAD = [
    *HANDLER,
    f"{CX}.reopen_complaint",
    f"{CX}.invalidate_complaint",
    f"{CX}.merge_complaint",
    f"{CX}.override_severity",
    f"{CX}.change_deadlinealert",
    f"{CX}.view_departmentmembership",
]
CONFIG_MODELS = [
    "slapolicy",
    "businesscalendar",
    "calendarexception",
    "calendaryear",
    "workinginterval",
    "notificationlist",
    "apiclient",
    "department",
    "departmentmembership",
    "category",
]
MANAGER = [
    *HEAD,
    f"{CX}.view_all_complaints",
    f"{CX}.view_slapolicy",
    f"{CX}.change_slapolicy",
    f"{CX}.add_slapolicy",
    *(
        f"{CX}.{action}_{model}"
        for model in ("businesscalendar", "calendarexception", "calendaryear", "workinginterval")
        for action in ("view", "add", "change")
    ),
    f"{CX}.delete_calendarexception",
    f"{CX}.delete_workinginterval",
    f"{CX}.view_notificationlist",
    f"{CX}.change_notificationlist",
    # Keys that read complaint data are handed out by the people who own that data.
    f"{CX}.view_apiclient",
    f"{CX}.add_apiclient",
    f"{CX}.change_apiclient",
    f"{CX}.add_category",
    f"{CX}.change_category",
]
APPROVER = [f"{CX}.view_complaint", f"{CX}.view_customer", f"{CX}.view_pii"]
AUDITOR = [
    f"{CX}.view_complaint",
    f"{CX}.view_all_complaints",
    f"{CX}.view_customer",
    f"{CX}.view_pii",
    f"{CX}.view_deadlinealert",
    *(f"{CX}.view_{model}" for model in CONFIG_MODELS),
    "admin.view_logentry",
    "auth.view_user",
    "auth.view_group",
    "django_celery_beat.view_periodictask",
]
SYSADMIN = [
    *(
        f"{CX}.{action}_{model}"
        for model in CONFIG_MODELS
        for action in ("view", "add", "change")
        if model != "apiclient" or action == "view"
    ),
    *(f"{CX}.delete_{m}" for m in ("calendarexception", "workinginterval", "departmentmembership")),
    *(f"auth.{action}_{model}" for model in ("user", "group") for action in ("view", "add", "change")),
    *(
        f"django_celery_beat.{action}_{model}"
        for model in ("periodictask", "intervalschedule", "crontabschedule")
        for action in ("view", "add", "change")
    ),
    "admin.view_logentry",
]
ROLES = {
    "Intake agent · 受理专员": INTAKE,
    "Handler · 处理专员": HANDLER,
    "Department head · 部门负责人": HEAD,
    "Complaint manager · 投诉经理": MANAGER,
    "Compensation approver · 补偿审批人": APPROVER,
    "Auditor · 审计员": AUDITOR,
    "System administrator · 系统管理员": SYSADMIN,
}


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = {perm for perms in ROLES.values() for perm in perms}
    found = {
        f"{app}.{codename}": pk
        for pk, app, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    missing = sorted(wanted - set(found))
    if missing:
        raise RuntimeError(f"Permissions missing for the roles: {missing}")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(found[perm] for perm in perms))


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0009_view_all_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
