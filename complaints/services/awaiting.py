"""Awaiting customer: the follow-up date, its reminder, and closing after a long silence.

- Entering "awaiting customer" (lifecycle.transition) opens an AwaitingPeriod with the
  follow-up date the handler gave (default: REDRESS_AWAITING_FOLLOW_UP_DAYS ahead); leaving
  the status ends it. A contact logged while waiting restarts the customer's silence.
- `sweep()` (beat, every minute) reminds the assignee (or, without one, the department) on
  the follow-up date at 09:00 local time: one DeadlineAlert of kind "awaiting" per
  complaint and reminder time (unique in the database) with its inbox entries, timeline
  entry and email (delivered by the deadline alerts' delivery). The period's `reminded_at`
  is set in the same transaction, so a killed or retried worker reminds exactly once.
- With REDRESS_AWAITING_AUTO_CLOSE_DAYS > 0 the sweep closes complaints whose customer has
  been silent that many days (a stored-message timeline entry says why). This bypasses the
  return-visit requirement on purpose: that verifies a resolution, and there was none.

Both parts are set-based: rows are claimed in batches (SKIP LOCKED on PostgreSQL) and
written with a constant number of statements per batch. A batch that fails is processed
again row by row in savepoints; a row that still fails gets its error and failure count
stored and is retried later with a doubling delay, and the others go on.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..messages import stored
from ..models import (
    AwaitingPeriod,
    Complaint,
    ComplaintEvent,
    DeadlineAlert,
    DepartmentMembership,
    Notification,
    Status,
)
from . import alerts, sla
from .bulk import update_rows
from .errors import ServiceError
from .isolation import describe, load_each

log = logging.getLogger(__name__)

BATCH_SIZE = 500
REMIND_AT = time(9, 0)  # the start of a normal working day, local time
MAX_AHEAD_DAYS = 180
FAILURE_RETRY = timedelta(minutes=5)
FAILURE_RETRY_MAX = timedelta(days=1)


def default_follow_up(now: datetime | None = None) -> date:
    now = now or timezone.now()
    return timezone.localdate(now) + timedelta(days=settings.REDRESS_AWAITING_FOLLOW_UP_DAYS)


def check_follow_up(follow_up_on: date, *, now: datetime) -> None:
    today = timezone.localdate(now)
    if follow_up_on < today:
        raise ServiceError(_("The follow-up date cannot be in the past."))
    if follow_up_on > today + timedelta(days=MAX_AHEAD_DAYS):
        raise ServiceError(
            _("Choose a follow-up date within %(days)d days.") % {"days": MAX_AHEAD_DAYS}
        )


def remind_time(follow_up_on: date, *, now: datetime) -> datetime:
    """09:00 local time on the follow-up date (at once if that has passed today)."""
    at = datetime.combine(follow_up_on, REMIND_AT, tzinfo=timezone.get_current_timezone())
    return max(at, now)


def auto_close_days() -> int:
    return max(int(settings.REDRESS_AWAITING_AUTO_CLOSE_DAYS or 0), 0)


# -- called by lifecycle inside its transaction (complaint row locked) -------------------------


def start(complaint: Complaint, *, user, now: datetime, follow_up_on: date | None) -> None:
    follow_up_on = follow_up_on or default_follow_up(now)
    AwaitingPeriod.objects.filter(complaint=complaint, ended_at__isnull=True).update(
        ended_at=now, end=AwaitingPeriod.End.LEFT
    )  # none is open normally; never two
    AwaitingPeriod.objects.create(
        complaint=complaint,
        started_at=now,
        started_by=user,
        follow_up_on=follow_up_on,
        remind_at=remind_time(follow_up_on, now=now),
        silent_since=now,
    )


def finish(complaint_id: int, *, now: datetime) -> None:
    AwaitingPeriod.objects.filter(complaint_id=complaint_id, ended_at__isnull=True).update(
        ended_at=now, end=AwaitingPeriod.End.LEFT
    )


def contact_logged(complaint_id: int, *, contacted_at: datetime) -> None:
    """A contact with the customer while waiting: the silence counts from it."""
    AwaitingPeriod.objects.filter(complaint_id=complaint_id, ended_at__isnull=True).update(
        silent_since=Greatest("silent_since", contacted_at)
    )


def reschedule(
    complaint_id: int, *, user, follow_up_on: date, now: datetime | None = None
) -> AwaitingPeriod:
    """Move the follow-up date of the current wait; its reminder comes on the new date (also
    when the old one was already sent)."""
    now = now or timezone.now()
    if user is None or not user.has_perm("complaints.change_complaint"):
        raise ServiceError(_("You do not have permission to do this."))
    check_follow_up(follow_up_on, now=now)
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().get(pk=complaint_id)
        period = (
            AwaitingPeriod.objects.select_for_update()
            .filter(complaint=complaint, ended_at__isnull=True)
            .first()
        )
        if complaint.status != Status.AWAITING_CUSTOMER or period is None:
            raise ServiceError(_("The complaint is not waiting for the customer."))
        if period.follow_up_on == follow_up_on:
            return period
        old = period.follow_up_on
        period.follow_up_on = follow_up_on
        period.remind_at = remind_time(follow_up_on, now=now)
        period.reminded_at = period.alert = period.retry_at = None
        period.failures, period.last_error = 0, ""
        period.save()
        ComplaintEvent.objects.create(
            complaint=complaint,
            kind=ComplaintEvent.Kind.DEADLINES,
            actor=user,
            created_at=now,
            data={
                "message": stored(
                    gettext_noop("Follow-up date moved from %(old)s to %(new)s."),
                    old=old.isoformat(),
                    new=follow_up_on.isoformat(),
                ),
                "follow_up_on": follow_up_on.isoformat(),
            },
        )
        Complaint.objects.filter(pk=complaint.pk).update(updated_at=now)
    return period


def current(complaint: Complaint) -> AwaitingPeriod | None:
    if complaint.status != Status.AWAITING_CUSTOMER:
        return None
    return (
        AwaitingPeriod.objects.filter(complaint=complaint, ended_at__isnull=True)
        .order_by("-started_at")
        .first()
    )


def close_due_at(period: AwaitingPeriod) -> datetime | None:
    days = auto_close_days()
    return period.silent_since + timedelta(days=days) if days else None


# -- the sweep ----------------------------------------------------------------------------------


@dataclass
class SweepResult:
    reminded: int = 0
    closed: int = 0
    failed: int = 0
    alert_ids: list[int] = field(default_factory=list)


def _ready(now: datetime) -> Q:
    return Q(ended_at__isnull=True) & (Q(retry_at__isnull=True) | Q(retry_at__lte=now))


def _claim(rows, order: str, batch_size: int) -> list[int]:
    """Ids only (a row whose values cannot be read must not fail the claim of the others)."""
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    else:
        rows = rows.select_for_update()
    return list(rows.order_by(order, "pk").values_list("pk", flat=True)[:batch_size])


def _isolated(process, periods: list, now: datetime) -> tuple[list, list, dict]:
    """process(periods) -> (handled period ids, results) for the batch; if it fails, period
    by period in savepoints. Returns (handled ids, results, {period id: error})."""
    try:
        with transaction.atomic():
            handled, done = process(periods, now)
            return handled, done, {}
    except Exception:  # noqa: BLE001 - isolate below, row by row
        log.warning("Awaiting sweep: batch failed, processing its rows one by one")
    handled, done, failed = [], [], {}
    for period in periods:
        try:
            with transaction.atomic():
                fresh = AwaitingPeriod.objects.select_related("complaint").get(pk=period.pk)
                one_handled, one_done = process([fresh], now)
        except Exception as exc:  # noqa: BLE001 - one bad row never stops the sweep
            failed[period.pk] = exc
        else:
            handled += one_handled
            done += one_done
    return handled, done, failed


def _mark_failed(failed: dict[int, BaseException], now: datetime) -> None:
    counts = dict(AwaitingPeriod.objects.filter(pk__in=list(failed)).values_list("pk", "failures"))
    for pk, exc in failed.items():
        log.error("Awaiting sweep skipped period %s: %s", pk, describe(exc), exc_info=exc)
        failures = min(counts.get(pk, 0) + 1, 32767)
        delay = min(FAILURE_RETRY * 2 ** min(failures - 1, 20), FAILURE_RETRY_MAX)
        AwaitingPeriod.objects.filter(pk=pk).update(
            failures=failures, last_error=describe(exc), retry_at=now + delay
        )


def _recipients(periods: list[AwaitingPeriod]) -> tuple[dict[int, list[int]], dict[int, str]]:
    """Per period: the assignee, else (none, or no longer active) the department's active
    members; and the active recipients' emails. Two queries for the batch."""
    departments = {p.complaint.department_id for p in periods if p.complaint.department_id}
    members: dict[int, list[int]] = {}
    rows = DepartmentMembership.objects.filter(
        department_id__in=departments, user__is_active=True
    ).order_by("pk")
    for department_id, user_id in rows.values_list("department_id", "user_id"):
        members.setdefault(department_id, []).append(user_id)
    assignees = {p.complaint.assignee_id for p in periods if p.complaint.assignee_id}
    ids = assignees | {u for users in members.values() for u in users}
    emails = dict(
        get_user_model().objects.filter(pk__in=ids, is_active=True).values_list("pk", "email")
    )
    found = {}
    for period in periods:
        assignee = period.complaint.assignee_id
        users = (
            [assignee] if assignee in emails else members.get(period.complaint.department_id, [])
        )
        found[period.pk] = list(dict.fromkeys(u for u in users if u in emails))
    return found, emails


