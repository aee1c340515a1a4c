"""Approval notices: who must approve a compensation hears of it exactly once (inbox and
email), and a proposal left waiting longer than REDRESS_APPROVAL_ESCALATION_HOURS is escalated
once to the department head(s) and the complaint managers.

One ApprovalAlert row per (compensation, level) and one Notification per (alert, user): the
database makes a second notice impossible. Emails are sent from the alert rows after commit
(claimed with a conditional UPDATE, retried with backoff), like the deadline reminders.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from ..messages import render, stored
from ..models import (
    ApprovalAlert,
    Compensation,
    Complaint,
    ComplaintEvent,
    DepartmentMembership,
    Notification,
    NotificationList,
)
from . import authority
from . import compensation as comp
from .alerts import CLAIM_TIMEOUT, MAX_ATTEMPTS

log = logging.getLogger(__name__)
Level, Delivery = ApprovalAlert.Level, ApprovalAlert.Delivery
BATCH_SIZE = 200
MAX_RECIPIENTS = 50  # approvers told of one proposal


def title_message(compensation: Compensation, complaint: Complaint, level: int) -> dict:
    """The inbox title as a stored message (shown in the reader's language)."""
    amount = comp.fmt(compensation.amount, compensation.currency)
    if level == Level.REQUEST:
        text = gettext_noop("Approval requested: compensation #%(id)s, %(amount)s (%(reference)s)")
    else:
        text = gettext_noop("Approval overdue: compensation #%(id)s, %(amount)s (%(reference)s)")
    return stored(text, id=compensation.pk, amount=amount, reference=complaint.reference)


def title(compensation: Compensation, complaint: Complaint, level: int) -> str:
    """The title in the active language (emails)."""
    return render(title_message(compensation, complaint, level))


def _write(compensation, complaint, level: int, users: list[int], extra_emails, *, now):
    """The alert row and one inbox entry per recipient; None if it exists already."""
    User = get_user_model()
    emails = dict(User.objects.filter(pk__in=users, is_active=True).values_list("pk", "email"))
    users = [u for u in dict.fromkeys(users) if u in emails]
    addresses = list(dict.fromkeys([emails[u] for u in users if emails[u]] + list(extra_emails)))
    try:
        with transaction.atomic():  # a savepoint: a duplicate leaves the caller's work intact
            alert = ApprovalAlert.objects.create(
                compensation=compensation,
                level=level,
                created_at=now,
                recipients=users,
                emails=addresses,
                delivery=Delivery.PENDING if addresses else Delivery.NONE,
            )
    except IntegrityError:
        return None
    heading = title_message(compensation, complaint, level)
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=user_id,
                complaint=complaint,
                approval_alert=alert,
                title=heading,
                created_at=now,
            )
            for user_id in users
        ]
    )
    if addresses:
        alert_id = alert.pk
        transaction.on_commit(lambda: _deliver_later([alert_id]))
    return alert


def _deliver_later(alert_ids) -> None:
    from ..tasks import deliver_approval_alerts, enqueue

    enqueue(deliver_approval_alerts, list(alert_ids))


def request_approval(
    compensation: Compensation, complaint: Complaint, *, total: Decimal, now: datetime
) -> ApprovalAlert | None:
    """Tell everyone whose limit covers the proposal (not the proposer). Runs inside the
    proposing transaction, so the notice exists exactly when the proposal does."""
    approvers = authority.eligible_approvers(
        complaint,
        amount=compensation.amount,
        currency=compensation.currency,
        total=total,
        exclude=[compensation.proposed_by_id],
    ).values_list("pk", flat=True)[:MAX_RECIPIENTS]
    users = list(approvers)
    if not users:
        # Nobody can approve it: the managers must see it (and raise the matrix).
        users = _managers()
    return _write(compensation, complaint, Level.REQUEST, users, (), now=now)


def _managers() -> list[int]:
    managers = NotificationList.objects.filter(code=NotificationList.MANAGERS).first()
    return list(managers.users.values_list("pk", flat=True)) if managers else []


def escalation_delay() -> timedelta:
    return timedelta(hours=settings.REDRESS_APPROVAL_ESCALATION_HOURS)


def _claim_overdue(now: datetime, batch_size: int) -> list[Compensation]:
    rows = Compensation.objects.filter(
        status=Compensation.Status.PROPOSED,
        approval_escalated_at__isnull=True,
        proposed_at__lte=now - escalation_delay(),
    ).select_related("complaint")
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    else:
        rows = rows.select_for_update(of=("self",))
    return list(rows.order_by("proposed_at", "pk")[:batch_size])


