"""Celery tasks of reporting: thin wrappers around the services, safe to run twice."""

from celery import shared_task
from django.utils import timezone

from complaints.tasks import enqueue

from .kpis import local_tz
from .services import reports, summaries

__all__ = ["enqueue"]


@shared_task(acks_late=True)
def refresh_summaries() -> dict:
    result = summaries.refresh()
    return {"days": result.days, "seconds": result.seconds, "skipped": result.skipped}


@shared_task(acks_late=True)
def rebuild_summaries() -> float:
    return summaries.rebuild()


@shared_task(acks_late=True)
def generate_monthly_report() -> str:
    """On the 1st of each month: the report of the month that just ended."""
    month = reports.previous_month(timezone.localtime(timezone.now(), local_tz()).date())
    return str(reports.generate(month))


@shared_task(acks_late=True)
def deliver_pending_reports() -> dict:
    return reports.deliver_many(reports.pending_deliveries())
