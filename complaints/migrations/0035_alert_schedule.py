"""The deadline sweep's schedule in a table of its own (issue 15), first half: AlertSchedule
holds, per complaint, when the sweep looks next and the escalation level reached. The sweep
moved `next_alert_at` and `escalation_level` on the complaint row every minute, an update
that could never be HOT (both were indexed) and so wrote an entry into each of the complaint
table's ~24 indexes, three GIN among them: 215-290 us a row at 5,000,000 complaints, against
6-9 us for the same update of this narrow table.

`Complaint.next_alert_at` stays: the services set it (the first alert point the deadline
rules give) and triggers copy it here, on a new complaint and whenever a column the alert
points depend on changes (TRIGGER_COLUMNS), so nothing that recomputes deadlines can forget
to tell the sweep. The sweep writes only this table (and the complaint when it reassigns or
clears a failure).

The rows are copied with one INSERT ... SELECT and their indexes built afterwards, while the
complaint table is locked against writes (SHARE ROW EXCLUSIVE; reads go on), so no complaint
is added or changed between the copy and the triggers: about 25 s at 5,000,000 complaints.
0036 then drops the old indexes and column without blocking reads. On SQLite the triggers are
created by 0036, after Django has rebuilt the table to drop the column (a rebuilt table has
lost its triggers). Stop the workers and beat before migrating: the old sweep code writes
the column 0036 drops."""

# ruff: noqa: S608 - SQL built from the constants below only
import django.db.models.deletion
from django.db import migrations, models

COMPLAINTS = "complaints_complaint"
SCHEDULE = "complaints_alertschedule"
INSERT_TRIGGER = "complaint_alert_schedule_added"
UPDATE_TRIGGER = "complaint_alert_schedule_moved"
# What the alert points depend on (alerts._points, sla.next_alert_point).
TRIGGER_COLUMNS = (
    "next_alert_at",
    "status",
    "severity",
    "received_at",
    "sla_policy_id",
    "ack_warn_at",
    "ack_due_at",
    "response_warn_at",
    "response_due_at",
    "resolve_warn_at",
    "resolve_due_at",
    "acknowledged_at",
    "first_response_at",
    "resolved_at",
)
# complaints.models.OPEN_STATUSES as they are now (a test compares).
OPEN_STATUSES = (
    "new",
    "acknowledged",
    "investigating",
    "awaiting_customer",
    "solution_proposed",
    "reopened",
)
_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
NEXT = f"CASE WHEN NEW.status IN ({_OPEN}) THEN NEW.next_alert_at END"
CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in TRIGGER_COLUMNS)

POSTGRESQL_TRIGGERS = [
    f"""
    CREATE FUNCTION complaint_alert_schedule_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {SCHEDULE} (complaint_id, next_alert_at, escalation_level)
        VALUES (NEW.id, {NEXT}, 0);
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION complaint_alert_schedule_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {SCHEDULE} SET next_alert_at = {NEXT} WHERE complaint_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER {INSERT_TRIGGER} AFTER INSERT ON {COMPLAINTS}
    FOR EACH ROW EXECUTE FUNCTION complaint_alert_schedule_added()
    """,
    f"""
    CREATE TRIGGER {UPDATE_TRIGGER} AFTER UPDATE OF {", ".join(TRIGGER_COLUMNS)}
    ON {COMPLAINTS} FOR EACH ROW WHEN ({CHANGED})
    EXECUTE FUNCTION complaint_alert_schedule_moved()
    """,
]
SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER {INSERT_TRIGGER} AFTER INSERT ON {COMPLAINTS}
    BEGIN
        INSERT INTO {SCHEDULE} (complaint_id, next_alert_at, escalation_level)
        VALUES (NEW.id, {NEXT}, 0);
    END
    """,
    f"""
    CREATE TRIGGER {UPDATE_TRIGGER} AFTER UPDATE OF {", ".join(TRIGGER_COLUMNS)}
    ON {COMPLAINTS} FOR EACH ROW WHEN {CHANGED.replace("IS DISTINCT FROM", "IS NOT")}
    BEGIN
        UPDATE {SCHEDULE} SET next_alert_at = {NEXT} WHERE complaint_id = NEW.id;
    END
    """,
]


def fill(apps, schema_editor):
    """One schedule row per complaint: the sweep's bookmark and level as they were."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"LOCK TABLE {COMPLAINTS} IN SHARE ROW EXCLUSIVE MODE")
        for statement in POSTGRESQL_TRIGGERS:
            schema_editor.execute(statement)
    schema_editor.execute(
        f"INSERT INTO {SCHEDULE} (complaint_id, next_alert_at, escalation_level) "
        f"SELECT id, CASE WHEN status IN ({_OPEN}) THEN next_alert_at END, escalation_level "
        f"FROM {COMPLAINTS}"
    )


def unfill(apps, schema_editor):
    """Back: the complaint's next_alert_at becomes the sweep's bookmark again, with its level
    (0036 reversed has given the column back)."""
    if schema_editor.connection.vendor == "postgresql":
        for name in (INSERT_TRIGGER, UPDATE_TRIGGER):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {COMPLAINTS}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
    schema_editor.execute(
        f"UPDATE {COMPLAINTS} SET next_alert_at = s.next_alert_at, "
        f"escalation_level = s.escalation_level FROM {SCHEDULE} s "
        f"WHERE s.complaint_id = {COMPLAINTS}.id"
        if schema_editor.connection.vendor == "postgresql"
        else f"UPDATE {COMPLAINTS} SET (next_alert_at, escalation_level) = "
        f"(SELECT s.next_alert_at, s.escalation_level FROM {SCHEDULE} s "
        f"WHERE s.complaint_id = {COMPLAINTS}.id)"
    )


class Migration(migrations.Migration):
    dependencies = [("complaints", "0034_complaint_customer_recv_index")]

    operations = [
        migrations.CreateModel(
            name="AlertSchedule",
            fields=[
                (
                    "complaint",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="alert_schedule",
                        serialize=False,
                        to="complaints.complaint",
                        verbose_name="complaint",
                    ),
                ),
                (
                    "next_alert_at",
                    models.DateTimeField(
                        editable=False, null=True, verbose_name="next reminder due"
                    ),
                ),
                (
                    "escalation_level",
                    models.PositiveSmallIntegerField(
                        default=0,
                        editable=False,
                        help_text="Highest escalation sent for the current deadlines (0: none).",
                        verbose_name="escalation level",
                    ),
                ),
            ],
            options={
                "verbose_name": "deadline sweep schedule",
                "verbose_name_plural": "deadline sweep schedules",
            },
        ),
        # PostgreSQL: the complaint table locked, its triggers created, the rows copied.
        migrations.RunPython(fill, unfill),
        migrations.AddIndex(
            model_name="alertschedule",
            index=models.Index(
                condition=models.Q(("next_alert_at__isnull", False)),
                fields=["next_alert_at"],
                name="alert_schedule_next_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="alertschedule",
            index=models.Index(
                condition=models.Q(("escalation_level__gt", 0)),
                fields=["escalation_level"],
                name="alert_schedule_escalated_idx",
            ),
        ),
        migrations.AlterField(
            model_name="complaint",
            name="next_alert_at",
            field=models.DateTimeField(
                editable=False, null=True, verbose_name="first reminder due"
            ),
        ),
    ]