def escalate_overdue(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Escalate proposals waiting too long, once each: to the heads of the complaint's
    department and the complaint managers list (staff and its email addresses)."""
    now = now or timezone.now()
    managers = NotificationList.objects.filter(code=NotificationList.MANAGERS).first()
    manager_ids = list(managers.users.values_list("pk", flat=True)) if managers else []
    manager_emails = managers.emails() if managers else []
    count = 0
    while True:
        with transaction.atomic():
            batch = _claim_overdue(now, batch_size)
            if not batch:
                return count
            departments = {c.complaint.department_id for c in batch if c.complaint.department_id}
            heads: dict[int, list[int]] = {}
            for department_id, user_id in DepartmentMembership.objects.filter(
                department_id__in=departments, role=DepartmentMembership.Role.HEAD
            ).values_list("department_id", "user_id"):
                heads.setdefault(department_id, []).append(user_id)
            events = []
            for compensation in batch:
                complaint = compensation.complaint
                users = [*heads.get(complaint.department_id, []), *manager_ids]
                users = [u for u in users if u != compensation.proposed_by_id]
                alert = _write(
                    compensation, complaint, Level.ESCALATION, users, manager_emails, now=now
                )
                compensation.approval_escalated_at = now
                if alert is None:
                    continue
                count += 1
                events.append(
                    ComplaintEvent(
                        complaint_id=complaint.pk,
                        kind=ComplaintEvent.Kind.COMPENSATION,
                        created_at=now,
                        data={
                            "message": stored(
                                gettext_noop(
                                    "Compensation #%(id)s has waited for approval since "
                                    "%(since)s: escalated"
                                ),
                                id=compensation.pk,
                                since=timezone.localtime(compensation.proposed_at).strftime(
                                    "%Y-%m-%d %H:%M"
                                ),
                            ),
                            "compensation": compensation.pk,
                            "approval_alert": alert.pk,
                            "recipients": len(alert.recipients),
                            "emails": len(alert.emails),
                        },
                    )
                )
            Compensation.objects.bulk_update(batch, ["approval_escalated_at"])
            ComplaintEvent.objects.bulk_create(events)


# -- email --------------------------------------------------------------------------------


def _deliverable(now: datetime) -> Q:
    ready = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(delivery=Delivery.PENDING) | Q(
        delivery=Delivery.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    return free & ready


def render_email(alert: ApprovalAlert) -> EmailMultiAlternatives:
    compensation = alert.compensation
    complaint = compensation.complaint
    parts = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            parts.append(
                {
                    "title": title(compensation, complaint, alert.level),
                    "body": render_to_string(
                        "complaints/email/compensation_approval.txt",
                        {
                            "compensation": compensation,
                            "complaint": complaint,
                            "kind": compensation.get_kind_display(),
                            "amount": comp.fmt(compensation.amount, compensation.currency),
                            "status": compensation.get_status_display(),
                            "proposer": compensation.proposed_by.get_full_name()
                            or compensation.proposed_by.get_username(),
                            "link": f"{settings.REDRESS_BASE_URL}/admin/complaints/compensation/"
                            f"{compensation.pk}/change/",
                        },
                    ),
                }
            )
    subject = f"[Redress] {parts[0]['title']} / {parts[1]['title']}"
    body = "\n\n----------------------------------------\n\n".join(p["body"] for p in parts)
    return EmailMultiAlternatives(
        subject=subject.replace("\n", " ")[:250], body=body, to=alert.emails
    )


def deliver(alert_id: int, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    claimed = ApprovalAlert.objects.filter(_deliverable(now), pk=alert_id).update(
        delivery=Delivery.SENDING, claimed_at=now
    )
    if not claimed:
        return "skipped"
    alert = ApprovalAlert.objects.select_related(
        "compensation__complaint", "compensation__proposed_by"
    ).get(pk=alert_id)
    try:
        render_email(alert).send()
    except Exception as exc:  # noqa: BLE001 - any transport error is retried, never raised
        attempts = alert.attempts + 1
        failed = attempts >= MAX_ATTEMPTS
        ApprovalAlert.objects.filter(pk=alert_id).update(
            attempts=attempts,
            delivery=Delivery.FAILED if failed else Delivery.PENDING,
            next_attempt_at=None if failed else now + timedelta(minutes=2 ** (attempts - 1)),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        log.warning("Approval email %s failed (attempt %s): %s", alert_id, attempts, exc)
        return "failed" if failed else "retry"
    ApprovalAlert.objects.filter(pk=alert_id).update(
        delivery=Delivery.SENT, sent_at=now, attempts=alert.attempts + 1, last_error=""
    )
    return "sent"


def deliver_many(alert_ids, *, now: datetime | None = None) -> dict[str, int]:
    outcome: dict[str, int] = {}
    for alert_id in alert_ids:
        result = deliver(alert_id, now=now)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


def pending_deliveries(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    now = now or timezone.now()
    return list(
        ApprovalAlert.objects.filter(_deliverable(now))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic task: escalate overdue approvals, then send the emails that are due."""
    now = now or timezone.now()
    escalated = escalate_overdue(now=now)
    outcome = deliver_many(pending_deliveries(now=now), now=now)
    return {"escalated": escalated, **outcome}
