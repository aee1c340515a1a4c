"""What staff type into a search box, turned into a complaint query (the admin list's search
and the command palette, Ctrl+K).

One term is tried as everything it can be, each through an index:

- a whole reference (C-2026-000123) → that complaint (unique index);
- a partial reference ("13630", "2026-0136") → references containing it (trigram index);
- a whole phone number in any format → the customer's complaints (index on phone);
- 4+ digits → also customers whose phone ends with them (trigram index on phone);
- an email address or part of one → customers by email (trigram index on email);
- a customer's external id or the complaint's reference in the sending system (exact);
- words → subject and customer name: on PostgreSQL by character bigrams (below), so that a
  two-character Chinese term (漏水, 王伟) is an index lookup too.

Chinese has no spaces and most search terms are two characters. pg_trgm extracts no trigram
from two characters, so a trigram index cannot narrow such a search and PostgreSQL reads
every row. Each searched text is therefore also indexed by its character bigrams:
`redress_bigrams(text)` (migration 0025) is the distinct upper-cased two-character substrings
without whitespace, as text[], with GIN expression indexes on the complaint subject and the
customer name. A two-character term is then an index lookup of its one bigram, which is
also the exact match; longer terms go to the trigram index (`UPPER(col) LIKE`), which
narrows them well and rechecks cheaply (see `matches`). The database keeps the index itself
(an expression index: no column, no trigger).

Customers are resolved to at most CUSTOMER_LIMIT ids first, so the complaint query ORs a
short id list with index scans instead of joining the customer table.
"""

import re

from django.db import connections
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from .models import Customer
from .services.customers import phone_search_key

REFERENCE_RE = re.compile(r"C-\d{4}-\d{6,}")
# Parts of a reference: digits with an optional "C-" and year, at least 3 digits.
PARTIAL_REFERENCE_RE = re.compile(r"(C-?)?(\d{4}-)?\d{3,}|C-\d{4}-?")
PHONE_TAIL_RE = re.compile(r"\d{4,15}")
CUSTOMER_LIMIT = 500


class BigramsContain(Func):
    """redress_bigrams(<column>) @> redress_bigrams(<term>): the GIN-indexed prefilter."""

    template = "(redress_bigrams(%(expressions)s))"
    arg_joiner = ") @> redress_bigrams("
    output_field = BooleanField()

    def __init__(self, column: str, term: str):
        super().__init__(F(column), Value(term))


class ContainsUpper(Func):
    """strpos(upper(<column>), upper(<term>)) <> 0: for a two-character term the same test as
    the bigram containment, at a fraction of its cost where rows are filtered (see
    `filter_matching`). No index serves it, and `<> 0` is estimated to keep 99.5 % of the
    rows, so the row estimates stay the bigram index's."""

    template = "(strpos(upper(%(expressions)s)) <> 0)"
    arg_joiner = "), upper("
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
    """`column` contains `term` (case-insensitive), through an index where one fits.

    On PostgreSQL a two-character term without whitespace is its own single bigram, so the
    bigram containment alone is the exact match, and the planner estimates its rows from the
    index statistics. Longer terms are `UPPER(col) LIKE`, which the trigram index serves.
    Never both: ANDed with the LIKE of a two-character term the planner also read the
    trigram index, which holds no trigram of it and is read whole (11 s at 5,000,000
    complaints), and the product of both estimates made a common term (漏水, 190,000 rows)
    look rare, so it was counted instead of estimated."""
    if _is_bigram(term, vendor):
        return Q(BigramsContain(column, term))
    return Q(**{f"{column}__icontains": term})


def _is_bigram(term: str, vendor: str) -> bool:
    return vendor == "postgresql" and len(term) == 2 and bool(term_bigrams(term))


def filter_matching(queryset: QuerySet, column: str, term: str, rest: Q, vendor: str):
    """queryset.filter(`matches(column, term)` | rest).

    A two-character term on PostgreSQL also gets the clause (ContainsUpper(column) | rest),
    which selects the same rows. Where the bigram index finds the rows, the bigram clause is
    its index condition and never evaluated; where rows are filtered instead (newest first
    along the received_at index, for a common term), PostgreSQL evaluates the cheaper clause
    first and redress_bigrams() (a SQL function, about 0.1 ms a row) only for the rows that
    pass it: 漏水's first page at 100,000 complaints 188 ms -> 18 ms. Both in one OR arm,
    (substring AND bigrams), would make the bigram index's rows filtered too (漏水's capped
    count 23 ms -> 556 ms)."""
    found = queryset.filter(matches(column, term, vendor=vendor) | rest)
    if _is_bigram(term, vendor):
        found = found.filter(Q(ContainsUpper(column, term)) | rest)
    return found


def search_complaints(queryset: QuerySet, term: str, *, pii: bool = True) -> QuerySet:
    """`pii=False` (a user without the personal-data right): customers' phones, emails, names
    and ids are no search keys; references and subjects are."""
    term = " ".join((term or "").replace("\x00", " ").split())  # PostgreSQL text holds no NUL
    if not term:
        return queryset
    vendor = connections[queryset.db].vendor
    upper = term.upper()
    if REFERENCE_RE.fullmatch(upper):
        return queryset.filter(reference=upper)
    partial_reference = (
        Q(reference__contains=upper) if PARTIAL_REFERENCE_RE.fullmatch(upper) else Q(pk__in=[])
    )
    if not pii:
        rest = Q(external_ref=term) | partial_reference
        return filter_matching(queryset, "subject", term, rest, vendor)
    phone = phone_search_key(term)
    if phone:
        # "2026-000136" is also a Guangzhou landline: a whole phone number or a reference part.
        customer_ids = list(
            Customer.objects.filter(phone=phone).values_list("pk", flat=True)[:CUSTOMER_LIMIT]
        )
        return queryset.filter(Q(customer_id__in=customer_ids) | partial_reference)

    customers = Q(external_id=term)
    digits = term.replace(" ", "").replace("-", "")
    if PHONE_TAIL_RE.fullmatch(digits):
        # icontains uses the trigram index; endswith keeps it to the end of the number.
        customers |= Q(phone__icontains=digits, phone__endswith=digits)
    if "@" in term or "." in term:
        customers |= Q(email__icontains=term.lower())
    found = filter_matching(Customer.objects.all(), "name", term, customers, vendor)
    customer_ids = list(found.values_list("pk", flat=True)[:CUSTOMER_LIMIT])

    rest = Q(external_ref=term) | partial_reference
    if customer_ids:
        rest |= Q(customer_id__in=customer_ids)
    return filter_matching(queryset, "subject", term, rest, vendor)
