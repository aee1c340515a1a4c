"""Search box (complaints.search): partial references, phone tails and emails use trigram
indexes on PostgreSQL (no-op elsewhere); the sending system's reference a partial B-tree.

Django's `contains`/`icontains` on PostgreSQL compile to `col::text LIKE` /
`UPPER(col::text) LIKE`, so the indexes are on those exact expressions."""

from django.db import migrations, models

TRIGRAM_INDEXES = [
    ("complaint_reference_trgm", "complaints_complaint", '("reference"::text)'),
    ("customer_phone_trgm", "complaints_customer", '(UPPER("phone"::text))'),
    ("customer_email_trgm", "complaints_customer", '(UPPER("email"::text))'),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression} gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("complaints", "0022_merge_0020_merge_hard1_main_2_0021_merge_hard2_main")]

    operations = [
        migrations.AddIndex(
            model_name="complaint",
            index=models.Index(
                condition=models.Q(("external_ref", ""), _negated=True),
                fields=["external_ref"],
                name="complaint_external_ref_idx",
            ),
        ),
        migrations.RunPython(create, drop),
    ]
