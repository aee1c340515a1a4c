"""Repeat complaints: a new complaint from the same customer about the same category or item
within the repeat window (default 90 days, REDRESS_REPEAT_WINDOW_DAYS) of an earlier one."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from complaints.models import Complaint, Status

from ..models import RepeatLink

# An earlier complaint discarded as invalid or merged into another is not a first occurrence.
COUNTED = ~Q(status__in=(Status.INVALID, Status.MERGED))


def window() -> timedelta:
    return timedelta(days=settings.REDRESS_REPEAT_WINDOW_DAYS)


def same_problem_q(complaint: Complaint) -> Q | None:
    """Earlier complaints that are the same problem as `complaint` (the customer is matched
    by the caller): same category or same item within the window. Registered in
    complaints.hooks.SAME_PROBLEM so that repeats count for the severity rules."""
    if complaint.category_id is None and not complaint.item_ref:
        return None
    same = Q()
    if complaint.category_id is not None:
        same |= Q(category_id=complaint.category_id)
    if complaint.item_ref:
        same |= Q(item_ref=complaint.item_ref)
    return same & Q(received_at__gte=complaint.received_at - window())


def _basis(complaint: Complaint, earlier: Complaint) -> str:
    category = complaint.category_id is not None and complaint.category_id == earlier.category_id
    item = bool(complaint.item_ref) and complaint.item_ref == earlier.item_ref
    if category and item:
        return RepeatLink.Basis.BOTH
    return RepeatLink.Basis.CATEGORY if category else RepeatLink.Basis.ITEM


def link_repeats(complaint_id: int, *, now=None) -> list[RepeatLink]:
    """Link a complaint to the earlier ones it repeats. Safe to run again (after an edit of
    category or item, or concurrently): the unique constraint keeps one link per pair."""
    complaint = Complaint.objects.filter(pk=complaint_id).first()
    if complaint is None:
        return []
    return link_complaint(complaint, now=now)


def link_complaint(complaint: Complaint, *, now=None) -> list[RepeatLink]:
    """link_repeats for a complaint already in memory (as committed, e.g. right after its
    intake): no query at all when it has neither a category nor an item reference."""
    now = now or timezone.now()
    if complaint.status in (Status.INVALID, Status.MERGED):
        return []
    same = same_problem_q(complaint)
    if same is None:
        return []
    earlier = list(
        Complaint.objects.filter(
            same,
            COUNTED,
            customer_id=complaint.customer_id,
            received_at__lt=complaint.received_at,
        )
        .exclude(pk=complaint.pk)
        .exclude(repeated_by_links__complaint=complaint)
        .only("pk", "category_id", "item_ref", "received_at")
    )
    links = [
        RepeatLink(
            complaint=complaint,
            earlier=e,
            basis=_basis(complaint, e),
            days_between=(complaint.received_at - e.received_at).days,
            created_at=now,
        )
        for e in earlier
    ]
    if not links:
        return []
    try:
        with transaction.atomic():
            RepeatLink.objects.bulk_create(links)
    except IntegrityError:  # a concurrent run linked some: add the rest one by one
        created = []
        for link in links:
            _row, made = RepeatLink.objects.get_or_create(
                complaint=link.complaint,
                earlier=link.earlier,
                defaults={"basis": link.basis, "days_between": link.days_between},
            )
            if made:
                created.append(link)
        return created
    return links


def link_recent(*, now=None, days: int = 2, limit: int = 5000) -> int:
    """The periodic catch-up for complaints recorded or edited lately."""
    now = now or timezone.now()
    ids = list(
        Complaint.objects.filter(updated_at__gte=now - timedelta(days=days))
        .exclude(status__in=(Status.INVALID, Status.MERGED))
        .order_by("updated_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(len(link_repeats(pk, now=now)) for pk in ids)
