"""Short pending lists for the search indexes (issue 15, PostgreSQL only).

A GIN index takes new entries into a pending list (fastupdate, up to gin_pending_list_limit,
4 MB by default) that every search reads whole before the index proper: every complaint
UPDATE that is not HOT (the deadline sweep's are not) adds the row's bigrams and trigrams to
it. At 100,000 complaints after one sweep, the bigram index's list held 7,030 rows in 206
pages, and a search for a term found nowhere (鳄鱼) read all 209 buffers twice per page (count
and rows); with more history the sweeps fill it to 4 MB, so even a search that finds nothing
grew with history. 256 kB keeps each read to at most 32 pages; the backend that fills it
merges it into the index (a smaller, more frequent merge than at 4 MB).

ALTER INDEX ... SET takes a SHARE UPDATE EXCLUSIVE lock on the index only and rewrites
nothing: instant at any size. The lists already longer are merged by the next insert into
them or by autovacuum.
"""

from django.db import migrations

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


def shorten(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in GIN_INDEXES:
        schema_editor.execute(
            f"ALTER INDEX IF EXISTS {name} SET (gin_pending_list_limit = {PENDING_LIST_KB})"
        )


def reset(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in GIN_INDEXES:
        schema_editor.execute(f"ALTER INDEX IF EXISTS {name} RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):
    atomic = False  # one short lock per index, not all of them held together

    dependencies = [("complaints", "0032_merge_sweep_and_covering_indexes")]

    operations = [migrations.RunPython(shorten, reset)]
