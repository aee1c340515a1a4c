"""The monthly department report: valid complaints and closure rate per department per month,
on-time rates, reopened rate, working time to first response and to resolution, top root
causes. Generated on the 1st of each month for the month before (Celery beat) or on demand
in the admin; generating a month again replaces its figures. Each department head is emailed
their departments' rows once per report month (one ReportDelivery row each, claimed before
sending like the deadline alerts' emails)."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from complaints.api.export import formula_safe
from complaints.models import DepartmentMembership, RootCause, pick_name
from complaints.services.errors import ServiceError

from ..kpis import VALID, local_tz
from ..models import MonthlyReport, ReportDelivery
from ..queries import LIVE_MEASURES, Figures, Filters, LiveSource, department_name_pairs
from ..xlsx import workbook

log = logging.getLogger(__name__)
Delivery = ReportDelivery.Delivery
MAX_ATTEMPTS = 6
CLAIM_TIMEOUT = timedelta(minutes=10)
TOP_CAUSES = 3


def month_start(day: date) -> date:
    return day.replace(day=1)


def previous_month(today: date) -> date:
    return month_start(month_start(today) - timedelta(days=1))


def _month_end(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _figures_row(sums: dict) -> dict:
    fig = Figures(sums=sums)
    return {
        "received": sums["received"],
        "valid": sums["valid"],
        "closed": sums["closed"],
        "closure_rate": _round(fig.closure_rate),
        "ack_on_time_rate": _round(fig.ack_on_time_rate),
        "resolve_on_time_rate": _round(fig.resolve_on_time_rate),
        "reopened_rate": _round(fig.reopened_rate),
        "first_response_hours_mean": _round(fig.frt_mean),
        "resolution_hours_mean": _round(fig.ttr_mean),
        "open": sums["open"],
        "compensated": sums["compensated"],
        "compensation_cny": round(sums["compensation_cents"] / 100, 2),
    }


def _round(value):
    return None if value is None else round(value, 1)


ROW_FIELDS = tuple(_figures_row(dict.fromkeys(LiveSource().expressions, 0)))


def compute(month: date, *, now: datetime | None = None) -> dict:
    """The report's figures (3 aggregate queries, whatever the number of complaints)."""
    now = now or timezone.now()
    source = LiveSource(now)
    filters = Filters(date_from=month, date_to=_month_end(month))
    by_department = source.rows(filters, ("department_id",), LIVE_MEASURES)
    total = source.rows(filters, (), LIVE_MEASURES)
    causes = (
        source.complaints(filters)
        .filter(VALID, root_cause_category__isnull=False)
        .values("department_id", "root_cause_category_id")
        .annotate(n=Count("pk"))
        .order_by("department_id", "-n", "root_cause_category_id")
    )
    cause_names = {c.pk: c for c in RootCause.objects.all()}
    top: dict = {}
    overall: dict = {}
    for row in causes:
        top.setdefault(row["department_id"], [])
        cause = cause_names[row["root_cause_category_id"]]
        if len(top[row["department_id"]]) < TOP_CAUSES:
            top[row["department_id"]].append(
                {"code": cause.code, "name": cause.name, "name_en": cause.name_en, "n": row["n"]}
            )
        overall[cause.pk] = overall.get(cause.pk, 0) + row["n"]
    names = department_name_pairs([r["department_id"] for r in by_department])
    departments = sorted(
        (
            {
                "department_id": r["department_id"],
                "department": names.get(r["department_id"], ("", ""))[0],
                "department_en": names.get(r["department_id"], ("", ""))[1],
                **_figures_row(r),
                "top_causes": top.get(r["department_id"], []),
            }
            for r in by_department
        ),
        key=lambda r: (r["department_id"] is None, r["department"]),
    )
    ranked = sorted(overall.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CAUSES]
    return {
        "month": month.isoformat(),
        "departments": departments,
        "total": {
            **_figures_row(total[0] if total else dict.fromkeys(source.expressions, 0)),
            "top_causes": [
                {
                    "code": cause_names[pk].code,
                    "name": cause_names[pk].name,
                    "name_en": cause_names[pk].name_en,
                    "n": n,
                }
                for pk, n in ranked
            ],
        },
    }


def generate(month: date, *, user=None, now: datetime | None = None) -> MonthlyReport:
    """Generate (or regenerate: replace) the report of `month` and queue its emails to the
    department heads who have not had it yet."""
    now = now or timezone.now()
    if month != month_start(month):
        raise ServiceError(_("Give the first day of the month."))
    if month > month_start(timezone.localtime(now, local_tz()).date()):
        raise ServiceError(_("A report cannot be generated for a month that has not begun."))
    data = compute(month, now=now)
    with transaction.atomic():
        report, _created = MonthlyReport.objects.select_for_update().update_or_create(
            month=month, defaults={"data": data, "generated_at": now, "generated_by": user}
        )
        departments = [r["department_id"] for r in data["departments"] if r["department_id"]]
        heads = (
            DepartmentMembership.objects.filter(
                department_id__in=departments,
                role=DepartmentMembership.Role.HEAD,
                user__is_active=True,
            )
            .exclude(user__email="")
            .values_list("user_id", "user__email")
            .distinct()
        )
        existing = set(report.deliveries.values_list("user_id", flat=True))
        ReportDelivery.objects.bulk_create(
            [
                ReportDelivery(report=report, user_id=uid, email=email)
                for uid, email in heads
                if uid not in existing
            ],
            ignore_conflicts=True,  # a concurrent generation made it: still one per person
        )
        transaction.on_commit(_deliver_later)
    return report


def _deliver_later() -> None:
    from ..tasks import deliver_pending_reports, enqueue

    enqueue(deliver_pending_reports)


# -- files ------------------------------------------------------------------------------


