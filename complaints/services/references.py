"""Human-readable complaint references: C-<year>-<number>, numbered per year.

The counter row is incremented with a single UPDATE, which takes a row lock until the
surrounding transaction ends, so concurrent intakes never receive the same number. Numbers
of rolled-back transactions are reused or skipped; gaps are tolerated, duplicates are not
(the reference column is also UNIQUE).
"""

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    EmailField,
    ForeignKey,
    IntegerField,
    JSONField,
    PositiveBigIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SlugField,
    SmallAutoField,
    SmallIntegerField,
    TextField,
)

from ..models import ReferenceCounter

PREFIX = "C"


def format_reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:06d}"


def reserve_numbers(year: int, count: int = 1) -> range:
    """Reserve `count` consecutive numbers for `year` and return them."""
    if count < 1:
        raise ValueError("count must be positive")
    last = _increment(year, count)  # one statement: UPDATE ... RETURNING
    if last is None:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    ReferenceCounter.objects.create(year=year, last=count)
                return range(1, count + 1)
            except IntegrityError:
                # Another transaction created the row first; its lock now orders us after it.
                last = _increment(year, count)
    return range(last - count + 1, last + 1)


def _increment(year: int, count: int) -> int | None:
    """Add `count` to the year's counter (locking its row until the transaction ends) and
    return the new last number; None when the year has no counter yet."""
    table, last, year_ = map(
        connection.ops.quote_name, (ReferenceCounter._meta.db_table, "last", "year")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {last} = {last} + %s WHERE {year_} = %s RETURNING {last}",  # noqa: S608
            [count, year],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def next_reference(year: int) -> str:
    return format_reference(year, reserve_numbers(year, 1)[0])


_NUMBERED_INSERT: dict[tuple, tuple[str, list, list]] = {}


def insert_numbered(complaint, year: int, *, event=None, rows=()) -> bool:
    """PostgreSQL: INSERT the unsaved `complaint` with the year's next reference, its unsaved
    timeline `event` if given, and the unsaved `rows` that point to it (a `complaint` foreign
    key; e.g. the API's idempotency record), in one statement (the counter's UPDATE, in a
    CTE, locks its row as next_reference does; a round trip per row fewer). False, with
    nothing written, on another database or when the year has no counter yet: the caller
    then numbers and saves as usual. None of these models has save signals' receivers, so
    none are skipped."""
    if connection.vendor != "postgresql":
        return False
    related = ([event] if event is not None else []) + list(rows)
    key = (complaint._meta.label, *(row._meta.label for row in related))
    if key not in _NUMBERED_INSERT:
        _NUMBERED_INSERT[key] = _numbered_sql(type(complaint), [type(row) for row in related])
    sql, fields, related_fields = _NUMBERED_INSERT[key]
    params: list = [year]
    for f in fields:
        if f.attname == "reference":
            params.append(f"{PREFIX}-{year}-")
        else:
            params.append(db_value(f, complaint))
    for row, its_fields in zip(related, related_fields, strict=True):
        params += [db_value(f, row) for f in its_fields if f.attname != "complaint_id"]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row_ids = cursor.fetchone()
    if row_ids is None:
        return False
    complaint.pk, complaint.reference = row_ids[0], row_ids[1]
    complaint._state.adding, complaint._state.db = False, connection.alias
    for instance, pk in zip(related, row_ids[2:], strict=True):
        instance.pk, instance.complaint = pk, complaint
        instance._state.adding, instance._state.db = False, connection.alias
    return True


def db_value(field, instance):
    """What an INSERT of `instance` sends for `field` (Model.save's pre_save and conversion;
    most of a new complaint's fields are None, which needs no conversion). Values of the
    plain kinds below skip Django's chain of calls (about 80 values per intake) with the
    same result; anything else takes it."""
    plan = _PLANS.get(id(field), _UNPLANNED)  # (a field's own hash is a Python call)
    if plan is _UNPLANNED:
        plan = _PLANS[id(field)] = _plan(field)
    if plan is not None:
        value = getattr(instance, field.attname)  # pre_save of these fields
        if value is None:
            return None
        same, adapt = plan
        if type(value) is same or (same is str and isinstance(value, str)):
            if adapt is None:
                return value  # (text fields keep any str, choices' members included)
            value = adapt(value)
            if value is not _SLOW:
                return value
    value = field.pre_save(instance, True)
    if value is None and not isinstance(field, JSONField):  # None there is JSON null
        return None
    return field.get_db_prep_save(value, connection)


_SLOW, _UNPLANNED = object(), object()
_PLANS: dict = {}  # id of a model's field (they live as long as the process) -> plan
# Field classes (exactly these: a subclass may convert differently) whose pre_save reads the
# attribute and whose conversion returns a value of this type unchanged.
_SAME = {CharField: str, TextField: str, EmailField: str, SlugField: str, BooleanField: bool}
_INTEGERS = {
    IntegerField,
    SmallIntegerField,
    BigIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    PositiveBigIntegerField,
}
_AUTO = {AutoField, BigAutoField, SmallAutoField}


def _plan(field) -> tuple | None:
    """(type, adapt) for the values `db_value` converts itself: of exactly that type, sent
    as they are (adapt None) or as `adapt` gives them (_SLOW: take Django's way); None: the
    field always takes Django's way."""
    kind = type(field)
    if kind in _SAME:
        return _SAME[kind], None
    if kind in _INTEGERS:
        internal = field.get_internal_type()
        return int, lambda value: connection.ops.adapt_integerfield_value(value, internal)
    if kind is DateTimeField and not (field.auto_now or field.auto_now_add):
        return datetime, _aware_time
    if kind is ForeignKey and type(field.target_field) in _AUTO:
        return int, None  # AutoField's conversion of an int
    return None


def _aware_time(value):
    """DateTimeField's conversion of an aware time (a naive one is made aware, with a
    warning, by Django's)."""
    if value.utcoffset() is None:
        return _SLOW
    return connection.ops.adapt_datetimefield_value(value)


def bind_type(field) -> str:
    """The type a value bound into a raw INSERT ... SELECT is cast to: a text field's type
    without its length (a cast to varchar(n) cuts a longer value short without an error; the
    column's own type then refuses it, as the ORM's INSERT would)."""
    if isinstance(field, CharField):
        return connection.ops.cast_char_field_without_max_length
    return field.cast_db_type(connection)


def _numbered_sql(model, related_models=()) -> tuple[str, list, list]:
    quote = connection.ops.quote_name

    def insertable(m):
        return [f for f in m._meta.local_concrete_fields if not f.primary_key]

    def cast(f):
        return f"%s::{bind_type(f)}"

    fields = insertable(model)
    number = 'n."last"::text'
    selects = [
        f"(%s || lpad({number}, greatest(6, length({number})), '0'))"
        if f.attname == "reference"
        else cast(f)
        for f in fields
    ]
    counter = ReferenceCounter._meta
    pk = quote(model._meta.pk.column)
    sql = (
        f"WITH n AS (UPDATE {quote(counter.db_table)} SET {quote('last')} = "  # noqa: S608
        f"{quote('last')} + 1 WHERE {quote('year')} = %s RETURNING {quote('last')}), "
        f"c AS (INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT {', '.join(selects)} FROM n RETURNING {pk}, {quote('reference')})"
    )
    returned, sources = [f"c.{pk}", f"c.{quote('reference')}"], ["c"]
    # Each related row (the event first) in a CTE of its own reading the complaint's id from c.
    related_fields: list = []
    for index, related in enumerate(related_models):
        its_fields = insertable(related)
        its_selects = [f"c.{pk}" if f.attname == "complaint_id" else cast(f) for f in its_fields]
        name, its_pk = f"r{index}", quote(related._meta.pk.column)
        sql += (
            f", {name} AS (INSERT INTO {quote(related._meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(f.column) for f in its_fields)}) "
            f"SELECT {', '.join(its_selects)} FROM c RETURNING {its_pk})"
        )
        returned.append(f"{name}.{its_pk}")
        sources.append(name)
        related_fields.append(its_fields)
    sql += f" SELECT {', '.join(returned)} FROM {', '.join(sources)}"  # noqa: S608
    return sql, fields, related_fields
