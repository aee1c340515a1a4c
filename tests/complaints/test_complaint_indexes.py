"""The complaint table carries no index that another one already covers (each is paid on
every write: the deadline sweep updates thousands of complaints a minute)."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'complaints_complaint'"
        )
        return dict(cursor.fetchall())


@pytest.mark.parametrize("column", ["category_id", "department_id", "assignee_id", "customer_id"])
def test_foreign_key_is_served_by_its_composite_index_only(column):
    definitions = _indexes().values()
    assert not [d for d in definitions if d.endswith(f"btree ({column})")]
    assert [d for d in definitions if f"btree ({column}, received_at DESC, id DESC)" in d]


def test_sweep_claim_index_and_bigram_index_exist():
    names = _indexes()
    assert "complaint_subject_bigram" in names
    schedule = _table_indexes("complaints_alertschedule")
    assert [d for d in schedule if "alert_schedule_next_idx" in d and "(next_alert_at)" in d]


def test_nothing_the_sweep_writes_is_indexed_on_the_complaint():
    """The sweep moves its schedule every minute: on the complaint row that rewrote every
    index of the table (migration 0035). Nothing of it is indexed there any more."""
    definitions = "\n".join(_indexes().values())
    assert "next_alert_at" not in definitions
    assert "escalation_level" not in definitions


def test_open_department_work_has_a_partial_index():
    """status=open… & department=… pages read only the department's open rows (issue 15)."""
    definition = _indexes()["complaint_open_dept_recv_idx"]
    assert "(department_id, received_at DESC, id DESC)" in definition
    assert "WHERE" in definition and "'new'" in definition and "'closed'" not in definition
    # Status and channel ride along: the admin's capped count of "open statuses + department
    # + channel" is an index-only scan, not a visit to every matching row (migration 0031).
    assert "INCLUDE (status, channel)" in definition


def test_open_department_channel_count_reads_the_index_only():
    sql = (
        "SELECT count(*) FROM (SELECT 1 FROM complaints_complaint WHERE status IN "
        "('new', 'investigating') AND department_id = 1 AND channel = 'hotline' LIMIT 10001) s"
    )
    with connection.cursor() as cursor:
        # Inside the test's transaction (rolled back): the indexes as on a fresh table. Rows
        # earlier tests inserted and rolled back leave the indexes a few pages larger, and on
        # an empty table the planner then preferred another index of equal cost.
        cursor.execute("REINDEX TABLE complaints_complaint")
        # The open-deadline and the reporting indexes also carry these columns and, on an
        # empty table, cost the same: which one wins the tie depended on what earlier tests
        # of the process had left. Dropped here (rolled back with the test), the question is
        # whether this index alone answers the count.
        cursor.execute("DROP INDEX complaint_open_due_idx, reporting_recv_cover_idx")
        cursor.execute("SET enable_seqscan = off")
        try:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "Index Only Scan using complaint_open_dept_recv_idx" in plan, plan


def _table_indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize(
    ("table", "column", "composite"),
    [
        ("complaints_deadlinealert", "complaint_id", "(complaint_id, kind, level, deadline)"),
        ("complaints_complaintevent", "complaint_id", "(complaint_id, created_at, id)"),
        ("complaints_notification", "alert_id", "(alert_id, user_id)"),
        ("complaints_notification", "user_id", "(user_id, created_at DESC, id DESC)"),
        ("complaints_notification", "approval_alert_id", "(approval_alert_id, user_id)"),
        ("complaints_digestentry", "alert_id", "(alert_id, email)"),
    ],
)
def test_rows_the_sweep_writes_pay_no_index_a_composite_one_covers(table, column, composite):
    definitions = _table_indexes(table)
    assert not [d for d in definitions if d.endswith(f"btree ({column})")]
    assert [d for d in definitions if composite in d]


def test_complaint_has_no_index_that_no_query_uses():
    definitions = _table_indexes("complaints_complaint")
    assert not [d for d in definitions if "(responsibility_decided_by_id)" in d]
    assert not [d for d in definitions if "reference varchar_pattern_ops" in d]
    assert [d for d in definitions if "UNIQUE" in d and "btree (reference)" in d]
    assert [d for d in definitions if "reference)::text) gin_trgm_ops" in d]


def test_dropping_foreign_key_indexes_rebuilds_no_foreign_key():
    """An AlterField of a foreign key's db_index drops and re-adds its constraint, which
    re-checks every row under a lock: 0031 only drops indexes."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("sqlmigrate", "complaints", "0031_sweep_fewer_indexes", stdout=out)
    sql = out.getvalue().upper()
    assert "DROP INDEX" in sql
    assert "CONSTRAINT" not in sql


@pytest.mark.parametrize("direction", ["forwards", "backwards"])
def test_customer_index_migration_builds_and_drops_indexes_only(direction):
    """0034 runs Python (sqlmigrate cannot show it): its SQL, collected instead of executed,
    builds one index and drops the other, and never touches the foreign key's constraint."""
    from importlib import import_module

    from django.db import connection

    migration = import_module("complaints.migrations.0034_complaint_customer_recv_index")
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        getattr(migration, direction)(None, editor)
    sql = "\n".join(editor.collected_sql).upper()
    assert sql.count("CREATE INDEX") == 1 and sql.count("DROP INDEX") == 1, sql
    assert "CONSTRAINT" not in sql and "ALTER TABLE" not in sql, sql
    if connection.vendor == "postgresql":
        assert sql.count("CONCURRENTLY") == 2, sql


