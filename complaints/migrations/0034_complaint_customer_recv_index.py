"""A customer's complaints newest first (issue 15): (customer_id, received_at DESC, id DESC)
replaces the single-column foreign-key index on customer_id, which it covers (the PROTECT
check, a customer's complaints), so the table keeps the same number of indexes.

The search's customer part (search.py) reads the first page of a name many customers share
from this index alone: with the foreign-key index PostgreSQL read every matching complaint's
row for its received_at (王伟 at 5,000,000 complaints: 688 random heap reads for the page, as
many again for its count), a cost that grew with the history.

The model state changes with AlterField (db_index=False) and AddIndex, but the database only
builds the new index and drops the old one, CONCURRENTLY on PostgreSQL (no lock that blocks
writes or reads while 5,000,000 rows are indexed; an AlterField of a foreign key's db_index
would also drop and re-add the constraint, re-checking every row). Hence a non-atomic
migration. An interrupted build leaves an INVALID index, which the next run drops and builds
again."""

import django.db.models.deletion
from django.db import migrations, models

from complaints import migration_indexes as indexes

TABLE = "complaints_complaint"
INDEX = "complaint_cust_recv_idx"
COLUMNS = "(customer_id, received_at DESC, id DESC)"


def _foreign_key_index(schema_editor) -> str:
    """The name Django gave the foreign key's index when it created it."""
    return schema_editor._create_index_name(TABLE, ["customer_id"], "")


def forwards(apps, schema_editor):
    indexes.create(schema_editor, INDEX, TABLE, COLUMNS)
    indexes.drop(schema_editor, _foreign_key_index(schema_editor))


def backwards(apps, schema_editor):
    indexes.create(schema_editor, _foreign_key_index(schema_editor), TABLE, "(customer_id)")
    indexes.drop(schema_editor, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("complaints", "0033_search_gin_pending_lists")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="complaint",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="complaints",
                        to="complaints.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AddIndex(
                    model_name="complaint",
                    index=models.Index(
                        fields=["customer", "-received_at", "-id"], name=INDEX
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
