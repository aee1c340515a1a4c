"""Deadline enforcement: reminders at the warning point, escalations after a missed deadline,
crisis notices, the staff inbox and email delivery (alone, or in digests: see digests.py).

The sweep claims open complaints whose `next_alert_at` has come (row locks, SKIP LOCKED on
PostgreSQL), writes one DeadlineAlert per (complaint, deadline, level, deadline instant) —
the unique constraint makes a second one impossible — plus inbox entries and timeline
events, moves `next_alert_at` on, and commits. Emails are sent afterwards from the alert
rows, so a lost task or a dead broker delays them but never loses them.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from ..messages import render, stored
from ..models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintEvent,
    DeadlineAlert,
    DepartmentMembership,
    DigestEntry,
    Notification,
    NotificationList,
    Severity,
    Status,
)
from . import digests, sla
from .bulk import update_rows
from .calendars import clock_for_policy
from .email import build_email
from .isolation import describe, load_each
from .money import label_msgid

log = logging.getLogger(__name__)

Kind, Level, Delivery = DeadlineAlert.Kind, DeadlineAlert.Level, DeadlineAlert.Delivery
BATCH_SIZE = 500
MAX_ATTEMPTS = 6  # 1, 2, 4, 8, 16 minutes apart, then "failed"
CLAIM_TIMEOUT = timedelta(minutes=10)  # a delivery "sending" this long died with its worker
# A complaint the sweep cannot process is tried again after 5 minutes, doubling up to a day.
FAILURE_RETRY = timedelta(minutes=5)
FAILURE_RETRY_MAX = timedelta(days=1)


@dataclass
class Audience:
    """Who is told what, loaded once per batch (a constant number of queries)."""

    heads: dict[int, list[int]] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)
    lists: dict[str, list[int]] = field(default_factory=dict)
    list_emails: dict[str, list[str]] = field(default_factory=dict)
    emails: dict[int, str] = field(default_factory=dict)  # active recipients: id -> email

    @classmethod
    def load(cls, departments: set[int]) -> "Audience":
        audience = cls()
        memberships = DepartmentMembership.objects.filter(
            department_id__in=departments, user__is_active=True
        ).values_list("department_id", "user_id", "role")
        for department_id, user_id, role in memberships.order_by("pk"):
            audience.members.setdefault(department_id, []).append(user_id)
            if role == DepartmentMembership.Role.HEAD:
                audience.heads.setdefault(department_id, []).append(user_id)
        for notification_list in NotificationList.objects.prefetch_related("users"):
            audience.lists[notification_list.code] = [
                u.pk for u in notification_list.users.all() if u.is_active
            ]
            audience.list_emails[notification_list.code] = notification_list.emails()
        return audience

    def load_users(self, ids: set[int]) -> None:
        users = get_user_model().objects.filter(pk__in=ids, is_active=True)
        self.emails = dict(users.values_list("pk", "email"))


def _points(complaint: Complaint, ctx: sla.Context) -> list[tuple[str, int, datetime, datetime]]:
    """(kind, level, when, deadline) of every alert point of the complaint's pending work."""
    points = []
    if complaint.severity == Severity.CRISIS:
        points.append((Kind.CRISIS, Level.WARNING, complaint.received_at, complaint.received_at))
    if complaint.status == Status.AWAITING_CUSTOMER:
        return points  # the clock stands; nothing falls due
    policy = ctx.policies.by_id.get(complaint.sla_policy_id)
    if policy is None:
        return points
    clock = clock_for_policy(policy, ctx.calendars)
    for kind, due_field, warn_field, met_field in sla.KINDS:
        due = getattr(complaint, due_field)
        if getattr(complaint, met_field) is not None or due is None:
            continue
        allowed = sla.allowance_seconds(
            getattr(policy, f"{kind}_amount"), getattr(policy, f"{kind}_unit"), clock
        )
        second = clock.add(due, allowed * policy.escalation_delay_percent // 100)
        warn = getattr(complaint, warn_field)
        if warn is not None:
            points.append((kind, Level.WARNING, warn, due))
        points += [(kind, Level.ESCALATION_1, due, due), (kind, Level.ESCALATION_2, second, due)]
    return points


def _recipients(complaint: Complaint, kind: str, level: int, audience: Audience) -> list[int]:
    department = complaint.department_id
    if kind == Kind.CRISIS:
        users = audience.lists.get(NotificationList.CRISIS, [])
    elif level == Level.WARNING:
        users = [complaint.assignee_id] if complaint.assignee_id else []
        users = users or audience.members.get(department, [])
    elif level == Level.ESCALATION_1:
        users = audience.heads.get(department) or audience.lists.get(NotificationList.MANAGERS, [])
    else:
        users = audience.lists.get(NotificationList.MANAGERS, [])
    if complaint.severity == Severity.CRISIS and level > Level.WARNING:
        # A new list: the ones above are shared by every complaint of the batch.
        users = [*users, *audience.lists.get(NotificationList.CRISIS, [])]
    return list(dict.fromkeys(users))  # unique, in order (always a fresh list)


def _list_emails(complaint: Complaint, kind: str, level: int, audience: Audience) -> list[str]:
    codes = []
    if kind == Kind.CRISIS or (complaint.severity == Severity.CRISIS and level > 0):
        codes.append(NotificationList.CRISIS)
    if level == Level.ESCALATION_2:
        codes.append(NotificationList.MANAGERS)
    return [email for code in codes for email in audience.list_emails.get(code, [])]


def alert_message(complaint: Complaint, kind: str, level: int) -> dict:
    """The inbox title and timeline text of an alert, as a stored message (shown in the
    reader's language, whoever's action or sweep wrote it)."""
    if kind == Kind.CRISIS:
        text = gettext_noop("Crisis: %(reference)s %(subject)s")
    elif kind == Kind.FOLLOW_UP:  # services/awaiting.py
        text = gettext_noop("Follow up with the customer: %(reference)s %(subject)s")
    elif level == Level.WARNING:
        text = gettext_noop("Reminder: %(what)s %(reference)s soon due")
    elif level == Level.ESCALATION_1:
        text = gettext_noop("Escalation: %(what)s %(reference)s overdue")
    else:
        text = gettext_noop("Second escalation: %(what)s %(reference)s still overdue")
    what = stored(label_msgid(Kind(kind).label))
    params = {"what": what, "reference": complaint.reference}
    if kind in (Kind.CRISIS, Kind.FOLLOW_UP):
        params["subject"] = complaint.subject[:200]
    return stored(text, **params)


def alert_title(complaint: Complaint, kind: str, level: int) -> str:
    """The alert's title in the active language (emails)."""
    return render(alert_message(complaint, kind, level))


def announce(
    alert: DeadlineAlert, message: dict, now: datetime
) -> tuple[list[Notification], ComplaintEvent]:
    """An alert's inbox entries (one per recipient) and its timeline entry, unsaved: the
    caller writes a batch's with bulk_create. `message` is a stored message."""
    notifications = [
        Notification(
            user_id=user_id,
            complaint_id=alert.complaint_id,
            alert=alert,
            title=message,
            created_at=now,
        )
        for user_id in alert.recipients
    ]
    event = ComplaintEvent(
        complaint_id=alert.complaint_id,
        kind=ComplaintEvent.Kind.ALERT,
        created_at=now,
        data={
            "message": message,
            "alert": alert.pk,
            "kind": alert.kind,
            "level": alert.level,
            "deadline": timezone.localtime(alert.deadline).isoformat(),
            "recipients": len(alert.recipients),
            "emails": len(alert.emails),
        },
    )
    return notifications, event


def process(complaints: list[Complaint], ctx: sla.Context, *, now: datetime) -> list[int]:
    """Write the alerts that have fallen due for locked complaints; return the new alert ids.

    Constant number of queries per batch, whatever its size."""
    if not complaints:
        return []
    ids = [c.pk for c in complaints]
    existing = set(
        DeadlineAlert.objects.filter(complaint_id__in=ids).values_list(
            "complaint_id", "kind", "level", "deadline"
        )
    )
    audience = Audience.load({c.department_id for c in complaints if c.department_id})
    levels: dict[tuple, int] = {}  # (complaint, kind, deadline) -> highest level sent
    for cid, kind, level, deadline in existing:
        key = (cid, kind, deadline)
        levels[key] = max(levels.get(key, 0), level)
    new_alerts, changed, reassigned = [], [], []
    for complaint in complaints:
        points = _points(complaint, ctx)
        upcoming = [when for _k, _l, when, _d in points if when > now]
        current = {(k, d) for k, _l, _w, d in points}
        for kind, level, when, deadline in points:
            key = (complaint.pk, kind, level, deadline)
            if when > now or key in existing:
                continue
            if level == Level.WARNING and kind != Kind.CRISIS and deadline <= now:
                continue  # no "due soon" once it is overdue: the escalation says more
            new_alerts.append(
                DeadlineAlert(
                    complaint=complaint,
                    kind=kind,
                    level=level,
                    deadline=deadline,
                    created_at=now,
                    recipients=_recipients(complaint, kind, level, audience),
                    emails=_list_emails(complaint, kind, level, audience),
                )
            )
            existing.add(key)
            levels[(complaint.pk, kind, deadline)] = max(
                levels.get((complaint.pk, kind, deadline), 0), level
            )
            if level == Level.ESCALATION_1 and kind != Kind.CRISIS:
                reassigned.append(complaint)
        level = max((levels.get((complaint.pk, k, d), 0) for k, d in current), default=0)
        complaint.next_alert_at = min(upcoming) if upcoming else None
        complaint.escalation_level = level  # for the deadlines still pending
        complaint.alert_failures, complaint.alert_error = 0, ""  # processed: clear any mark
        changed.append(complaint)
    audience.load_users({u for alert in new_alerts for u in alert.recipients})
    events, notifications = [], []
    for alert in new_alerts:
        alert.recipients = [u for u in alert.recipients if u in audience.emails]
        personal = [audience.emails[u] for u in alert.recipients if audience.emails[u]]
        alert.emails = list(dict.fromkeys(personal + alert.emails))
        if not alert.emails:
            alert.delivery = Delivery.NONE
        elif digests.window(alert) is not None:
            alert.delivery = Delivery.DIGEST  # one email per address, with its other alerts
        alert.complaint.updated_at = now
    DeadlineAlert.objects.bulk_create(new_alerts)
    DigestEntry.objects.bulk_create(digests.entries_for(new_alerts, now))
    for alert in new_alerts:
        inbox, event = announce(alert, alert_message(alert.complaint, alert.kind, alert.level), now)
        notifications += inbox
        events.append(event)
    events += _reassign_on_breach(reassigned, ctx, audience, now=now)
    Notification.objects.bulk_create(notifications)
    ComplaintEvent.objects.bulk_create(events)
    update_rows(  # one UPDATE ... FROM (VALUES ...), not bulk_update's CASE per row
        Complaint,
        changed,
        [
            "next_alert_at",
            "escalation_level",
            "assignee",
            "updated_at",
            "version",
            "alert_failures",
            "alert_error",
        ],
    )
    return [alert.pk for alert in new_alerts]


def _reassign_on_breach(complaints, ctx, audience, *, now) -> list[ComplaintEvent]:
    """Policies may hand a complaint to the department head when a deadline is missed."""
    events = []
    for complaint in dict.fromkeys(complaints):
        policy = ctx.policies.by_id.get(complaint.sla_policy_id)
        heads = audience.heads.get(complaint.department_id) or []
        if not (policy and policy.reassign_on_breach and heads) or complaint.assignee_id in heads:
            continue
        old = complaint.assignee_id
        complaint.assignee_id = heads[0]
        complaint.updated_at = now
        complaint.version += 1  # an edit form opened before this must not undo it silently
        events.append(
            ComplaintEvent(
                complaint=complaint,
                kind=ComplaintEvent.Kind.ASSIGNMENT,
                created_at=now,
                data={
                    "assignee": [old, heads[0]],
                    "automatic": True,
                    "message": stored(
                        gettext_noop(
                            "Deadline missed: reassigned to the department head by the SLA policy."
                        )
                    ),
                },
            )
        )
    return events


def _claim(now: datetime, batch_size: int) -> list[int]:
    """Lock the ids of the next due complaints (only ids: a row whose values cannot be read
    must not fail the claim for all the others)."""
    rows = Complaint.objects.filter(status__in=OPEN_STATUSES, next_alert_at__lte=now)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return list(rows.order_by("next_alert_at").values_list("pk", flat=True)[:batch_size])


def _process_isolated(
    batch: list[Complaint], ctx: sla.Context, now: datetime
) -> tuple[list[int], dict[int, BaseException]]:
    """process() for the whole batch; if it fails, again complaint by complaint (freshly
    loaded: the failed attempt may have changed the instances) in savepoints."""
    try:
        with transaction.atomic():
            return process(batch, ctx, now=now), {}
    except Exception:  # noqa: BLE001 - isolate below, complaint by complaint
        log.warning("Deadline sweep: batch failed, processing its complaints one by one")
    alert_ids, failed = [], {}
    for complaint in batch:
        try:
            with transaction.atomic():
                alert_ids += process([Complaint.objects.get(pk=complaint.pk)], ctx, now=now)
        except Exception as exc:  # noqa: BLE001 - one bad row never stops the sweep
            failed[complaint.pk] = exc
    return alert_ids, failed


def _mark_failed(failed: dict[int, BaseException], now: datetime) -> None:
    """Record the error on the complaint (visible in the admin) and try it again later, with
    a delay that doubles with each failure in a row (5 minutes up to a day)."""
    counts = dict(Complaint.objects.filter(pk__in=list(failed)).values_list("pk", "alert_failures"))
    for pk, exc in failed.items():
        log.error("Deadline sweep skipped complaint %s: %s", pk, describe(exc), exc_info=exc)
        failures = min(counts.get(pk, 0) + 1, 32767)
        delay = min(FAILURE_RETRY * 2 ** min(failures - 1, 20), FAILURE_RETRY_MAX)
        Complaint.objects.filter(pk=pk).update(
            alert_failures=failures, alert_error=describe(exc), next_alert_at=now + delay
        )


@dataclass
class SweepResult:
    complaints: int = 0
    alerts: int = 0
    failed: int = 0
    alert_ids: list[int] = field(default_factory=list)


def sweep(*, now: datetime | None = None, batch_size: int = BATCH_SIZE, on_batch=None):
    """Process every open complaint whose next alert point has come, in bounded batches.

    Each batch is its own transaction; `on_batch(alert_ids)` runs after it commits (the
    task enqueues email delivery there). Safe to run twice, concurrently, or after a crash.
    A complaint that cannot be loaded or processed is marked (`alert_failures`,
    `alert_error`), pushed back, and the others go on.
    """
    now = now or timezone.now()
    ctx = sla.Context.load()
    result = SweepResult()
    while True:
        with transaction.atomic():
            ids = _claim(now, batch_size)
            if not ids:
                return result
            batch, failed = load_each(Complaint.objects.order_by("next_alert_at"), ids)
            alert_ids, failed_processing = _process_isolated(batch, ctx, now)
            failed.update(failed_processing)
            if failed:
                _mark_failed(failed, now)
            if on_batch and alert_ids:
                transaction.on_commit(lambda ids=alert_ids: on_batch(ids))
        result.complaints += len(ids) - len(failed)
        result.failed += len(failed)
        result.alerts += len(alert_ids)
        result.alert_ids += alert_ids


def process_one(complaint_id: int, *, now: datetime | None = None) -> list[int]:
    """The sweep for a single complaint (e.g. a crisis notice right after intake)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = Complaint.objects.filter(
            pk=complaint_id, status__in=OPEN_STATUSES, next_alert_at__lte=now
        ).select_for_update(of=("self",))
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            return []
        batch, failed = load_each(Complaint.objects.all(), ids)
        alert_ids, failed_processing = _process_isolated(batch, sla.Context.load(), now)
        failed.update(failed_processing)
        if failed:
            _mark_failed(failed, now)
        return alert_ids


# -- email delivery ---------------------------------------------------------------------


def _deliverable(now: datetime) -> Q:
    """Emails due now: never sent, due for a retry, or claimed by a worker that died."""
    ready = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(delivery=Delivery.PENDING) | Q(
        delivery=Delivery.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    return free & ready


def _claim_delivery(alert_id: int, now: datetime) -> bool:
    """Take an alert's email for sending (one worker at a time; a dead worker's claim
    expires)."""
    return bool(
        DeadlineAlert.objects.filter(_deliverable(now), pk=alert_id).update(
            delivery=Delivery.SENDING, claimed_at=now
        )
    )


def render_email(alert: DeadlineAlert) -> EmailMultiAlternatives:
    """A bilingual email (Chinese first, then English); headers normalised by build_email."""
    complaint = alert.complaint
    parts = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            parts.append(
                {
                    "title": alert_title(complaint, alert.kind, alert.level),
                    "body": render_to_string(
                        "complaints/email/alert.txt",
                        {
                            "alert": alert,
                            "complaint": complaint,
                            "kind": Kind(alert.kind).label,
                            "level": Level(alert.level).label,
                            "severity": complaint.get_severity_display(),
                            "status": complaint.get_status_display(),
                            "link": f"{settings.REDRESS_BASE_URL}/admin/complaints/complaint/"
                            f"{complaint.pk}/change/",
                        },
                    ),
                }
            )
    subject = f"[Redress] {parts[0]['title']} / {parts[1]['title']}"
    body = "\n\n----------------------------------------\n\n".join(p["body"] for p in parts)
    return build_email(subject=subject, body=body, to=alert.emails)


def deliver(alert_id: int, *, now: datetime | None = None) -> str:
    """Send one alert's email; on any failure (transport, rendering, a row that cannot be
    read) record the error and schedule a retry with exponential backoff."""
    now = now or timezone.now()
    if not _claim_delivery(alert_id, now):
        return "skipped"
    attempts = (
        DeadlineAlert.objects.filter(pk=alert_id).values_list("attempts", flat=True).first() or 0
    ) + 1
    try:
        with transaction.atomic():  # a failed read must not break an enclosing transaction
            alert = DeadlineAlert.objects.select_related("complaint").get(pk=alert_id)
            message = render_email(alert)
        message.send()
    except Exception as exc:  # noqa: BLE001 - any error is recorded and retried, never raised
        failed = attempts >= MAX_ATTEMPTS
        DeadlineAlert.objects.filter(pk=alert_id).update(
            attempts=attempts,
            delivery=Delivery.FAILED if failed else Delivery.PENDING,
            next_attempt_at=None if failed else now + timedelta(minutes=2 ** (attempts - 1)),
            last_error=describe(exc),
        )
        log.warning("Email for alert %s failed (attempt %s): %s", alert_id, attempts, exc)
        return "failed" if failed else "retry"
    DeadlineAlert.objects.filter(pk=alert_id).update(
        delivery=Delivery.SENT, sent_at=now, attempts=attempts, last_error=""
    )
    return "sent"


def pending_deliveries(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Alerts whose email is due: never sent, due for a retry, or claimed by a dead worker."""
    now = now or timezone.now()
    return list(
        DeadlineAlert.objects.filter(_deliverable(now))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def retry_deliveries(alert_ids) -> int:
    """Staff asked to send these emails again now (pending or failed ones; an alert a worker
    has claimed or sent meanwhile is left alone). Returns how many were queued."""
    retryable = [Delivery.PENDING, Delivery.FAILED]
    in_digests = digests.requeue(alert_ids)  # failed digest alerts: their failed entries
    ids = list(
        DeadlineAlert.objects.filter(pk__in=list(alert_ids), delivery__in=retryable).values_list(
            "pk", flat=True
        )
    )
    count = DeadlineAlert.objects.filter(pk__in=ids, delivery__in=retryable).update(
        delivery=Delivery.PENDING, next_attempt_at=None
    ) + len(in_digests)
    ids += in_digests
    if count:
        from ..tasks import deliver_alerts, enqueue

        transaction.on_commit(lambda: enqueue(deliver_alerts, ids))
    return count


def deliver_many(alert_ids, *, now: datetime | None = None) -> dict[str, int]:
    """Deliver each alert on its own: one failure never blocks the others."""
    outcome: dict[str, int] = {}
    for alert_id in alert_ids:
        try:
            result = deliver(alert_id, now=now)
        except Exception:  # noqa: BLE001 - e.g. the database hiccuped on this one: go on
            log.exception("Delivery of alert %s failed unexpectedly", alert_id)
            result = "error"
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


def notify_soon(complaint: Complaint) -> None:
    """After commit, let a worker process this complaint now (e.g. the crisis notice) rather
    than at the next sweep. If the broker is down the sweep still does it within a minute."""
    from ..tasks import enqueue, process_complaint

    complaint_id = complaint.pk
    transaction.on_commit(lambda: enqueue(process_complaint, complaint_id))
