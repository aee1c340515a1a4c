"""Default business calendar (Mon-Fri 09:00-18:00, Asia/Shanghai) and one SLA policy per
severity. Staff change them in the admin; holidays come from `manage.py load_holidays`."""

import datetime

from django.db import migrations

# severity, name, acknowledge, first response, resolve, 24x7?
DEFAULT_POLICIES = [
    (1, "1 · Crisis", (1, "hours"), (4, "hours"), (24, "hours"), True),
    (2, "2 · Major", (4, "hours"), (1, "days"), (3, "days"), False),
    (3, "3 · Elevated", (1, "days"), (2, "days"), (5, "days"), False),
    (4, "4 · General", (1, "days"), (3, "days"), (7, "days"), False),
]


def create_defaults(apps, schema_editor):
    BusinessCalendar = apps.get_model("complaints", "BusinessCalendar")
    WorkingInterval = apps.get_model("complaints", "WorkingInterval")
    SLAPolicy = apps.get_model("complaints", "SLAPolicy")
    if BusinessCalendar.objects.exists() or SLAPolicy.objects.exists():
        return
    calendar = BusinessCalendar.objects.create(
        code="cn", name="China mainland office hours", time_zone="Asia/Shanghai", is_default=True
    )
    WorkingInterval.objects.bulk_create(
        WorkingInterval(
            calendar=calendar,
            weekday=weekday,
            start=datetime.time(9, 0),
            end=datetime.time(18, 0),
        )
        for weekday in range(5)
    )
    for severity, name, ack, response, resolve, wall_clock in DEFAULT_POLICIES:
        SLAPolicy.objects.create(
            name=name,
            severity=severity,
            calendar=None if wall_clock else calendar,
            ack_amount=ack[0],
            ack_unit=ack[1],
            response_amount=response[0],
            response_unit=response[1],
            resolve_amount=resolve[0],
            resolve_unit=resolve[1],
            warning_percent=75,
        )


class Migration(migrations.Migration):
    dependencies = [("complaints", "0003_sla")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
