"""Human-readable complaint references: C-<year>-<number>, numbered per year.

The counter row is incremented with a single UPDATE, which takes a row lock until the
surrounding transaction ends, so concurrent intakes never receive the same number. Numbers
of rolled-back transactions are reused or skipped; gaps are tolerated, duplicates are not
(the reference column is also UNIQUE).
"""

from django.db import IntegrityError, transaction
from django.db.models import F

from ..models import ReferenceCounter

PREFIX = "C"


def format_reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:06d}"


def reserve_numbers(year: int, count: int = 1) -> range:
    """Reserve `count` consecutive numbers for `year` and return them."""
    if count < 1:
        raise ValueError("count must be positive")
    with transaction.atomic():
        updated = ReferenceCounter.objects.filter(year=year).update(last=F("last") + count)
        if not updated:
            try:
                with transaction.atomic():
                    ReferenceCounter.objects.create(year=year, last=count)
                return range(1, count + 1)
            except IntegrityError:
                # Another transaction created the row first; its lock now orders us after it.
                ReferenceCounter.objects.filter(year=year).update(last=F("last") + count)
        last = ReferenceCounter.objects.values_list("last", flat=True).get(year=year)
    return range(last - count + 1, last + 1)


def next_reference(year: int) -> str:
    return format_reference(year, reserve_numbers(year, 1)[0])
