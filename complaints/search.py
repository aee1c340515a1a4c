"""What staff type into a search box, turned into a complaint query (the admin list's search
and the command palette, Ctrl+K).

One term is tried as everything it can be, each through an index:

- a whole reference (C-2026-000123) → that complaint (unique index);
- a partial reference ("13630", "2026-0136") → references containing it (trigram index);
- a whole phone number in any format → the customer's complaints (index on phone);
- 4+ digits → also customers whose phone ends with them (trigram index on phone);
- an email address or part of one → customers by email (trigram index on email);
- a customer's external id or the complaint's reference in the sending system (exact);
- words → subject and customer name (trigram indexes).

Customers are resolved to at most CUSTOMER_LIMIT ids first, so the complaint query ORs a
short id list with index scans instead of joining the customer table.
"""

import re

from django.db.models import Q, QuerySet

from .models import Customer
from .services.customers import phone_search_key

REFERENCE_RE = re.compile(r"C-\d{4}-\d{6,}")
# Parts of a reference: digits with an optional "C-" and year, at least 3 digits.
PARTIAL_REFERENCE_RE = re.compile(r"(C-?)?(\d{4}-)?\d{3,}|C-\d{4}-?")
PHONE_TAIL_RE = re.compile(r"\d{4,15}")
CUSTOMER_LIMIT = 500


def search_complaints(queryset: QuerySet, term: str, *, pii: bool = True) -> QuerySet:
    """`pii=False` (a user without the personal-data right): customers' phones, emails, names
    and ids are no search keys; references and subjects are."""
    term = " ".join((term or "").split())
    if not term:
        return queryset
    upper = term.upper()
    if REFERENCE_RE.fullmatch(upper):
        return queryset.filter(reference=upper)
    partial_reference = (
        Q(reference__contains=upper) if PARTIAL_REFERENCE_RE.fullmatch(upper) else Q(pk__in=[])
    )
    if not pii:
        return queryset.filter(
            Q(subject__icontains=term) | Q(external_ref=term) | partial_reference
        )
    phone = phone_search_key(term)
    if phone:
        # "2026-000136" is also a Guangzhou landline: a whole phone number or a reference part.
        customer_ids = list(
            Customer.objects.filter(phone=phone).values_list("pk", flat=True)[:CUSTOMER_LIMIT]
        )
        return queryset.filter(Q(customer_id__in=customer_ids) | partial_reference)

    customers = Q(name__icontains=term) | Q(external_id=term)
    digits = term.replace(" ", "").replace("-", "")
    if PHONE_TAIL_RE.fullmatch(digits):
        # icontains uses the trigram index; endswith keeps it to the end of the number.
        customers |= Q(phone__icontains=digits, phone__endswith=digits)
    if "@" in term or "." in term:
        customers |= Q(email__icontains=term.lower())
    customer_ids = list(
        Customer.objects.filter(customers).values_list("pk", flat=True)[:CUSTOMER_LIMIT]
    )

    condition = Q(subject__icontains=term) | Q(external_ref=term) | partial_reference
    if customer_ids:
        condition |= Q(customer_id__in=customer_ids)
    return queryset.filter(condition)