def _remind(periods: list[AwaitingPeriod], now: datetime) -> tuple[list[int], list[int]]:
    """Write the reminders of these claimed periods; return (period ids, new alert ids)."""
    periods = [p for p in periods if p.complaint.status == Status.AWAITING_CUSTOMER]
    if not periods:
        return [], []
    existing = {
        (cid, deadline): pk
        for pk, cid, deadline in DeadlineAlert.objects.filter(
            complaint_id__in=[p.complaint_id for p in periods],
            kind=DeadlineAlert.Kind.FOLLOW_UP,
        ).values_list("pk", "complaint_id", "deadline")
    }
    recipients, emails = _recipients(periods)
    new, fresh_periods = [], []
    for period in periods:
        key = (period.complaint_id, period.remind_at)
        if key in existing:  # written before (e.g. by a worker that died after it): link it
            period.alert_id = existing[key]
            continue
        users = recipients[period.pk]
        addresses = list(dict.fromkeys(emails[u] for u in users if emails[u]))
        alert = DeadlineAlert(
            complaint_id=period.complaint_id,
            kind=DeadlineAlert.Kind.FOLLOW_UP,
            level=DeadlineAlert.Level.WARNING,
            deadline=period.remind_at,
            created_at=now,
            recipients=users,
            emails=addresses,
            delivery=DeadlineAlert.Delivery.PENDING if addresses else DeadlineAlert.Delivery.NONE,
        )
        new.append(alert)
        fresh_periods.append(period)
    DeadlineAlert.objects.bulk_create(new)
    notifications, events = [], []
    for period, alert in zip(fresh_periods, new, strict=True):
        period.alert_id = alert.pk
        message = stored(
            gettext_noop(
                "Follow up with the customer: %(reference)s has been waiting since %(since)s "
                "(follow-up date %(date)s)."
            ),
            reference=period.complaint.reference,
            since=f"{timezone.localtime(period.started_at):%Y-%m-%d}",
            date=period.follow_up_on.isoformat(),
        )
        inbox, event = alerts.announce(alert, message, now)
        notifications += inbox
        events.append(event)
    Notification.objects.bulk_create(notifications)
    ComplaintEvent.objects.bulk_create(events)
    for period in periods:
        period.reminded_at, period.failures, period.last_error, period.retry_at = now, 0, "", None
    update_rows(
        AwaitingPeriod, periods, ["reminded_at", "alert", "failures", "last_error", "retry_at"]
    )
    Complaint.objects.filter(pk__in=[p.complaint_id for p in fresh_periods]).update(updated_at=now)
    return [p.pk for p in periods], [alert.pk for alert in new]


