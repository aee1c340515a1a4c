"""The open backlog by age and the overdue count read only the summary rows with open
complaints, keyed by every filter dimension (summary_open_idx, partial: open > 0). Built
CONCURRENTLY on PostgreSQL (no lock on the summary table while it builds, hence a non-atomic
migration); an interrupted build leaves an INVALID index, which the next run drops first.
No rebuild of the summaries is needed (no row changes)."""

from django.db import migrations, models

TABLE = "reporting_dailysummary"
INDEX = "summary_open_idx"
CREATE = (
    f"CREATE INDEX{{concurrently}} IF NOT EXISTS {INDEX} ON {TABLE} "
    "(level, department_id, category_id, channel, severity) WHERE open > 0"
)


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c "
                "ON c.oid = i.indexrelid WHERE c.relname = %s",
                [INDEX],
            )
            row = cursor.fetchone()
        if row and row[0]:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    schema_editor.execute(CREATE.format(concurrently=_concurrently(schema_editor)))


def backwards(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX{_concurrently(schema_editor)} IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("reporting", "0009_pairs_keep_card_measures"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="dailysummary",
                    index=models.Index(
                        condition=models.Q(("open__gt", 0)),
                        fields=["level", "department", "category", "channel", "severity"],
                        name="summary_open_idx",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
