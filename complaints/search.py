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
    """strpos(upper(<column>), upper(<term>)) <> 0: the exact substring test, evaluated before
    the bigram test where rows are filtered (a newest-first index scan). redress_bigrams() of
    a row costs some 100 times more (a SQL function building an array): 1,300 rows filtered
    by it alone took 184 ms at 100,000 complaints, by this first 2.6 ms. No index serves it
    (pg_trgm would, but holds no trigram of two characters), and `<> 0` is estimated to
    keep 99.5 % of the rows, so the count estimate stays the bigram index's."""

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
    bigram containment is the exact match (found through its index), and the planner
    estimates its rows from the index statistics; the equivalent substring test comes first,
    for the rows a newest-first scan filters (ContainsUpper). Longer terms are
    `UPPER(col) LIKE`, which the trigram index serves.
    Never both: ANDed with the LIKE of a two-character term the planner also read the
    trigram index, which holds no trigram of it and is read whole (11 s at 5,000,000
    complaints), and the product of both estimates made a common term (漏水, 190,000 rows)
    look rare, so it was counted instead of estimated."""
    if vendor == "postgresql" and len(term) == 2 and term_bigrams(term):
        return Q(ContainsUpper(column, term)) & Q(BigramsContain(column, term))
    return Q(**{f"{column}__icontains": term})


def search_complaints(queryset: QuerySet, term: str, *, pii: bool = True) -> QuerySet:
    """`pii=False` (a user without the personal-data right): customers' phones, emails, names
    and ids are no search keys; references and subjects are."""
    term = " ".join((term or "").replace("\x00", " ").split())  # PostgreSQL text holds no NUL
    if not term:
        return queryset
    vendor = connections[queryset.db].vendor
    subject = matches("subject", term, vendor=vendor)
    upper = term.upper()
    if REFERENCE_RE.fullmatch(upper):
        return queryset.filter(reference=upper)
    partial_reference = (
        Q(reference__contains=upper) if PARTIAL_REFERENCE_RE.fullmatch(upper) else Q(pk__in=[])
    )
    if not pii:
        return queryset.filter(subject | Q(external_ref=term) | partial_reference)
    phone = phone_search_key(term)
    if phone:
        # "2026-000136" is also a Guangzhou landline: a whole phone number or a reference part.
        customer_ids = list(
            Customer.objects.filter(phone=phone).values_list("pk", flat=True)[:CUSTOMER_LIMIT]
        )
        return queryset.filter(Q(customer_id__in=customer_ids) | partial_reference)

    customers = matches("name", term, vendor=vendor) | Q(external_id=term)
    digits = term.replace(" ", "").replace("-", "")
    if PHONE_TAIL_RE.fullmatch(digits):
        # icontains uses the trigram index; endswith keeps it to the end of the number.
        customers |= Q(phone__icontains=digits, phone__endswith=digits)
    if "@" in term or "." in term:
        customers |= Q(email__icontains=term.lower())
    customer_ids = list(
        Customer.objects.filter(customers).values_list("pk", flat=True)[:CUSTOMER_LIMIT]
    )

    condition = subject | Q(external_ref=term) | partial_reference
    if customer_ids:
        condition |= Q(customer_id__in=customer_ids)
    return queryset.filter(condition)
