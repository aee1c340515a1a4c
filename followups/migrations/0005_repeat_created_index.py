"""An index on when repeat links were made (newest first): the summaries' refresh looks up the
links made since it last ran every minute (reporting/services/summaries.py changed_since),
which read the whole table, and the admin list of repeat complaints sorts by it.

Built CONCURRENTLY on PostgreSQL (no lock that blocks writes while the table is indexed),
hence a non-atomic migration; an interrupted build leaves an INVALID index, which the next
run drops and builds again."""

from django.db import migrations, models

TABLE = "followups_repeatlink"
INDEX = "repeat_created_idx"


def forwards(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    concurrently = " CONCURRENTLY" if postgres else ""
    if postgres:
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT NOT i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
                [INDEX],
            )
            row = cursor.fetchone()
        if row and row[0]:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    schema_editor.execute(
        f"CREATE INDEX{concurrently} IF NOT EXISTS {INDEX} ON {TABLE} (created_at DESC, id DESC)"
    )


def backwards(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX{concurrently} IF EXISTS {INDEX}")


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
