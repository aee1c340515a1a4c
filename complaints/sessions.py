"""Django's database sessions (SESSION_ENGINE "complaints.sessions") read with one prepared
statement text instead of a QuerySet built and compiled for every request.

Every staff request loads its session: `Session.objects.get(session_key=..., expire_date__gt=
now)` costs ~0.5 ms of CPU, most of it building and compiling the query; the same SELECT
from a statement text made once costs about half. Everything else (saving, expiry, keys,
the stored format, the table) is Django's `db.SessionStore`; the answer is the same row or
none (tests/test_sessions.py compares both)."""

from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.db import connections, router
from django.utils import timezone

_statements: dict[str, str] = {}  # vendor -> SQL


def _statement(connection, model) -> str:
    sql = _statements.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        meta = model._meta
        data, expires, key = (
            quote(meta.get_field(name).column)
            for name in ("session_data", "expire_date", "session_key")
        )
        table = quote(meta.db_table)
        sql = _statements[connection.vendor] = (
            f"SELECT {data}, {expires} FROM {table} "  # noqa: S608 - quoted names, values bound
            f"WHERE {key} = %s AND {expires} > %s"
        )
    return sql


class SessionStore(DBStore):
    def _get_session_from_db(self):
        key = self.session_key
        if key is None:  # no key, or one that is not valid (SessionBase checks it)
            self._session_key = None
            return None
        model = self.model
        connection = connections[router.db_for_read(model)]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(_statement(connection, model), [key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        # expire_date as the ORM would give it (SQLite returns text).
        column = model._meta.get_field("expire_date").get_col(model._meta.db_table)
        expire_date = row[1]
        for converter in connection.ops.get_db_converters(column):
            expire_date = converter(expire_date, column, connection)
        return model(session_key=key, session_data=row[0], expire_date=expire_date)
