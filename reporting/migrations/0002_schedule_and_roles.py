"""Beat schedule of the reporting tasks and the reporting permissions of the roles."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# name, task, minutes between runs
INTERVALS = [
    ("Reporting: refresh dashboard summaries", "reporting.tasks.refresh_summaries", 1),
    ("Reporting: send pending report emails", "reporting.tasks.deliver_pending_reports", 10),
]
MONTHLY = ("Reporting: monthly department report", "reporting.tasks.generate_monthly_report")
VIEW = ["reporting.view_dashboard", "reporting.view_monthlyreport"]
ROLES = {
    "Department head · 部门负责人": VIEW,
    "Complaint manager · 投诉经理": [
        *VIEW,
        "reporting.add_monthlyreport",
        "reporting.rebuild_summaries",
        "reporting.view_summarystate",
        "reporting.view_reportdelivery",
    ],
    "Auditor · 审计员": [*VIEW, "reporting.view_summarystate", "reporting.view_reportdelivery"],
}


def forwards(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minutes in INTERVALS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})
    # 01:30 on the 1st of each month (the beat's time zone, settings.TIME_ZONE): last month.
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="1", day_of_month="1", month_of_year="*", day_of_week="*"
    )
    PeriodicTask.objects.get_or_create(
        name=MONTHLY[0], defaults={"task": MONTHLY[1], "crontab": crontab}
    )

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
    for name, perms in ROLES.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*(found[p] for p in perms))


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_summaries_and_reports"),
        ("complaints", "0010_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