def _close(periods: list[AwaitingPeriod], now: datetime) -> tuple[list[int], list[int]]:
    """Close the complaints of these claimed, silent periods; return (period ids, closed
    complaint ids)."""
    days = auto_close_days()
    ids = [p.complaint_id for p in periods]
    rows = Complaint.objects.filter(pk__in=ids, status=Status.AWAITING_CUSTOMER)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))  # someone is editing it
    else:
        rows = rows.select_for_update()
    complaints = {c.pk: c for c in rows.order_by("pk")}
    closed, events, ended = [], [], []
    for period in periods:
        complaint = complaints.get(period.complaint_id)
        if complaint is None:
            continue  # locked by someone right now (next sweep), or no longer waiting
        sla.resume(complaint, now=now)  # the pause ends; closed complaints have no deadline
        complaint.status = Status.CLOSED
        complaint.closed_at = now
        complaint.due_at = complaint.next_alert_at = None
        complaint.version += 1
        complaint.updated_at = now
        closed.append(complaint)
        events.append(
            ComplaintEvent(
                complaint=complaint,
                kind=ComplaintEvent.Kind.STATUS,
                created_at=now,
                from_status=Status.AWAITING_CUSTOMER,
                to_status=Status.CLOSED,
                data={
                    "automatic": True,
                    "message": stored(
                        gettext_noop(
                            "Closed automatically: no answer from the customer for %(days)s "
                            "days (silent since %(since)s). Reopen it if the customer comes "
                            "back."
                        ),
                        days=days,
                        since=f"{timezone.localtime(period.silent_since):%Y-%m-%d %H:%M}",
                    ),
                },
            )
        )
        period.ended_at, period.end = now, AwaitingPeriod.End.AUTO_CLOSED
        period.failures, period.last_error, period.retry_at = 0, "", None
        ended.append(period)
    update_rows(
        Complaint,
        closed,
        [
            "status",
            "closed_at",
            "sla_paused_at",
            "sla_pauses",
            "due_at",
            "next_alert_at",
            "version",
            "updated_at",
        ],
    )
    ComplaintEvent.objects.bulk_create(events)
    update_rows(AwaitingPeriod, ended, ["ended_at", "end", "failures", "last_error", "retry_at"])
    return [p.pk for p in ended], [c.pk for c in closed]