def test_inbox_and_actor_indexes_skip_nulls():
    """Every inbox entry is about an alert or an approval notice, and the sweep's timeline
    events have no actor: the indexes hold only the rows that set the column (0038)."""
    inbox = "\n".join(_table_indexes("complaints_notification"))
    assert "(alert_id, user_id) WHERE (alert_id IS NOT NULL)" in inbox
    assert "(approval_alert_id, user_id) WHERE (approval_alert_id IS NOT NULL)" in inbox
    events = _table_indexes("complaints_complaintevent")
    assert [d for d in events if d.endswith("btree (actor_id) WHERE (actor_id IS NOT NULL)")]
    assert not [d for d in events if d.endswith("btree (actor_id)")]


@pytest.mark.parametrize(
    ("table", "column", "index"),
    [
        ("complaints_notification", "alert_id", "one_notification_per_alert"),
        ("complaints_notification", "approval_alert_id", "one_notification_per_approval_alert"),
        ("complaints_complaintevent", "actor_id", "event_actor_idx"),
    ],
)
def test_protect_checks_use_the_partial_indexes(table, column, index):
    """Deleting an alert, approval notice or user looks up its rows by value, as a generic
    plan (the foreign key's trigger): the partial index serves it, not a table scan."""
    from django.db import transaction

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        with transaction.atomic():  # an error below is raised as itself, not as an aborted
            cursor.execute(  # transaction's at DEALLOCATE
                f"PREPARE protect_check(bigint) AS SELECT 1 FROM {table} WHERE {column} = $1"  # noqa: S608
            )
        try:
            with transaction.atomic():
                cursor.execute("EXPLAIN EXECUTE protect_check(1)")
                plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE protect_check")
    used = (
        f"Index Only Scan using {index} ",
        f"Index Scan using {index} ",
        f"Index Scan on {index} ",
    )
    assert any(u in plan for u in used) and "Seq Scan" not in plan, plan


class _ScratchTable:
    """A table of its own on its own autocommit connection (CONCURRENTLY cannot run in the
    test's transaction), dropped afterwards."""

    def __init__(self):
        from django.db import connections

        self.connection = connections.create_connection("default")
        self.name = f"scratch_unique_{id(self)}"
        self.connection.ensure_connection()

    def sql(self, statement: str, params=()):
        with self.connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def indexes(self) -> dict[str, str]:
        return dict(
            self.sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [self.name])
        )

    def constraints(self) -> list[str]:
        rows = self.sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'",
            [self.name],
        )
        return [name for (name,) in rows]

    def close(self):
        try:
            self.sql(f"DROP TABLE IF EXISTS {self.name}")
        finally:
            self.connection.close()


def test_constraint_becomes_a_partial_unique_index_and_back_even_after_an_interruption():
    from django.db import IntegrityError

    from complaints import migration_indexes as indexes

    table = _ScratchTable()
    name, t = "scratch_one_per_key", table.name
    partial = "(a, b) WHERE (a IS NOT NULL)"
    try:
        table.sql(f"CREATE TABLE {t} (a int, b int, CONSTRAINT {name} UNIQUE (a, b))")
        table.sql(f"INSERT INTO {t} VALUES (1, 1), (NULL, 1), (NULL, 1)")  # noqa: S608
        with table.connection.schema_editor(atomic=False) as editor:
            indexes.constraint_to_unique_index(editor, name, t, partial)
            assert table.constraints() == []
            assert table.indexes()[name].endswith(f"btree {partial}")
            indexes.constraint_to_unique_index(editor, name, t, partial)  # a rerun: no change
            assert list(table.indexes()) == [name]

            indexes.unique_index_to_constraint(editor, name, t, "(a, b)")
            assert table.constraints() == [name]
            assert table.indexes()[name].endswith("btree (a, b)")

            # A leftover of an interrupted run with another definition (here a full index,
            # as the way back builds) is not renamed into place: built again.
            editor.execute(f"CREATE UNIQUE INDEX {name}_new ON {t} (a, b)")
            indexes.constraint_to_unique_index(editor, name, t, partial)
            assert list(table.indexes()) == [name]
            assert table.indexes()[name].endswith(f"btree {partial}")

            # Back, interrupted after the partial index was dropped, before the constraint
            # was added: a rerun finishes the job.
            editor.execute(f"CREATE UNIQUE INDEX {name}_new ON {t} (a, b)")
            editor.execute(f"DROP INDEX {name}")
            indexes.unique_index_to_constraint(editor, name, t, "(a, b)")
            assert table.constraints() == [name]
            assert list(table.indexes()) == [name]

            # Forwards, interrupted after the constraint was dropped, before the rename: a
            # rerun finishes the job.
            editor.execute(f"CREATE UNIQUE INDEX {name}_new ON {t} {partial}")
            editor.execute(f"ALTER TABLE {t} DROP CONSTRAINT {name}")
            indexes.constraint_to_unique_index(editor, name, t, partial)
            assert list(table.indexes()) == [name]
            assert table.indexes()[name].endswith(f"btree {partial}")
            assert table.constraints() == []
        with pytest.raises(IntegrityError, match="duplicate key"):
            table.sql(f"INSERT INTO {t} VALUES (1, 1)")  # noqa: S608
    finally:
        table.close()
