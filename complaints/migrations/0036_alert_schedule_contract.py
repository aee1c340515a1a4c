"""The deadline sweep's schedule in a table of its own, second half: the complaint table loses
the sweep's claim index, the "escalated" index and the escalation level (all now on
AlertSchedule, 0035).

Non-atomic, so the indexes go CONCURRENTLY on PostgreSQL (reads and writes go on). Dropping
the column is a catalogue change, but it needs the table's strongest lock for a moment: it
waits at most 10 s for running statements (an export, a report) and fails otherwise, rather
than holding every later request up behind it; run `migrate` again then. On SQLite the
triggers of 0035 are created here, after Django has rebuilt the table to drop the column."""

from importlib import import_module

from django.db import migrations

from complaints import migration_indexes as indexes

expand = import_module("complaints.migrations.0035_alert_schedule")
TABLE = "complaints_complaint"
OLD_INDEXES = {
    "complaint_open_alert_idx": f"(next_alert_at) WHERE status IN ({expand._OPEN})",
    "complaint_escalated_idx": (
        "(escalation_level, received_at DESC, id DESC) WHERE escalation_level > 0"
    ),
}


def drop_indexes(apps, schema_editor):
    for name in OLD_INDEXES:
        indexes.drop(schema_editor, name)


def create_indexes(apps, schema_editor):
    for name, definition in OLD_INDEXES.items():
        indexes.create(schema_editor, name, TABLE, definition)


def lock_timeout(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET lock_timeout = '10s'")


def reset_lock_timeout(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("RESET lock_timeout")


def sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in expand.SQLITE_TRIGGERS:
            schema_editor.execute(statement)


def drop_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name in (expand.INSERT_TRIGGER, expand.UPDATE_TRIGGER):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("complaints", "0035_alert_schedule")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="complaint", name="complaint_open_alert_idx"),
                migrations.RemoveIndex(model_name="complaint", name="complaint_escalated_idx"),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
        ),
        migrations.RunPython(lock_timeout, reset_lock_timeout),
        migrations.RemoveField(model_name="complaint", name="escalation_level"),
        migrations.RunPython(reset_lock_timeout, lock_timeout),
        migrations.RunPython(sqlite_triggers, drop_sqlite_triggers),
    ]

