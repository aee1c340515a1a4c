"""Free-text search over complaints, shared by the admin search box and the API `q` filter.

Chinese has no spaces and most search terms are two characters (漏水, 王伟). pg_trgm extracts
no trigram from two characters, so a trigram index cannot narrow such a search and PostgreSQL
reads every row (twice: count and page). Instead each searched text is indexed by its
character bigrams: `redress_bigrams(text)` (migration 0020) is the distinct upper-cased
two-character substrings without whitespace, as text[], with a GIN index on
`redress_bigrams(complaints_complaint.subject)` and `redress_bigrams(complaints_customer.name)`.
A term of two or more characters is then an index lookup (every bigram of the term must be in
the row's bigrams), rechecked with the exact substring match (`icontains`) so that the result
is exactly "contains the term". The database keeps the index itself (an expression index: no
column, no trigger, nothing for the application to maintain).

Terms shorter than two characters, and other databases (SQLite in development), use the
substring match alone.
"""

from django.db import connections
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from .models import Customer

# A name search is turned into at most this many customer ids.
CUSTOMER_SEARCH_LIMIT = 500


class BigramsContain(Func):
    """redress_bigrams(<column>) @> redress_bigrams(<term>): the GIN-indexed prefilter."""

    template = "(redress_bigrams(%(expressions)s))"
    arg_joiner = ") @> redress_bigrams("
    output_field = BooleanField()

    def __init__(self, column: str, term: str):
        super().__init__(F(column), Value(term))


def term_bigrams(term: str) -> set[str]:
    """The bigrams redress_bigrams() makes of `term` (same rule, in Python)."""
    upper = term.upper()
    return {
        upper[i : i + 2]
        for i in range(len(upper) - 1)
        if not any(c.isspace() for c in upper[i : i + 2])
    }


def matches(column: str, term: str, *, vendor: str) -> Q:
    """`column` contains `term` (case-insensitive), by bigram index where it can."""
    condition = Q(**{f"{column}__icontains": term})
    if vendor == "postgresql" and term_bigrams(term):
        condition &= Q(BigramsContain(column, term))
    return condition


def search_complaints(queryset: QuerySet, term: str, *, names: bool) -> QuerySet:
    """Complaints whose subject contains `term`, or (with `names`, for readers of personal
    data) whose customer's name contains it. Both sides are index lookups on PostgreSQL; the
    customer side becomes a short id list so the planner can OR two index scans instead of
    joining the whole customer table."""
    term = " ".join(term.replace("\x00", " ").split())  # PostgreSQL text holds no NUL
    if not term:
        return queryset
    vendor = connections[queryset.db].vendor
    condition = matches("subject", term, vendor=vendor)
    if names:
        customer_ids = list(
            Customer.objects.filter(matches("name", term, vendor=vendor)).values_list(
                "pk", flat=True
            )[:CUSTOMER_SEARCH_LIMIT]
        )
        if customer_ids:
            condition |= Q(customer_id__in=customer_ids)
    return queryset.filter(condition)
