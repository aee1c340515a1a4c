"""An index on when repeat links were made (newest first): the summaries' refresh looks up the
links made since it last ran every minute (reporting/services/summaries.py changed_since),
which read the whole table, and the admin list of repeat complaints sorts by it.

Built CONCURRENTLY on PostgreSQL (no lock that blocks writes while the table is indexed),
hence a non-atomic migration; an interrupted build leaves an INVALID index, which the next
run drops and builds again."""

from django.db import migrations, models

from complaints import migration_indexes as indexes

TABLE = "followups_repeatlink"
INDEX = "repeat_created_idx"


def forwards(apps, schema_editor):
    indexes.create(schema_editor, INDEX, TABLE, "(created_at DESC, id DESC)")


def backwards(apps, schema_editor):
    indexes.drop(schema_editor, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("followups", "0004_bilingual_names")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="repeatlink",
                    index=models.Index(fields=["-created_at", "-id"], name=INDEX),
                )
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
