"""Reminders of due follow-ups and overdue improvement actions, exactly once.

A scan claims rows under row locks (SKIP LOCKED where the database has it), sets their
"reminded" mark, and writes one Reminder per (thing, due point) — a unique constraint makes a
second impossible — with inbox entries (complaints' Notification). Emails are sent after
commit from the Reminder rows and retried with backoff, like the deadline alerts."""

import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from complaints.messages import render, stored
from complaints.models import DepartmentMembership, Notification
from complaints.models import Status as ComplaintStatus

from ..models import OPEN_ACTION_STATUSES, FollowUp, ImprovementAction, Reminder, Status

log = logging.getLogger(__name__)
Delivery = Reminder.Delivery
BATCH_SIZE = 500
MAX_ATTEMPTS = 6
CLAIM_TIMEOUT = timedelta(minutes=10)
# Remind this long before a follow-up falls due (the morning of a call due in the afternoon).
AHEAD = timedelta(hours=4)


def _locked(rows):
    if connection.features.has_select_for_update_skip_locked:
        return rows.select_for_update(skip_locked=True, of=("self",))
    return rows.select_for_update()


def _members(department_ids: set[int], *, heads_only: bool = False) -> dict[int, list[int]]:
    rows = DepartmentMembership.objects.filter(
        department_id__in=department_ids, user__is_active=True
    )
    if heads_only:
        rows = rows.filter(role=DepartmentMembership.Role.HEAD)
    found: dict[int, list[int]] = {}
    for department_id, user_id in rows.order_by("pk").values_list("department_id", "user_id"):
        found.setdefault(department_id, []).append(user_id)
    return found


def _emails(user_ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=user_ids, is_active=True)
    return dict(users.values_list("pk", "email"))


def _title(message: dict) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return render(message)[:300]


def _write(reminders: list[Reminder], complaint_of: dict) -> list[int]:
    """Store reminders (and their inbox entries); return the ids of the new ones."""
    emails = _emails({u for r in reminders for u in r.recipients})
    for reminder in reminders:
        reminder.recipients = [u for u in reminder.recipients if u in emails]
        reminder.emails = list(dict.fromkeys(emails[u] for u in reminder.recipients if emails[u]))
        if not reminder.emails:
            reminder.delivery = Delivery.NONE
    Reminder.objects.bulk_create(reminders)
    notifications = []
    for reminder in reminders:
        complaint_id = complaint_of.get(reminder.followup_id or -reminder.action_id)
        if complaint_id is None:
            continue  # an action without linked complaints: email only
        title = _title(reminder.title)
        notifications += [
            Notification(
                user_id=user_id,
                complaint_id=complaint_id,
                title=title,
                created_at=reminder.created_at,
            )
            for user_id in reminder.recipients
        ]
    Notification.objects.bulk_create(notifications)
    return [r.pk for r in reminders]


def remind_followups(*, now=None, batch_size: int = BATCH_SIZE) -> list[int]:
    now = now or timezone.now()
    new_ids: list[int] = []
    while True:
        with transaction.atomic():
            batch = list(
                _locked(
                    FollowUp.objects.filter(
                        status=Status.SCHEDULED, reminded_at__isnull=True, due_at__lte=now + AHEAD
                    )
                    # Only visits of the complaint's current resolution: a complaint reopened
                    # (or merged) meanwhile needs none until it is resolved again.
                    .filter(
                        complaint__status__in=(ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED),
                        round=F("complaint__reopened_count"),
                    )
                )
                .select_related("complaint")
                .only(
                    "pk",
                    "due_at",
                    "assignee_id",
                    "complaint__reference",
                    "complaint__subject",
                    "complaint__department_id",
                )
                .order_by("due_at", "pk")[:batch_size]
            )
            if not batch:
                return new_ids
            members = _members(
                {f.complaint.department_id for f in batch if f.complaint.department_id}
            )
            existing = set(
                Reminder.objects.filter(followup__in=batch).values_list("followup_id", "due")
            )
            reminders = []
            for followup in batch:
                if (followup.pk, followup.due_at) in existing:
                    continue
                recipients = (
                    [followup.assignee_id]
                    if followup.assignee_id
                    else members.get(followup.complaint.department_id, [])
                )
                overdue = followup.due_at < now
                reminders.append(
                    Reminder(
                        followup=followup,
                        due=followup.due_at,
                        created_at=now,
                        recipients=list(dict.fromkeys(recipients)),
                        title=stored(
                            gettext_noop("Follow-up overdue: %(reference)s %(subject)s")
                            if overdue
                            else gettext_noop("Follow-up due %(due)s: %(reference)s %(subject)s"),
                            reference=followup.complaint.reference,
                            subject=followup.complaint.subject[:120],
                            due=f"{timezone.localtime(followup.due_at):%Y-%m-%d %H:%M}",
                        ),
                    )
                )
            FollowUp.objects.filter(pk__in=[f.pk for f in batch]).update(reminded_at=now)
            new_ids += _write(reminders, {f.pk: f.complaint_id for f in batch})


