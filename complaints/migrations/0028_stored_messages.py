"""Severity reasons and inbox titles become stored messages (issue 11): JSON columns holding
a message id with parameters; the text of older rows becomes a JSON string, which pages show
as it is (complaints.messages.render passes plain text through)."""

from django.db import migrations, models

COLUMNS = [
    ("complaints_complaint", "severity_reason"),
    ("complaints_notification", "title"),
    ("complaints_recomputejob", "reason"),
]
FIELDS = {
    "severity_reason": models.JSONField(
        blank=True, default=str, editable=False, verbose_name="why this severity"
    ),
    "title": models.JSONField(default=str, verbose_name="title"),
    "reason": models.JSONField(default=str, verbose_name="reason"),
}
MODELS = {"severity_reason": "complaint", "title": "notification", "reason": "recomputejob"}


def to_json(apps, schema_editor):
    quote = schema_editor.quote_name
    for table, column in COLUMNS:
        if schema_editor.connection.vendor == "postgresql":
            # One rewrite of the table; every text becomes a JSON string.
            schema_editor.execute(
                f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} TYPE jsonb "
                f"USING to_jsonb({quote(column)})"
            )
            continue
        schema_editor.execute(
            f"UPDATE {quote(table)} SET {quote(column)} = json_quote({quote(column)})"
        )
        model = apps.get_model("complaints", MODELS[column])
        old = model._meta.get_field(column)
        new = FIELDS[column].clone()
        new.set_attributes_from_name(column)
        new.model = model
        schema_editor.alter_field(model, old, new)


def to_text(apps, schema_editor):
    quote = schema_editor.quote_name
    for table, column in COLUMNS:
        if schema_editor.connection.vendor == "postgresql":
            # JSON strings become their text, messages their English text or JSON.
            schema_editor.execute(
                f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} TYPE text USING "
                f"COALESCE({quote(column)} ->> 'text', {quote(column)} #>> '{{}}')"
            )
            continue
        model = apps.get_model("complaints", MODELS[column])
        old = model._meta.get_field(column)
        new = models.TextField(blank=True)
        new.set_attributes_from_name(column)
        new.model = model
        schema_editor.alter_field(model, old, new)
        schema_editor.execute(
            f"UPDATE {quote(table)} SET {quote(column)} = COALESCE("
            f"json_extract({quote(column)}, '$.text'), json_extract({quote(column)}, '$'))"
            f" WHERE json_valid({quote(column)})"
        )


class Migration(migrations.Migration):
    dependencies = [("complaints", "0027_bilingual_names")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(to_json, to_text)],
            state_operations=[
                migrations.AlterField(
                    model_name="complaint", name="severity_reason", field=FIELDS["severity_reason"]
                ),
                migrations.AlterField(
                    model_name="notification", name="title", field=FIELDS["title"]
                ),
                migrations.AlterField(
                    model_name="recomputejob", name="reason", field=FIELDS["reason"]
                ),
            ],
        ),
    ]
