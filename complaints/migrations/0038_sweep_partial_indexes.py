"""Indexes that skip NULLs on the rows the deadline sweep writes (issue 15): every inbox entry
is about either an alert or an approval notice, and the unique index of the other kind held
its NULL; the sweep's timeline events have no actor, and the actor index held those NULLs
too. Partial indexes (WHERE ... IS NOT NULL) serve the same lookups (the unique checks, the
PROTECT checks by value) with an index entry fewer per inbox entry and per system event:
10,000 due complaints write 21,000 inbox entries and 12,000 events (the sweep, at 5,000,000
complaints: 9,600 -> 10,000-10,300 complaints/s on two connections, medians of 5).

On PostgreSQL the indexes are built CONCURRENTLY (non-atomic migration), each unique one
under a temporary name and then renamed over the constraint it replaces, so uniqueness holds
throughout; on SQLite, Django's own operations."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from complaints import migration_indexes as indexes

EVENTS = "complaints_complaintevent"
NOTIFICATIONS = "complaints_notification"
ACTOR_INDEX = "event_actor_idx"
# (name, columns) of the unique constraints that become partial unique indexes.
UNIQUE = [
    ("one_notification_per_alert", ("alert_id", "user_id")),
    ("one_notification_per_approval_alert", ("approval_alert_id", "user_id")),
]


def _columns(schema_editor, columns) -> str:
    return "(" + ", ".join(schema_editor.quote_name(c) for c in columns) + ")"


def _actor_foreign_key_index(schema_editor) -> str:
    """The name Django gave the foreign key's index when it created it."""
    return schema_editor._create_index_name(EVENTS, ["actor_id"], "")


def forwards(apps, schema_editor):
    quote = schema_editor.quote_name
    indexes.create(
        schema_editor,
        ACTOR_INDEX,
        EVENTS,
        f"({quote('actor_id')}) WHERE {quote('actor_id')} IS NOT NULL",
    )
    indexes.drop(schema_editor, _actor_foreign_key_index(schema_editor))
    for name, columns in UNIQUE:
        definition = f"{_columns(schema_editor, columns)} WHERE {quote(columns[0])} IS NOT NULL"
        indexes.constraint_to_unique_index(schema_editor, name, NOTIFICATIONS, definition)


def backwards(apps, schema_editor):
    for name, columns in UNIQUE:
        indexes.unique_index_to_constraint(
            schema_editor, name, NOTIFICATIONS, _columns(schema_editor, columns)
        )
    indexes.create(schema_editor, _actor_foreign_key_index(schema_editor), EVENTS, "(actor_id)")
    indexes.drop(schema_editor, ACTOR_INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("complaints", "0037_escalation_level_current"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        indexes.ConcurrentlyOnPostgres(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="notification", name="one_notification_per_alert"
                ),
                migrations.RemoveConstraint(
                    model_name="notification", name="one_notification_per_approval_alert"
                ),
                migrations.AlterField(
                    model_name="complaintevent",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
                migrations.AddIndex(
                    model_name="complaintevent",
                    index=models.Index(
                        condition=models.Q(("actor__isnull", False)),
                        fields=["actor"],
                        name=ACTOR_INDEX,
                    ),
                ),
                migrations.AddConstraint(
                    model_name="notification",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("alert__isnull", False)),
                        fields=("alert", "user"),
                        name="one_notification_per_alert",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="notification",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("approval_alert__isnull", False)),
                        fields=("approval_alert", "user"),
                        name="one_notification_per_approval_alert",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
