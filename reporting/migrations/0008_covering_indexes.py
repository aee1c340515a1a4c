"""PostgreSQL: the dashboard's reads of the complaints become index-only scans.

- `reporting_recv_cover_idx` (received_at) INCLUDE every column the measures of
  reporting.kpis, the dimensions and the filters use, replacing `reporting_recv_durations_idx`
  (0006, a subset of it: the live percentiles read this one now). The widgets that no
  summary level keeps (two filters or more and a breakdown by a third dimension) read the
  period's entries here instead of the table: with filters that no index leads with
  (channel, severity) the planner read the whole table (it does not know the days' rows
  are next to each other), and with a large department or category the bitmap of its index
  still touched nearly every page of the period. At 1,000,000 complaints channel + severity
  read 42,000 pages (the table) for 1.6 s; now the period's index entries.
- `complaint_open_due_idx` (due_at, open complaints) carries the time received, the status
  and the four filter columns: the open backlog by age with two filters or more is an
  index-only scan of the open complaints instead of a visit to each (the old open ones are
  scattered over the table: 12,800 pages at 1,000,000 complaints). Same name and predicate
  as before, so the model state is unchanged; built beside the old one and swapped, as
  complaints 0031 does.

The complaint table's updates are never HOT (updated_at is indexed), so the wider entries
cost no HOT update; an update writes the same number of index entries as before. Built
CONCURRENTLY (no lock on the table while they build, hence a non-atomic migration); an
interrupted run leaves INVALID indexes that the next run drops first.
"""

from django.db import migrations

COVER = "reporting_recv_cover_idx"
DURATIONS = "reporting_recv_durations_idx"
OPEN_DUE = "complaint_open_due_idx"
OPEN_DUE_NEW = "complaint_open_due_cover_new"
OPEN = (
    "('new', 'acknowledged', 'investigating', 'awaiting_customer', 'solution_proposed', 'reopened')"
)
COVERED = (
    "id, status, validity, department_id, category_id, channel, severity, "
    "root_cause_category_id, acknowledged_at, ack_due_at, resolved_at, resolve_due_at, due_at, "
    "reopened_count, first_response_work_seconds, resolution_work_seconds"
)
OLD_DURATIONS = (
    "first_response_work_seconds, resolution_work_seconds, status, validity, "
    "department_id, category_id, channel, severity"
)
OPEN_DUE_COVERED = "received_at, status, department_id, category_id, channel, severity"


def _replace_received(schema_editor, new: str, new_include: str, old: str) -> None:
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {new}")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY {new} ON complaints_complaint (received_at) "
        f"INCLUDE ({new_include})"
    )
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {old}")


def _swap_open_due(schema_editor, include: str) -> None:
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OPEN_DUE_NEW}")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY {OPEN_DUE_NEW} ON complaints_complaint "
        f"(due_at){include} WHERE status IN {OPEN}"
    )
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OPEN_DUE}")
    schema_editor.execute(f"ALTER INDEX {OPEN_DUE_NEW} RENAME TO {OPEN_DUE}")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _replace_received(schema_editor, COVER, COVERED, DURATIONS)
    _swap_open_due(schema_editor, f" INCLUDE ({OPEN_DUE_COVERED})")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _swap_open_due(schema_editor, "")
    _replace_received(schema_editor, DURATIONS, OLD_DURATIONS, COVER)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("reporting", "0007_category_channel_every_measure"),
        ("complaints", "0033_search_gin_pending_lists"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
