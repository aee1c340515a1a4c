"""Trigram indexes for substring search on PostgreSQL (no-op elsewhere).

Django's `icontains` on PostgreSQL compiles to UPPER(col::text) LIKE UPPER('%term%'), so the
indexes are on that exact expression.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = [
    ("complaint_subject_trgm", "complaints_complaint", "subject"),
    ("customer_name_trgm", "complaints_customer", "name"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create, drop),
    ]
