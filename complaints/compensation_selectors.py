"""Reads of compensation data shared by the admin, the API and the export: which rows a person
may see (the department isolation of the complaint) and totals aggregated in the database."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .models import GRANTED, Compensation, TierGuidance, pick_name
from .selectors import sees_all, visible_complaints

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def money(value) -> Decimal:
    """A database sum as a two-decimal Decimal (SQLite drops the scale: 100 for 100.00)."""
    return ZERO if value is None else Decimal(value).quantize(CENT)


def _money_rows(rows, fields) -> list[dict]:
    return [{**row, **{f: money(row[f]) for f in fields}} for row in rows]


def visible_compensations(user, rows: QuerySet | None = None) -> QuerySet:
    rows = Compensation.objects.all() if rows is None else rows
    if sees_all(user):
        return rows
    return rows.filter(complaint__in=visible_complaints(user).values("pk"))


def complaint_totals(complaint_id: int) -> list[dict]:
    """Per currency: granted (approved + paid), paid, awaiting approval — one query."""
    rows = (
        Compensation.objects.filter(complaint_id=complaint_id)
        .values("currency")
        .annotate(
            granted=Sum("amount", filter=Q(status__in=GRANTED)),
            paid=Sum("amount", filter=Q(status=Compensation.Status.FULFILLED)),
            awaiting=Sum("amount", filter=Q(status=Compensation.Status.PROPOSED)),
            count=Count("id"),
        )
        .order_by("currency")
    )
    return _money_rows(rows, ("granted", "paid", "awaiting"))


def _granted(rows: QuerySet, start: datetime | None, end: datetime | None) -> QuerySet:
    rows = rows.filter(status__in=GRANTED)
    if start is not None:
        rows = rows.filter(decided_at__gte=start)
    if end is not None:
        rows = rows.filter(decided_at__lt=end)
    return rows


def totals_by_department(rows: QuerySet, *, start=None, end=None) -> list[dict]:
    """Granted compensation per responsible department and currency (decided in [start, end)),
    with `department` in the reader's language."""
    rows = _money_rows(
        _granted(rows, start, end)
        .values(
            "complaint__department_id",
            "complaint__department__name",
            "complaint__department__name_en",
            "currency",
        )
        .annotate(
            total=Sum("amount"),
            paid=Sum("amount", filter=Q(status=Compensation.Status.FULFILLED)),
            count=Count("id"),
            complaints=Count("complaint_id", distinct=True),
        )
        .order_by("complaint__department__name", "currency"),
        ("total", "paid"),
    )
    for row in rows:
        row["department"] = pick_name(
            row["complaint__department__name"] or "", row["complaint__department__name_en"] or ""
        )
    return rows


def totals_by_month(rows: QuerySet, *, start=None, end=None) -> list[dict]:
    """Granted compensation per month of the decision (local time) and currency."""
    return _money_rows(
        _granted(rows, start, end)
        .annotate(month=TruncMonth("decided_at", tzinfo=timezone.get_current_timezone()))
        .values("month", "currency")
        .annotate(
            total=Sum("amount"),
            paid=Sum("amount", filter=Q(status=Compensation.Status.FULFILLED)),
            count=Count("id"),
        )
        .order_by("-month", "currency"),
        ("total", "paid"),
    )


def guidance_for(tier: str | None = None) -> list[TierGuidance]:
    rows = TierGuidance.objects.all()
    if tier:
        rows = rows.filter(tier=tier)
    return list(rows.order_by("kind", "tier", "currency"))