def _run(rows, order, process, now, batch_size, result, on_batch=None) -> list:
    """Claim, load and process batches until none is left. A claimed row that was neither
    handled nor failed (its complaint is locked by someone this moment) is left for the next
    sweep, not claimed again in this one."""
    done_all, passed = [], set()
    while True:
        with transaction.atomic():
            ids = _claim(rows.exclude(pk__in=passed) if passed else rows, order, batch_size)
            if not ids:
                return done_all
            periods, failed = load_each(AwaitingPeriod.objects.select_related("complaint"), ids)
            handled, done, failed_processing = _isolated(process, periods, now)
            failed.update(failed_processing)
            if failed:
                _mark_failed(failed, now)
            passed.update(set(ids) - set(handled) - set(failed))
            if on_batch and done:
                transaction.on_commit(lambda done=done: on_batch(done))
        result.failed += len(failed)
        done_all += done


def sweep(*, now: datetime | None = None, batch_size: int = BATCH_SIZE, on_alerts=None):
    """Send the follow-up reminders that have come, then close silent waits (if enabled).
    Safe to run twice, concurrently, or after a crash; `on_alerts(ids)` runs after each
    batch commits (the task enqueues the emails there)."""
    now = now or timezone.now()
    result = SweepResult()
    due = AwaitingPeriod.objects.filter(
        _ready(now), reminded_at__isnull=True, remind_at__lte=now
    ).filter(complaint__status=Status.AWAITING_CUSTOMER)
    result.alert_ids = _run(due, "remind_at", _remind, now, batch_size, result, on_alerts)
    result.reminded = len(result.alert_ids)
    days = auto_close_days()
    if days:
        silent = AwaitingPeriod.objects.filter(
            _ready(now), silent_since__lte=now - timedelta(days=days)
        ).filter(complaint__status=Status.AWAITING_CUSTOMER)
        result.closed = len(_run(silent, "silent_since", _close, now, batch_size, result))
    return result


def open_missing_periods(*, now: datetime | None = None, batch_size: int = 2000) -> int:
    """Give complaints awaiting the customer without an open wait (written in bulk, e.g. by
    the demo data) one: waiting since the clock stopped, follow-up date the default ahead."""
    now = now or timezone.now()
    follow_up_on = default_follow_up(now)
    remind_at = remind_time(follow_up_on, now=now)
    missing = (
        Complaint.objects.filter(status=Status.AWAITING_CUSTOMER)
        .exclude(pk__in=AwaitingPeriod.objects.filter(ended_at__isnull=True).values("complaint_id"))
        .values_list("pk", "sla_paused_at", "updated_at")
    )
    rows = [
        AwaitingPeriod(
            complaint_id=pk,
            started_at=since or updated or now,
            follow_up_on=follow_up_on,
            remind_at=remind_at,
            silent_since=since or updated or now,
        )
        for pk, since, updated in missing.iterator(chunk_size=batch_size)
    ]
    AwaitingPeriod.objects.bulk_create(rows, batch_size=batch_size)
    return len(rows)
