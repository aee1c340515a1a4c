"""Customer identity: who recorded a customer, and duplicates flagged before the unique
constraints on phone / email / external id (0015) are created.

Existing data may hold several records of one person (nothing stopped it before). No customer
is deleted and no complaint moves: per normalised phone, email and external id the oldest
record (created_at, then id) stays canonical and every later one gets `duplicate_of` pointing
at it. Flagged records keep their own values and complaints; the constraints and the intake's
matching consider canonical customers only. Emails are lower-cased and external ids trimmed
first (phones have been stored in E.164 by every write path since 0001).

Set-based (one UPDATE per identity field with a window function), no per-row Python."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Order matters: the strongest identity first, so a person's other records point at the
# record their external id (CRM, membership) names.
IDENTITY_ORDER = ("external_id", "phone", "email")


def normalise_and_flag_duplicates(apps, schema_editor):
    Customer = apps.get_model("complaints", "Customer")
    q = schema_editor.quote_name
    table = q(Customer._meta.db_table)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET email = lower(trim(email)) "  # noqa: S608 (names quoted)
            "WHERE email <> lower(trim(email))"
        )
        cursor.execute(
            f"UPDATE {table} SET external_id = trim(external_id) "  # noqa: S608
            "WHERE external_id <> trim(external_id)"
        )
        for field in IDENTITY_ORDER:
            column = q(field)
            cursor.execute(
                f"UPDATE {table} SET duplicate_of_id = ranked.canonical "  # noqa: S608
                "FROM (SELECT id, first_value(id) OVER ("
                f"PARTITION BY {column} ORDER BY created_at, id) AS canonical "
                f"FROM {table} WHERE {column} <> '' AND duplicate_of_id IS NULL) AS ranked "
                f"WHERE {table}.id = ranked.id AND ranked.canonical <> ranked.id"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0013_responsibility_reference"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="customer",
            name="customer_unique_external_id",
        ),
        migrations.AddField(
            model_name="customer",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="recorded by",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="duplicate_of",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text=(
                    "A later record of a customer already on file; the intake matches the "
                    "original."
                ),
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="duplicates",
                to="complaints.customer",
                verbose_name="duplicate of",
            ),
        ),
        migrations.RunPython(normalise_and_flag_duplicates, migrations.RunPython.noop),
    ]
