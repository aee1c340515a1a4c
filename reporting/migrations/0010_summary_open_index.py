"""The open backlog by age and the overdue count read only the summary rows with open
complaints, keyed by every filter dimension (summary_open_idx, partial: open > 0). Built
CONCURRENTLY on PostgreSQL (no lock on the summary table while it builds, hence a non-atomic
migration); an interrupted build leaves an INVALID index, which the next run drops first.
No rebuild of the summaries is needed (no row changes)."""

from django.db import migrations, models

from complaints import migration_indexes as indexes

TABLE = "reporting_dailysummary"
INDEX = "summary_open_idx"


def forwards(apps, schema_editor):
    indexes.create(
        schema_editor,
        INDEX,
        TABLE,
        "(level, department_id, category_id, channel, severity) WHERE open > 0",
    )


def backwards(apps, schema_editor):
    indexes.drop(schema_editor, INDEX)


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
