"""A paginator for admin lists of millions of rows: no exact COUNT(*) scans, no deep OFFSETs.

- Count: on PostgreSQL the planner's row estimate (EXPLAIN reads the table statistics in well
  under a millisecond) when it is at least REDRESS_ESTIMATED_COUNT_THRESHOLD, shown as
  "≈ 5,000,000". Below that the rows are counted, but at most threshold + 1 of them
  (SELECT count(*) FROM (... LIMIT threshold + 1)): the estimate of a filtered list can be
  far too low (several filters on correlated columns), and an exact COUNT would then read
  every matching row of five years. More than the threshold shows as "10,000+". Other
  databases use the capped count alone (they are for development).
- Pages: only the first threshold / per-page pages are offered (200 pages of 50 at the
  default threshold), so an OFFSET never skips more than the threshold rows, and the pager
  does not link the 100,000th page. A request for a page beyond shows the last offered one
  with a hint to narrow the list (filters, search, date range) instead of an error.
- Deep pages (an offset of DEEP_OFFSET rows or more) are read in two steps: the page's ids
  from the sort index alone, then those rows with their joins. One statement would join
  the customer, department, assignee and policy of every skipped row (5,000,000
  complaints, page 200: 552 ms, 10,000 customer look-ups; in two steps about 20 ms).
- A search's pages and capped count are read one ORed part at a time, each newest first
  through its own index (search.search_page_ids, search.search_capped_count), and its rows
  by primary key without testing the search again (search.pin_search_rows).
"""

import json

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

from ..search import pin_search_rows, search_capped_count, search_page_ids


def estimated_count(queryset) -> int | None:
    """The planner's row estimate for a queryset, or None where there is no planner to ask."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    # The primary key alone: the planner's row estimate is the same without the joins of
    # select_related (left joins, or inner joins along a foreign key), which made planning
    # the estimate cost as much as planning the page's query.
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


DEEP_OFFSET = 500


class EstimatedCountPaginator(Paginator):
    template_name = "complaints/admin/pagination.html"  # unfold includes it in the pager
    is_estimate = is_capped = False
    # Set for a search (ComplaintAdmin.get_paginator): the first page's ids are read before
    # anything is counted, so a result of one page needs no estimate and no count, and a
    # longer one joins the customer, department, assignee and policy of its 50 rows only
    # (in one statement they were joined for every match before the sort kept 50).
    first_page_first = False
    _first_ids: list | None = None

    @property
    def threshold(self) -> int:
        return settings.REDRESS_ESTIMATED_COUNT_THRESHOLD

    @cached_property
    def count(self) -> int:
        if self.first_page_first and isinstance(self.object_list, QuerySet):
            ids = search_page_ids(self.object_list, 0, self.per_page + 1)
            if ids is None:
                ids = list(self.object_list.values_list("pk", flat=True)[: self.per_page + 1])
            if len(ids) <= self.per_page:
                # The admin lists a result of one page from this same queryset: these ids
                # are all of it, so it reads them by primary key (none: no query). Planned
                # as a search, a term found nowhere was estimated at 2,000 rows at
                # 5,000,000 complaints and read by parallel workers (28 ms to start them).
                if not pin_search_rows(self.object_list, ids):
                    self.object_list.query.add_q(Q(pk__in=ids))
                return len(ids)
            self._first_ids = ids[: self.per_page]
        estimate = estimated_count(self.object_list)
        if estimate is not None and estimate >= self.threshold:
            self.is_estimate = True
            return estimate
        counted = search_capped_count(self.object_list, self.threshold)
        if counted is None:
            counted = self.object_list.order_by()[: self.threshold + 1].count()
        if counted > self.threshold:
            self.is_capped = True
            return self.threshold
        return counted

    @cached_property
    def all_pages(self) -> int:
        return Paginator.num_pages.func(self)

    @cached_property
    def num_pages(self) -> int:
        return min(self.all_pages, max(1, self.threshold // self.per_page))

    @property
    def is_truncated(self) -> bool:
        """Some rows lie beyond the pages offered."""
        return self.is_capped or self.all_pages > self.num_pages

    def validate_number(self, number):
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            return super().validate_number(number)  # raises PageNotAnInteger
        if wanted > self.num_pages and self.is_truncated:
            return self.num_pages
        return super().validate_number(number)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if number == 1 and self._first_ids is not None:
            ids = self._first_ids
        elif not isinstance(self.object_list, QuerySet):
            return super().page(number)
        else:
            # A search's page is read part by part (search.py); other pages of fewer than
            # DEEP_OFFSET skipped rows in one statement, deeper ones in two.
            ids = search_page_ids(self.object_list, bottom, top)
            if ids is None:
                if bottom < DEEP_OFFSET:
                    return super().page(number)
                ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = self.object_list._chain()
        if not pin_search_rows(rows, ids):
            rows = rows.filter(pk__in=ids)
        return self._get_page(rows, number, self)