def columns() -> list[tuple[str, str]]:
    """(key, header in the active language)."""
    return [
        ("department", _("Department")),
        ("received", _("Received")),
        ("valid", _("Valid")),
        ("closed", _("Closed")),
        ("closure_rate", _("Closure rate %")),
        ("ack_on_time_rate", _("Acknowledged on time %")),
        ("resolve_on_time_rate", _("Resolved on time %")),
        ("reopened_rate", _("Reopened %")),
        ("first_response_hours_mean", _("Mean working hours to first response")),
        ("resolution_hours_mean", _("Mean working hours to resolution")),
        ("open", _("Still open")),
        ("compensated", _("Compensated complaints")),
        ("compensation_cny", _("Compensation (CNY)")),
        ("top_causes", _("Top root causes")),
    ]


def _causes_text(causes: list[dict]) -> str:
    lang = (translation.get_language() or "").lower()
    return "; ".join(
        f"{(c['name_en'] if lang.startswith('en') and c['name_en'] else c['name'])} ({c['n']})"
        for c in causes
    )


def table(report: MonthlyReport, department_ids=None) -> tuple[list[str], list[list]]:
    """Header and rows for the files: one row per department (only `department_ids` if
    given), then the total over all departments (only when every department is shown)."""
    cols = columns()
    header = [label for _key, label in cols]
    rows = []
    selected = [
        r
        for r in report.data.get("departments", [])
        if department_ids is None or r["department_id"] in department_ids
    ]
    total = report.data.get("total")
    if total and department_ids is None:
        selected.append({**total, "department": _("All departments")})
    for row in selected:
        values = []
        for key, _label in cols:
            if key == "department":
                name = pick_name(row.get("department") or "", row.get("department_en") or "")
                values.append(name or _("(no department)"))
            elif key == "top_causes":
                values.append(_causes_text(row.get("top_causes", [])))
            else:
                values.append(row.get(key))
        rows.append(values)
    return header, rows


def as_csv(report: MonthlyReport, department_ids=None) -> bytes:
    header, rows = table(report, department_ids)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else formula_safe(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode()  # BOM: Excel opens UTF-8 Chinese correctly


def as_xlsx(report: MonthlyReport, department_ids=None) -> bytes:
    header, rows = table(report, department_ids)
    return workbook(header, rows, sheet=str(report))


def filename(report: MonthlyReport, ext: str) -> str:
    return f"redress-department-report-{report.month:%Y-%m}.{ext}"


# -- email ------------------------------------------------------------------------------


def _deliverable(now: datetime) -> Q:
    ready = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(delivery=Delivery.PENDING) | Q(
        delivery=Delivery.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    return free & ready


def pending_deliveries(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        ReportDelivery.objects.filter(_deliverable(now))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def head_departments(user_id: int) -> set[int]:
    return set(
        DepartmentMembership.objects.filter(
            user_id=user_id, role=DepartmentMembership.Role.HEAD
        ).values_list("department_id", flat=True)
    )


def render_email(delivery: ReportDelivery) -> EmailMultiAlternatives:
    """Chinese first, then English; the CSV and XLSX of the head's departments attached."""
    report = delivery.report
    departments = head_departments(delivery.user_id)
    parts = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            header, rows = table(report, departments)
            parts.append(
                {
                    "subject": _("Monthly complaint report %(month)s") % {"month": str(report)},
                    "body": render_to_string(
                        "reporting/email/monthly_report.txt",
                        {
                            "report": report,
                            "lines": [list(zip(header, row, strict=True)) for row in rows],
                            "link": f"{settings.REDRESS_BASE_URL}/admin/reporting/monthlyreport/"
                            f"{report.pk}/change/",
                        },
                    ),
                }
            )
    email = EmailMultiAlternatives(
        subject=f"[Redress] {parts[0]['subject']} / {parts[1]['subject']}"[:250],
        body="\n\n----------------------------------------\n\n".join(p["body"] for p in parts),
        to=[delivery.email],
    )
    with translation.override("zh-hans"):
        email.attach(filename(report, "csv"), as_csv(report, departments), "text/csv")
        email.attach(
            filename(report, "xlsx"),
            as_xlsx(report, departments),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    return email


def deliver(delivery_id: int, *, now: datetime | None = None) -> str:
    """Send one report email (claimed first: two workers never send the same one); on
    failure retry with backoff 1, 2, 4, 8, 16 minutes, then "failed"."""
    now = now or timezone.now()
    claimed = ReportDelivery.objects.filter(_deliverable(now), pk=delivery_id).update(
        delivery=Delivery.SENDING, claimed_at=now
    )
    if not claimed:
        return "skipped"
    delivery = ReportDelivery.objects.select_related("report").get(pk=delivery_id)
    try:
        render_email(delivery).send()
    except Exception as exc:  # noqa: BLE001 - any transport error is retried, never raised
        attempts = delivery.attempts + 1
        failed = attempts >= MAX_ATTEMPTS
        ReportDelivery.objects.filter(pk=delivery_id).update(
            attempts=attempts,
            delivery=Delivery.FAILED if failed else Delivery.PENDING,
            next_attempt_at=None if failed else now + timedelta(minutes=2 ** (attempts - 1)),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        log.warning("Report email %s failed (attempt %s): %s", delivery_id, attempts, exc)
        return "failed" if failed else "retry"
    ReportDelivery.objects.filter(pk=delivery_id).update(
        delivery=Delivery.SENT, sent_at=now, attempts=delivery.attempts + 1, last_error=""
    )
    return "sent"


def deliver_many(ids, *, now: datetime | None = None) -> dict[str, int]:
    outcome: dict[str, int] = {}
    for delivery_id in ids:
        result = deliver(delivery_id, now=now)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome
