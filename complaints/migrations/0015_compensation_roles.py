"""Compensation permissions for the role groups, a starting authority matrix and the beat
schedule of the approval machinery. Re-running adds what is missing and never removes
permissions or limits staff changed later."""

from decimal import Decimal

from django.contrib.auth.management import create_permissions
from django.db import migrations

CX = "complaints"
HANDLER = [
    *(f"{CX}.{a}_compensation" for a in ("view", "add", "change")),
    *(f"{CX}.{a}_remedyplan" for a in ("view", "add", "change")),
    f"{CX}.view_tierguidance",
    f"{CX}.view_approvallimit",
    f"{CX}.view_rootcause",
    f"{CX}.view_incident",
    f"{CX}.view_incidentremedy",
]
HEAD = [
    *HANDLER,
    f"{CX}.approve_compensation",
    f"{CX}.fulfil_compensation",
    f"{CX}.add_incident",
    f"{CX}.change_incident",
    f"{CX}.add_incidentremedy",
    f"{CX}.change_incidentremedy",
    f"{CX}.view_approvalalert",
]
MANAGER = [
    *HEAD,
    *(f"{CX}.{a}_{m}" for m in ("approvallimit", "tierguidance", "rootcause") for a in ("add", "change")),
    f"{CX}.change_approvalalert",
]
APPROVER = [
    f"{CX}.view_compensation",
    f"{CX}.approve_compensation",
    f"{CX}.fulfil_compensation",
    f"{CX}.view_remedyplan",
    f"{CX}.view_approvallimit",
    f"{CX}.view_tierguidance",
    f"{CX}.view_incident",
    f"{CX}.view_incidentremedy",
    f"{CX}.change_incidentremedy",
    f"{CX}.view_approvalalert",
]
AUDITOR = [
    f"{CX}.view_{m}"
    for m in (
        "compensation",
        "remedyplan",
        "approvallimit",
        "tierguidance",
        "rootcause",
        "incident",
        "incidentremedy",
        "approvalalert",
    )
]
SYSADMIN = [f"{CX}.view_approvallimit", f"{CX}.view_rootcause"]
ROLES = {
    "Handler · 处理专员": HANDLER,
    "Department head · 部门负责人": HEAD,
    "Complaint manager · 投诉经理": MANAGER,
    "Compensation approver · 补偿审批人": APPROVER,
    "Auditor · 审计员": AUDITOR,
    "System administrator · 系统管理员": SYSADMIN,
}
# A starting matrix (CNY, every department the approver can see); edited in the admin.
LIMITS = {
    "Department head · 部门负责人": ("2000.00", "5000.00"),
    "Compensation approver · 补偿审批人": ("20000.00", "50000.00"),
    "Complaint manager · 投诉经理": ("50000.00", "200000.00"),
}
SCHEDULE = [
    (
        "Compensation approvals: notices, overdue escalation, email",
        "complaints.tasks.sweep_compensation_approvals",
        1,
    ),
]


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    found = {
        f"{app}.{codename}": pk
        for pk, app, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    wanted = {perm for perms in ROLES.values() for perm in perms}
    missing = sorted(wanted - set(found))
    if missing:
        raise RuntimeError(f"Permissions missing for the roles: {missing}")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(found[perm] for perm in perms))
    ApprovalLimit = apps.get_model("complaints", "ApprovalLimit")
    for name, (per_compensation, per_complaint) in LIMITS.items():
        group = Group.objects.get(name=name)
        ApprovalLimit.objects.get_or_create(
            group=group,
            department=None,
            currency="CNY",
            defaults={
                "max_per_compensation": Decimal(per_compensation),
                "max_per_complaint": Decimal(per_complaint),
            },
        )
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minutes in SCHEDULE:
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0014_compensation"),
        ("complaints", "0010_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
