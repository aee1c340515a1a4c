"""A paginator that does not COUNT(*) millions of rows on every admin page.

On PostgreSQL it asks the planner for its row estimate (EXPLAIN, which reads the table
statistics in well under a millisecond); only when the estimate is small is an exact
COUNT(*) cheap enough to run. Other databases count exactly (they are for development).
"""

import json

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


def estimated_count(queryset) -> int | None:
    """The planner's row estimate for a queryset, or None where there is no planner to ask."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        estimate = estimated_count(self.object_list)
        if estimate is not None and estimate >= settings.REDRESS_ESTIMATED_COUNT_THRESHOLD:
            self.is_estimate = True
            return estimate
        self.is_estimate = False
        return self.object_list.count()
