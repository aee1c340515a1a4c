"""Human-readable complaint references: C-<year>-<number>, numbered per year.

The counter row is incremented with a single UPDATE, which takes a row lock until the
surrounding transaction ends, so concurrent intakes never receive the same number. Numbers
of rolled-back transactions are reused or skipped; gaps are tolerated, duplicates are not
(the reference column is also UNIQUE).
"""

from django.db import IntegrityError, connection, transaction

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
