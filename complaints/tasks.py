"""Celery tasks: thin wrappers that call services. Each is safe to run twice, concurrently or
after a crash; the state they act on lives in the database."""

import logging
import time
from collections import Counter

from celery import shared_task

from .services import (
    alerts,
    awaiting,
    compensation_alerts,
    digests,
    incidents,
    recompute,
    severity,
)

log = logging.getLogger(__name__)


def enqueue(task, *args) -> bool:
    """Send a task without ever failing the caller: if the broker is unreachable the periodic
    sweep and delivery tasks pick the work up from the database later."""
    try:
        task.apply_async(args=args, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker error; the database has the state
        log.warning("Could not enqueue %s%s: %s", task.name, args, exc)
        return False
    return True


def _deliver_later(alert_ids) -> None:
    enqueue(deliver_alerts, list(alert_ids))


@shared_task(acks_late=True)
def sweep_deadlines() -> dict:
    result = alerts.sweep(on_batch=_deliver_later)
    return {"complaints": result.complaints, "alerts": result.alerts}


@shared_task(acks_late=True)
def process_complaint(complaint_id: int) -> int:
    alert_ids = alerts.process_one(complaint_id)
    if alert_ids:
        _deliver_later(alert_ids)
    return len(alert_ids)


@shared_task(acks_late=True)
def deliver_alerts(alert_ids: list[int]) -> dict:
    """These alerts' emails: the single ones, and the digests of their addresses now due."""
    outcome = alerts.deliver_many(digests.single_deliveries(alert_ids))
    return outcome | digests.deliver_digests(digests.pending_digests(alert_ids=alert_ids))


# Beat starts the delivery sweep every minute: one run stops taking new pages after this long.
DELIVERY_SECONDS = 45
DELIVERY_PAGE = 1000


@shared_task(acks_late=True)
def deliver_pending_alerts() -> dict:
    """Beat's minutely delivery: retries, emails of lost tasks, and every digest now due, a
    page at a time until none is left (or DELIVERY_SECONDS have passed: the next run goes
    on). A worker that died after a sweep had committed several batches leaves more than a
    page of alerts whose delivery tasks were never sent; they go out in this run, not one
    page a minute."""
    outcome: Counter = Counter()
    started = time.monotonic()
    while True:
        ids = alerts.pending_deliveries(limit=DELIVERY_PAGE)
        addresses = digests.pending_digests(limit=DELIVERY_PAGE)
        outcome.update(alerts.deliver_many(ids))
        outcome.update(digests.deliver_digests(addresses))
        full = len(ids) == DELIVERY_PAGE or len(addresses) == DELIVERY_PAGE
        if not full or time.monotonic() - started > DELIVERY_SECONDS:
            return dict(outcome)


@shared_task(acks_late=True)
def reevaluate_severity() -> int:
    return severity.reevaluate_open()


@shared_task(acks_late=True)
def run_recompute_job(job_id: int) -> dict | None:
    job = recompute.run_job(job_id)
    return None if job is None else {"done": job.done, "moved": job.moved, "failed": job.failed}


@shared_task(acks_late=True)
def run_unfinished_recompute_jobs() -> int:
    return recompute.run_unfinished()


@shared_task(acks_late=True)
def sweep_compensation_approvals() -> dict:
    return compensation_alerts.sweep()


@shared_task(acks_late=True)
def deliver_approval_alerts(alert_ids: list[int]) -> dict:
    return compensation_alerts.deliver_many(alert_ids)


@shared_task(acks_late=True)
def apply_incident_remedy(remedy_id: int) -> int:
    return incidents.apply_remedy(remedy_id)


@shared_task(acks_late=True)
def sweep_awaiting() -> dict:
    """Follow-up reminders of complaints awaiting the customer, and auto-close (if on)."""
    result = awaiting.sweep(on_alerts=_deliver_later)
    return {"reminded": result.reminded, "closed": result.closed, "failed": result.failed}
