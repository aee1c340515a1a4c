"""Character-bigram search for Chinese (complaints/search.py), PostgreSQL only.

redress_bigrams(text) is the distinct upper-cased two-character substrings of the text that
contain no whitespace, as text[]; GIN indexes on it for the complaint subject and the
customer name make a two-character term (漏水, 王伟) an index lookup, which pg_trgm cannot do
(it extracts no trigram from two characters). The function is IMMUTABLE, so the indexes are
expression indexes the database keeps up to date by itself.

On a large table the index builds take a while (about a minute per million complaints on two
cores); they can be built beforehand with CREATE INDEX CONCURRENTLY using the same statements,
and this migration then finds them (IF NOT EXISTS).
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION redress_bigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT pair), '{}')
    FROM (SELECT substr(upper(value), i, 2) AS pair
          FROM generate_series(1, length(value) - 1) AS i) AS pairs
    WHERE pair !~ '\s'
$$
"""

INDEXES = [
    ("complaint_subject_bigram", "complaints_complaint", "subject"),
    ("customer_name_bigram", "complaints_customer", "name"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (redress_bigrams("{column}"))'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS redress_bigrams(text)")


class Migration(migrations.Migration):
    dependencies = [("complaints", "0024_admin_labels")]

    operations = [migrations.RunPython(create, drop)]
