"""The pairs of filter dimensions (department, category, channel, severity) keep every
measure but the duration histograms (they kept the narrow ones): their rows written before
hold no card figures, so the summaries are marked as never built and the next refresh task
rebuilds them (as 0004 and 0007 did). No schema change: the columns are there, NULL."""

from django.db import migrations


def needs_rebuild(apps, schema_editor):
    apps.get_model("reporting", "SummaryState").objects.update(refreshed_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0008_covering_indexes"),
    ]

    operations = [migrations.RunPython(needs_rebuild, migrations.RunPython.noop)]
