"""PostgreSQL: the live dashboard's exact percentiles read the period's durations from an
index (index-only scan) instead of the complaint rows. Built CONCURRENTLY: no lock on the
complaint table while it builds (hence a non-atomic migration)."""

from django.db import migrations

INDEX = "reporting_recv_durations_idx"
CREATE = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON complaints_complaint (received_at) "
    "INCLUDE (first_response_work_seconds, resolution_work_seconds, status, validity, "
    "department_id, category_id, channel, severity)"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("reporting", "0005_summary_levels"),
        ("complaints", "0019_work_durations"),
    ]

    operations = [migrations.RunPython(create, drop)]
