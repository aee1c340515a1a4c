"""Notification lists, the beat schedule of the deadline machinery, and a first sweep for
complaints recorded before reminders existed."""

from django.db import migrations
from django.db.models import F

LISTS = [("crisis", "Crisis list"), ("managers", "Complaint managers")]
# name, task, minutes between runs
SCHEDULE = [
    ("Deadline sweep: reminders and escalations", "complaints.tasks.sweep_deadlines", 1),
    ("Email delivery: retry pending reminders", "complaints.tasks.deliver_pending_alerts", 1),
    ("Severity: periodic re-evaluation", "complaints.tasks.reevaluate_severity", 60),
]
OPEN = ["new", "acknowledged", "investigating", "awaiting_customer", "solution_proposed", "reopened"]


def forwards(apps, schema_editor):
    NotificationList = apps.get_model("complaints", "NotificationList")
    for code, name in LISTS:
        NotificationList.objects.get_or_create(code=code, defaults={"name": name})
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minutes in SCHEDULE:
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})
    Complaint = apps.get_model("complaints", "Complaint")
    Complaint.objects.filter(status__in=OPEN, next_alert_at__isnull=True).exclude(
        status="awaiting_customer"
    ).update(next_alert_at=F("received_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0005_alerts"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
