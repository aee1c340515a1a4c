"""Celery tasks of reporting: thin wrappers around the services, safe to run twice."""

from celery import shared_task
from django.utils import timezone

from complaints.tasks import enqueue

from .kpis import local_tz
from .services import reports, summaries

__all__ = ["enqueue"]


@shared_task(acks_late=True)
def refresh_summaries() -> dict:
    """Every minute; the first run (or the first after a migration added measures) builds
    everything, unless a rebuild is under way."""
    result = summaries.refresh()
    if result.skipped == "never built" and summaries.state().rebuild_started_at is None:
        return {"rebuilt_seconds": summaries.rebuild()}
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
