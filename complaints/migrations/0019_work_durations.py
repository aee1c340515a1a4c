"""Working time to first response and to resolution, stored on the complaint (reports sum and
rank these in the database). Existing complaints are filled in batches with the same clock."""

from django.db import migrations, models
from django.db.models import Q

BATCH = 2000


def backfill(apps, schema_editor):
    from complaints.services.calendars import compile_calendar
    from complaints.services.sla import record_work_durations

    Complaint = apps.get_model("complaints", "Complaint")
    BusinessCalendar = apps.get_model("complaints", "BusinessCalendar")
    calendars = {c.pk: compile_calendar(c) for c in BusinessCalendar.objects.all()}
    rows = Complaint.objects.filter(
        Q(first_response_at__isnull=False) | Q(resolved_at__isnull=False)
    ).select_related("sla_policy")
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            return
        last = batch[-1].pk
        for complaint in batch:
            record_work_durations(complaint, calendars)
        Complaint.objects.bulk_update(
            batch, ["first_response_work_seconds", "resolution_work_seconds"]
        )


class Migration(migrations.Migration):

    dependencies = [
        ('complaints', '0018_merge_20261203_1517'),
    ]

    operations = [
        migrations.AddField(
            model_name='complaint',
            name='first_response_work_seconds',
            field=models.PositiveIntegerField(blank=True, editable=False, null=True, verbose_name='working time to first response (s)'),
        ),
        migrations.AddField(
            model_name='complaint',
            name='resolution_work_seconds',
            field=models.PositiveIntegerField(blank=True, editable=False, null=True, verbose_name='working time to resolution (s)'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
