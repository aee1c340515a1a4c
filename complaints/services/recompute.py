"""Recomputing open complaints' deadlines after a configuration change, in the background.

The admin request only records a RecomputeJob and, after commit, enqueues the id-based task;
the task runs the job in bounded batches, each in its own durable transaction with the rows
locked, recording progress on the job (shown in the admin). A complaint that cannot be
loaded or recomputed is recorded on the job and skipped. Safe to run twice, concurrently
(one worker claims the job) or after a crash (the next run continues after the last
committed batch; `run_unfinished` picks up jobs whose task was lost).
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..messages import is_stored
from ..models import OPEN_STATUSES, Complaint, ComplaintEvent, RecomputeJob
from . import sla
from .isolation import describe, load_each

log = logging.getLogger(__name__)

BATCH_SIZE = 500
STALE_AFTER = timedelta(minutes=10)  # a running job without progress this long lost its worker
MAX_ERRORS = 100  # errors kept on the job (the count is complete)
Status = RecomputeJob.Status


def create_job(
    *,
    reason,
    actor=None,
    calendar_id: int | None = None,
    severity: int | None = None,
    customer_id: int | None = None,
    provisional_only: bool = False,
) -> RecomputeJob:
    """Record the work (no filter: every open complaint). Use `schedule_recompute` to have it
    run after the current transaction commits."""
    scope = {
        key: value
        for key, value in (
            ("calendar_id", calendar_id),
            ("severity", severity),
            ("customer_id", customer_id),
            ("provisional_only", provisional_only),
        )
        if value not in (None, False)
    }
    return RecomputeJob.objects.create(
        reason=reason if is_stored(reason) else str(reason),
        scope=scope,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def schedule_recompute(**kwargs) -> RecomputeJob:
    """create_job(...) and run it in a worker once the caller's transaction has committed."""
    from ..tasks import enqueue, run_recompute_job

    job = create_job(**kwargs)
    transaction.on_commit(lambda: enqueue(run_recompute_job, job.pk))
    return job


def affected(scope: dict):
    rows = Complaint.objects.filter(status__in=OPEN_STATUSES)
    if scope.get("provisional_only"):
        rows = rows.filter(deadline_provisional=True)
    if scope.get("severity") is not None:
        rows = rows.filter(severity=scope["severity"])
    if scope.get("calendar_id") is not None:
        rows = rows.filter(sla_policy__calendar_id=scope["calendar_id"])
    if scope.get("customer_id") is not None:
        rows = rows.filter(customer_id=scope["customer_id"])
    return rows


def _claim(job_id: int, now: datetime) -> bool:
    free = Q(status=Status.PENDING) | Q(status=Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    return bool(
        RecomputeJob.objects.filter(free, pk=job_id).update(
            status=Status.RUNNING, heartbeat_at=now, started_at=Coalesce(F("started_at"), now)
        )
    )


def run_job(job_id: int, *, batch_size: int = BATCH_SIZE) -> RecomputeJob | None:
    """Run (or continue) a job; None if another worker has it or it is finished."""
    if not _claim(job_id, timezone.now()):
        return None
    job = RecomputeJob.objects.select_related("created_by").get(pk=job_id)
    if job.total is None:
        # Counted once, in the worker (never in the request), for the progress display.
        job.total = affected(job.scope).count()
        RecomputeJob.objects.filter(pk=job.pk).update(total=job.total)
    ctx = sla.Context.load()
    while _run_batch(job, ctx, batch_size=batch_size):
        pass
    now = timezone.now()
    RecomputeJob.objects.filter(pk=job.pk).update(
        status=Status.DONE, finished_at=now, heartbeat_at=now
    )
    job.status, job.finished_at = Status.DONE, now
    log.info("Recompute job %s done: %s moved, %s failed", job.pk, job.moved, job.failed)
    return job


def _run_batch(job: RecomputeJob, ctx: sla.Context, *, batch_size: int) -> bool:
    """One batch in its own durable transaction; False when nothing is left."""
    with transaction.atomic(durable=True):
        now = timezone.now()
        ids = list(
            affected(job.scope)
            .filter(pk__gt=job.last_pk)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return False
        batch, failed = load_each(Complaint.objects.select_related("customer"), ids)
        changed_rows, events = [], []
        for complaint in batch:
            try:
                changes, event = sla.recompute_one(
                    complaint, ctx, reason=job.reason, user=job.created_by, now=now
                )
            except Exception as exc:  # noqa: BLE001 - recorded on the job, the rest go on
                failed[complaint.pk] = exc
                continue
            if changes:
                changed_rows.append(complaint)
            if event is not None:
                complaint.updated_at = now
                events.append(event)
        if changed_rows:
            Complaint.objects.bulk_update(changed_rows, [*sla.DEADLINE_FIELDS, "updated_at"])
            ComplaintEvent.objects.bulk_create(events)
        for pk, exc in failed.items():
            log.error("Recompute job %s skipped complaint %s: %s", job.pk, pk, describe(exc))
        room = max(MAX_ERRORS - len(job.errors), 0)
        job.errors = job.errors + [
            {"complaint": pk, "error": describe(exc)} for pk, exc in list(failed.items())[:room]
        ]
        job.last_pk = ids[-1]
        job.done += len(ids)
        job.moved += len(events)
        job.failed += len(failed)
        job.heartbeat_at = now
        job.save(update_fields=["errors", "last_pk", "done", "moved", "failed", "heartbeat_at"])
    return True


def run_unfinished(*, now: datetime | None = None) -> int:
    """Run jobs whose task was lost (broker down at commit) or whose worker died."""
    now = now or timezone.now()
    waiting = Q(status=Status.PENDING, created_at__lt=now - timedelta(minutes=1)) | Q(
        status=Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    )
    ids = list(
        RecomputeJob.objects.filter(waiting).order_by("created_at").values_list("pk", flat=True)
    )
    return sum(1 for job_id in ids if run_job(job_id) is not None)