def remind_actions(*, now=None, batch_size: int = BATCH_SIZE) -> list[int]:
    """Open actions past their due date, reminded once per due date (a new due date is
    reminded again when it passes)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    new_ids: list[int] = []
    while True:
        with transaction.atomic():
            batch = list(
                _locked(
                    ImprovementAction.objects.filter(
                        status__in=OPEN_ACTION_STATUSES, due_date__lt=today
                    ).filter(Q(reminded_for__isnull=True) | ~Q(reminded_for=F("due_date")))
                ).order_by("due_date", "pk")[:batch_size]
            )
            if not batch:
                return new_ids
            heads = _members({a.department_id for a in batch}, heads_only=True)
            first_complaint = {}
            through = ImprovementAction.complaints.through.objects.filter(
                improvementaction_id__in=[a.pk for a in batch]
            ).order_by("improvementaction_id", "complaint_id")
            for action_id, complaint_id in through.values_list(
                "improvementaction_id", "complaint_id"
            ):
                first_complaint.setdefault(-action_id, complaint_id)
            reminders = []
            for action in batch:
                action.reminded_for = action.due_date
                reminders.append(
                    Reminder(
                        action=action,
                        due=datetime.combine(
                            action.due_date, time.min, tzinfo=timezone.get_current_timezone()
                        ),
                        created_at=now,
                        recipients=list(
                            dict.fromkeys([action.owner_id, *heads.get(action.department_id, [])])
                        ),
                        title=stored(
                            gettext_noop("Improvement action overdue (due %(due)s): %(title)s"),
                            due=action.due_date.isoformat(),
                            title=action.title[:150],
                        ),
                    )
                )
            ImprovementAction.objects.bulk_update(batch, ["reminded_for"])
            new_ids += _write(reminders, first_complaint)


# -- email delivery ---------------------------------------------------------------------


def _deliverable(now) -> Q:
    ready = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(delivery=Delivery.PENDING) | Q(
        delivery=Delivery.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    return free & ready


def render_email(reminder: Reminder) -> EmailMultiAlternatives:
    """Bilingual (Chinese first, then English), with a link to the admin page."""
    if reminder.followup_id:
        link = (
            f"{settings.REDRESS_BASE_URL}/admin/complaints/complaint/"
            f"{reminder.followup.complaint_id}/change/#followups"
        )
    else:
        link = (
            f"{settings.REDRESS_BASE_URL}/admin/followups/improvementaction/"
            f"{reminder.action_id}/change/"
        )
    titles = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            titles.append(render(reminder.title))
    body = "\n\n".join([*titles, link])
    return EmailMultiAlternatives(
        subject=f"[Redress] {' / '.join(titles)}".replace("\n", " ")[:250],
        body=body,
        to=reminder.emails,
    )


def deliver(reminder_id: int, *, now=None) -> str:
    now = now or timezone.now()
    claimed = Reminder.objects.filter(_deliverable(now), pk=reminder_id).update(
        delivery=Delivery.SENDING, claimed_at=now
    )
    if not claimed:
        return "skipped"
    reminder = Reminder.objects.select_related("followup").get(pk=reminder_id)
    try:
        render_email(reminder).send()
    except Exception as exc:  # noqa: BLE001 - any transport error is retried, never raised
        attempts = reminder.attempts + 1
        failed = attempts >= MAX_ATTEMPTS
        Reminder.objects.filter(pk=reminder_id).update(
            attempts=attempts,
            delivery=Delivery.FAILED if failed else Delivery.PENDING,
            next_attempt_at=None if failed else now + timedelta(minutes=2 ** (attempts - 1)),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        log.warning("Email for reminder %s failed (attempt %s): %s", reminder_id, attempts, exc)
        return "failed" if failed else "retry"
    Reminder.objects.filter(pk=reminder_id).update(
        delivery=Delivery.SENT, sent_at=now, attempts=reminder.attempts + 1, last_error=""
    )
    return "sent"


def pending(*, now=None, limit: int = 1000) -> list[int]:
    now = now or timezone.now()
    return list(
        Reminder.objects.filter(_deliverable(now))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def deliver_many(ids, *, now=None) -> dict[str, int]:
    outcome: dict[str, int] = {}
    for reminder_id in ids:
        result = deliver(reminder_id, now=now)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome
