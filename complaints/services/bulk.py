"""Writing many rows' changed values in one statement.

Django's `bulk_update` sends `SET col = CASE WHEN id = 1 THEN ... WHEN id = 2 THEN ... END`
for every column: PostgreSQL evaluates a CASE with one branch per row for every row, and
building it is most of the deadline sweep's time. On PostgreSQL `update_rows` sends instead

    UPDATE t SET a = v.a, b = v.b
    FROM (VALUES (%s::bigint, %s::timestamptz, ...), ...) AS v(id, a, b)
    WHERE t.id = v.id

(one hash join, values bound as parameters, in chunks of ROWS_PER_STATEMENT). Other
databases use bulk_update.
"""

from collections.abc import Sequence

from django.db import connections, models

ROWS_PER_STATEMENT = 2000


def update_rows(model: type[models.Model], objs: Sequence[models.Model], fields: list[str]) -> int:
    """Save `fields` of `objs` (instances with primary keys) in set-based UPDATEs; returns the
    number of rows updated. Like bulk_update: no save(), no signals, no auto_now."""
    objs = [obj for obj in objs if obj.pk is not None]
    if not objs:
        return 0
    connection = connections[model.objects.db]
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objs, fields)
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    if any(not field.concrete or field.primary_key for field in columns):
        raise ValueError("update_rows: only concrete, non-key fields can be updated")
    quote = connection.ops.quote_name
    casts = [f"%s::{pk.rel_db_type(connection)}"] + [
        f"%s::{field.db_type(connection)}" for field in columns
    ]
    row_sql = "(" + ", ".join(casts) + ")"
    names = ", ".join(quote(f"v{i}") for i in range(len(columns) + 1))
    assignments = ", ".join(
        f"{quote(field.column)} = v.{quote(f'v{i + 1}')}" for i, field in enumerate(columns)
    )
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), ROWS_PER_STATEMENT):
            chunk = objs[start : start + ROWS_PER_STATEMENT]
            params = []
            for obj in chunk:
                params.append(pk.get_db_prep_value(obj.pk, connection))
                params += [
                    field.get_db_prep_save(getattr(obj, field.attname), connection)
                    for field in columns
                ]
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - names from the model
                f"FROM (VALUES {', '.join([row_sql] * len(chunk))}) AS v({names}) "
                f"WHERE t.{quote(pk.column)} = v.{quote('v0')}",
                params,
            )
            updated += cursor.rowcount
    return updated
