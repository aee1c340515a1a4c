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
short id list with index scans instead of joining the customer table. On PostgreSQL the
admin's pages of a search are read one ORed part at a time (`search_page_ids`, below).
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
    arms = [Q(external_ref=term)]
    if PARTIAL_REFERENCE_RE.fullmatch(upper):
        arms.append(partial_reference)
    if not pii:
        rest = Q(external_ref=term) | partial_reference
        found = filter_matching(queryset, "subject", term, rest, vendor)
        return _with_arms(found, queryset, [_subject_arm(term, vendor), *arms])
    phone = phone_search_key(term)
    if phone:
        # "2026-000136" is also a Guangzhou landline: a whole phone number or a reference part.
        customer_ids = list(
            Customer.objects.filter(phone=phone).values_list("pk", flat=True)[:CUSTOMER_LIMIT]
        )
        found = queryset.filter(Q(customer_id__in=customer_ids) | partial_reference)
        by_phone = [Q(customer_id__in=customer_ids)] if customer_ids else []
        return _with_arms(found, queryset, [*by_phone, *arms[1:]])

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
    arms.insert(0, _subject_arm(term, vendor))
    if customer_ids:
        rest |= Q(customer_id__in=customer_ids)
        arms.append(Q(customer_id__in=customer_ids))
    found = filter_matching(queryset, "subject", term, rest, vendor)
    return _with_arms(found, queryset, arms)


# -- pages of a search, one part at a time ---------------------------------------------------
#
# A search ORs its parts (subject, customers, the sending system's reference, a part of the
# reference) in one WHERE, and PostgreSQL cannot read an OR newest first along an index: it
# collects every match, reads each one's row for its received_at, sorts them and keeps 50.
# A name many customers share (王伟: ~200 customers, 688 complaints at 5,000,000) therefore
# cost one random heap read per match, for the page and again for its capped count, and grew
# with the history. Each part alone has an index in that order (complaint_cust_recv_idx:
# customer_id, received_at DESC, id DESC; the received_at index for a common subject term),
# so a page is read as the union of each part's own first `top` rows, ordered and sliced
# again: the same rows as the OR (every row of the page is among the first `top` of a part
# it matches), from the index alone for the customers' part. The count is the union of
# each part's first cap + 1 ids: more than cap exactly when the OR has more than cap rows.


class SearchParts:
    """The parts ORed by a search, and the queryset before the search, on a searched queryset's
    query (a Query attribute survives its clones: ordering, values, slicing). Used only while
    the queryset's WHERE is still the search's own (nothing filtered after it)."""

    def __init__(self, base: QuerySet, arms: list[Q], where):
        self.base = base
        self.arms = arms
        self.where = where

    def __reduce__(self):
        # A pickled query (a cache) drops them: pickling the base queryset would read it.
        return (type(None), ())

    @classmethod
    def of(cls, queryset: QuerySet) -> "SearchParts | None":
        parts = getattr(queryset.query, "search_parts", None)
        if parts is None or connections[queryset.db].vendor != "postgresql":
            return None
        query = queryset.query
        if query.where != parts.where or query.combinator or query.distinct or query.is_sliced:
            return None
        return parts


def _subject_arm(term: str, vendor: str) -> Q:
    arm = matches("subject", term, vendor=vendor)
    if _is_bigram(term, vendor):
        arm &= Q(ContainsUpper("subject", term))  # see filter_matching
    return arm


def _with_arms(found: QuerySet, base: QuerySet, arms: list[Q]) -> QuerySet:
    if connections[found.db].vendor == "postgresql" and len(arms) > 1:
        found.query.search_parts = SearchParts(base, arms, found.query.where.clone())
    return found


def _ordering(queryset: QuerySet) -> list[str] | None:
    """The queryset's ordering as local column names ("-received_at", "-id"), when it is a
    total order of the model's own columns (else None: the parts are not used)."""
    query = queryset.query
    opts = query.get_meta()
    ordering = query.order_by or (opts.ordering if query.default_ordering else ())
    names = []
    for item in ordering:
        if not isinstance(item, str) or item == "?":
            return None
        descending = item.startswith("-")
        name = item.lstrip("-")
        try:
            field = opts.pk if name == "pk" else opts.get_field(name)
        except Exception:  # FieldDoesNotExist, or a lookup across a relation
            return None
        if not field.concrete or field.is_relation:
            return None
        names.append(("-" if descending else "") + field.attname)
    if not any(name.lstrip("-") == opts.pk.attname for name in names):
        return None
    return names


def search_page_ids(queryset: QuerySet, bottom: int, top: int) -> list | None:
    """The pks of queryset[bottom:top] for a search's queryset, read part by part (PostgreSQL);
    None when the queryset is not a search's own (the caller slices it then)."""
    parts = SearchParts.of(queryset)
    ordering = _ordering(queryset) if parts else None
    if not ordering or top <= bottom:
        return None
    columns = list(dict.fromkeys(name.lstrip("-") for name in ordering))
    pk = queryset.query.get_meta().pk.attname
    columns = [pk, *(c for c in columns if c != pk)]
    firsts = [
        parts.base.filter(arm).order_by(*ordering).values_list(*columns)[:top] for arm in parts.arms
    ]
    union = firsts[0].union(*firsts[1:]) if len(firsts) > 1 else firsts[0]
    return [row[0] for row in union.order_by(*ordering)[bottom:top]]


def search_capped_count(queryset: QuerySet, cap: int) -> int | None:
    """How many rows a search's queryset has, counting at most cap + 1 (PostgreSQL); None when
    the queryset is not a search's own."""
    parts = SearchParts.of(queryset)
    if parts is None:
        return None
    pk = queryset.query.get_meta().pk.attname
    firsts = [parts.base.filter(arm).order_by().values_list(pk)[: cap + 1] for arm in parts.arms]
    return min(firsts[0].union(*firsts[1:]).count(), cap + 1)


def pin_search_rows(queryset: QuerySet, ids: list) -> bool:
    """Narrow a search's queryset, in place, to `ids` that it found, without its own conditions:
    re-tested on the page's rows, the bigram containment (a SQL function, see
    filter_matching) cost about 0.1 ms a row, 5 ms for a page of 50. False (nothing changed)
    when the queryset is not a search's own."""
    parts = SearchParts.of(queryset)
    if parts is None:
        return False
    queryset.query.where = parts.base.query.where.clone()
    queryset.query.search_parts = None
    queryset.query.add_q(Q(pk__in=ids))
    return True
