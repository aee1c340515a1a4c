"""Index builds for migrations on large tables: CONCURRENTLY on PostgreSQL (no lock that
blocks writes while the table is indexed; the migration must be non-atomic), plainly on
SQLite. An interrupted concurrent build leaves an INVALID index, which `create` drops and
builds again. Used by RunPython operations; keep the SQL these functions issue stable, as
applied migrations depend on it."""


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


def create(schema_editor, name: str, table: str, definition: str) -> None:
    """CREATE INDEX `name` ON `table` `definition` (columns, and a WHERE if partial)."""
    quote = schema_editor.quote_name
    drop_if_invalid(schema_editor, name)
    schema_editor.execute(
        f"CREATE INDEX{concurrently(schema_editor)} IF NOT EXISTS {quote(name)} "
        f"ON {quote(table)} {definition}"
    )


def drop(schema_editor, name: str) -> None:
    schema_editor.execute(
        f"DROP INDEX{concurrently(schema_editor)} IF EXISTS {schema_editor.quote_name(name)}"
    )
