"""Short pending lists for the search indexes (issue 15, PostgreSQL only).

A GIN index takes new entries into a pending list (fastupdate, up to gin_pending_list_limit,
4 MB by default) that every search reads whole before the index proper: every complaint
UPDATE that is not HOT (the deadline sweep's are not) adds the row's bigrams and trigrams to
it. At 100,000 complaints after one sweep, the bigram index's list held 7,030 rows in 206
pages, and a search for a term found nowhere (鳄鱼) read all 209 buffers twice per page (count
and rows); with more history the sweeps fill it to 4 MB, so even a search that finds nothing
grew with history. 256 kB keeps each read to at most 32 pages; the backend that fills it
merges it into the index (a smaller, more frequent merge than at 4 MB).

ALTER INDEX ... SET (gin_pending_list_limit) rewrites nothing but takes an ACCESS EXCLUSIVE
lock on the index, and every query planned on the table waits behind it while it queues:
each ALTER waits at most LOCK_TIMEOUT for a long transaction to finish, and is tried again
later (then the migration stops with an error saying to run it again, having changed nothing
that matters for correctness). The lists already longer are merged by the next insert into
them or by autovacuum.
"""

import time

from django.db import OperationalError, migrations

GIN_INDEXES = [
    "complaint_subject_bigram",
    "complaint_subject_trgm",
    "complaint_reference_trgm",
    "customer_name_bigram",
    "customer_name_trgm",
    "customer_phone_trgm",
    "customer_email_trgm",
]
PENDING_LIST_KB = 256
LOCK_TIMEOUT = "2s"
ATTEMPTS = 10


def _alter(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        try:
            for statement in statements:
                for attempt in range(1, ATTEMPTS + 1):
                    try:
                        cursor.execute(statement)
                        break
                    except OperationalError:  # lock_timeout: a long transaction holds the table
                        if attempt == ATTEMPTS:
                            raise
                        time.sleep(attempt)
        finally:
            cursor.execute("RESET lock_timeout")


def shorten(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _alter(
        schema_editor,
        [
            f"ALTER INDEX IF EXISTS {name} SET (gin_pending_list_limit = {PENDING_LIST_KB})"
            for name in GIN_INDEXES
        ],
    )


def reset(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _alter(
        schema_editor,
        [f"ALTER INDEX IF EXISTS {name} RESET (gin_pending_list_limit)" for name in GIN_INDEXES],
    )


class Migration(migrations.Migration):
    atomic = False  # one short lock per index, not all of them held together

    dependencies = [("complaints", "0032_merge_sweep_and_covering_indexes")]

    operations = [migrations.RunPython(shorten, reset)]
