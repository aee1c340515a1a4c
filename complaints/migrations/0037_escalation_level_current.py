"""A complaint that leaves the open statuses (resolved, closed, merged, ...) has no current
deadlines, so its escalation level is 0, as the field says: the schedule trigger of 0035 now
sets it with the next look. Before, it kept the last level the sweep had counted for ever.

The list showed no escalation for a closed complaint, but its "escalated" filter found it,
and the filter's index grew with every complaint ever escalated: with 710,000 of them in
5,000,000 complaints, "escalated" with the open statuses, a department and a channel took
283 ms (195 ms of it counting), 171 ms once only open complaints keep a level. Escalations
sent stay where they were: the alerts and the timeline.

Backwards the old trigger comes back; the levels set to 0 stay 0."""

# ruff: noqa: S608 - SQL built from the constants of 0035 only
from importlib import import_module

from django.db import migrations, models

expand = import_module("complaints.migrations.0035_alert_schedule")
SCHEDULE, COMPLAINTS, OPEN = expand.SCHEDULE, expand.COMPLAINTS, expand._OPEN
LEVEL = f"CASE WHEN NEW.status IN ({OPEN}) THEN escalation_level ELSE 0 END"
SET_OLD = f"next_alert_at = {expand.NEXT}"
# The trigger's assignments from here on: a later migration that rebuilds the SQLite complaint
# table (and so loses its triggers) creates them again from 0035's INSERT trigger and
# _sqlite_trigger(SET_NEW).
SET_NEW = f"{SET_OLD}, escalation_level = {LEVEL}"
TRIGGER_HEAD = expand.SQLITE_TRIGGERS[1].split("BEGIN")[0]


def _postgresql_function(assignments: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION {expand.UPDATE_TRIGGER}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {SCHEDULE} SET {assignments} WHERE complaint_id = NEW.id;
        RETURN NULL;
    END $$
    """


def _sqlite_trigger(assignments: str) -> str:
    return f"""{TRIGGER_HEAD}BEGIN
        UPDATE {SCHEDULE} SET {assignments} WHERE complaint_id = NEW.id;
    END
    """


def _replace_trigger(schema_editor, assignments: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_postgresql_function(assignments))
    else:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {expand.UPDATE_TRIGGER}")
        schema_editor.execute(_sqlite_trigger(assignments))


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Writes of the complaint table wait (reads go on) until this commits: a complaint
        # closed by a transaction still running would otherwise fire the old trigger and
        # commit after reset_closed() had passed it, escalated for good. ~13 s at 5 M.
        schema_editor.execute(f"LOCK TABLE {COMPLAINTS} IN SHARE ROW EXCLUSIVE MODE")
    _replace_trigger(schema_editor, SET_NEW)
    reset_closed(schema_editor.execute)


def reset_closed(execute):
    """Level 0 for every complaint no longer open (through the schedule's partial index)."""
    execute(
        f"UPDATE {SCHEDULE} SET escalation_level = 0 WHERE escalation_level > 0 AND "
        f"complaint_id IN (SELECT id FROM {COMPLAINTS} WHERE status NOT IN ({OPEN}))"
    )


def backwards(apps, schema_editor):
    _replace_trigger(schema_editor, SET_OLD)


class Migration(migrations.Migration):
    dependencies = [("complaints", "0036_alert_schedule_contract")]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name="alertschedule",
            name="escalation_level",
            field=models.PositiveSmallIntegerField(
                default=0,
                editable=False,
                help_text="Highest escalation sent for the current deadlines (0: none, or the "
                "complaint is no longer open).",
                verbose_name="escalation level",
            ),
        ),
    ]
