"""Index builds for migrations on large tables: CONCURRENTLY on PostgreSQL (no lock that
blocks writes while the table is indexed; the migration must be non-atomic), plainly on
SQLite (create, drop; the constraint swaps are PostgreSQL's only). An interrupted concurrent
build leaves an INVALID index, which `create` drops and builds again. Used by RunPython
operations; keep the SQL these functions issue stable, as applied migrations depend on it."""

from contextlib import contextmanager, nullcontext

from django.db import transaction
from django.db.migrations import SeparateDatabaseAndState


def concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def drop_if_invalid(schema_editor, name: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s",
            [name],
        )
        row = cursor.fetchone()
    if row and row[0]:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


def create(schema_editor, name: str, table: str, definition: str, *, unique=False) -> None:
    """CREATE INDEX `name` ON `table` `definition` (columns, and a WHERE if partial)."""
    quote = schema_editor.quote_name
    drop_if_invalid(schema_editor, name)
    schema_editor.execute(
        f"CREATE {'UNIQUE ' if unique else ''}INDEX{concurrently(schema_editor)} IF NOT EXISTS "
        f"{quote(name)} ON {quote(table)} {definition}"
    )


def drop(schema_editor, name: str) -> None:
    schema_editor.execute(
        f"DROP INDEX{concurrently(schema_editor)} IF EXISTS {schema_editor.quote_name(name)}"
    )


def _one(schema_editor, query: str, params) -> tuple | None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


def _constraint_exists(schema_editor, table: str, name: str) -> bool:
    query = "SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s"
    return _one(schema_editor, query, [table, name]) is not None


def _index_exists(schema_editor, table: str, name: str) -> bool:
    query = (
        "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "AND indexname = %s"
    )
    return _one(schema_editor, query, [table, name]) is not None


@contextmanager
def lock_timeout(schema_editor, timeout: str = "10s"):
    """A statement that must lock the table (ALTER TABLE) gives up after `timeout` instead of
    queueing every reader and writer behind a long transaction; rerun the migration then."""
    schema_editor.execute(f"SET lock_timeout = '{timeout}'")
    try:
        yield
    finally:
        schema_editor.execute("RESET lock_timeout")


def _swap_name(name: str) -> str:
    return f"{name[:59]}_new"


def constraint_to_unique_index(schema_editor, name: str, table: str, definition: str) -> None:
    """PostgreSQL only: the unique constraint `name` becomes a unique index of the same name
    on `definition` (a partial one, as Django makes for a UniqueConstraint with a condition).
    The index is built concurrently under a temporary name, then the constraint dropped and
    the index renamed: uniqueness holds throughout. Safe to rerun after an interruption at any
    point (and a leftover temporary index of an earlier attempt is built again)."""
    quote, new = schema_editor.quote_name, _swap_name(name)
    if _constraint_exists(schema_editor, table, name):
        drop(schema_editor, new)  # whatever an interrupted run (either way) left
        create(schema_editor, new, table, definition, unique=True)
        with lock_timeout(schema_editor):
            schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    elif _index_exists(schema_editor, table, name):
        drop(schema_editor, new)
        return  # done by an earlier run
    schema_editor.execute(f"ALTER INDEX {quote(new)} RENAME TO {quote(name)}")


def unique_index_to_constraint(schema_editor, name: str, table: str, columns: str) -> None:
    """PostgreSQL only: the reverse of constraint_to_unique_index, a unique constraint on
    `columns` (its index built concurrently first)."""
    quote, new = schema_editor.quote_name, _swap_name(name)
    if _constraint_exists(schema_editor, table, name):
        drop(schema_editor, new)
        return  # done by an earlier run
    if _index_exists(schema_editor, table, name):
        drop(schema_editor, new)
        create(schema_editor, new, table, columns, unique=True)
        drop(schema_editor, name)
    with lock_timeout(schema_editor):
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} UNIQUE USING INDEX "
            f"{quote(new)}"
        )


class ConcurrentlyOnPostgres(SeparateDatabaseAndState):
    """On PostgreSQL, `database_operations` (RunPython with the concurrent builds above); on
    other databases (SQLite), `state_operations` applied to the database as Django would, in
    one transaction. `sqlmigrate` cannot show the PostgreSQL part: RunPython reads the
    catalog, and what it prints depends on the database it runs against."""

    def _operations(self, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            return self.database_operations
        return self.state_operations

    def _atomic(self, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            return nullcontext()
        return transaction.atomic(using=schema_editor.connection.alias)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with self._atomic(schema_editor):
            for operation in self._operations(schema_editor):
                to_state = from_state.clone()
                operation.state_forwards(app_label, to_state)
                operation.database_forwards(app_label, schema_editor, from_state, to_state)
                from_state = to_state

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        operations = self._operations(schema_editor)
        states = [to_state]  # the state before each operation
        for operation in operations[:-1]:
            states.append(states[-1].clone())
            operation.state_forwards(app_label, states[-1])
        with self._atomic(schema_editor):
            for operation, before in zip(reversed(operations), reversed(states), strict=True):
                after = before.clone()
                operation.state_forwards(app_label, after)
                operation.database_backwards(app_label, schema_editor, after, before)
