"""The day × category × channel level keeps every measure (it kept the narrow ones): its
rows written before hold no card figures, so the summaries are marked as never built and
the next refresh task rebuilds them (as 0004 did). No schema change."""

from django.db import migrations


def needs_rebuild(apps, schema_editor):
    apps.get_model("reporting", "SummaryState").objects.update(refreshed_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0006_duration_index"),
    ]

    operations = [migrations.RunPython(needs_rebuild, migrations.RunPython.noop)]
