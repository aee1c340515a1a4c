"""Deadline enforcement: reminders at the warning point, escalations after a missed deadline,
crisis notices, the staff inbox and email delivery (alone, or in digests: see digests.py).

The sweep claims open complaints whose next look (AlertSchedule.next_alert_at) has come
(row locks on the complaints, SKIP LOCKED on PostgreSQL) and reads only the values it needs,
writes one DeadlineAlert per (complaint, deadline, level, deadline instant) — the unique
constraint makes a second one impossible — plus inbox entries, digest entries and timeline
events, moves the schedule on, and commits: a constant number of statements per batch (on
PostgreSQL one INSERT ... SELECT for all the new rows and one UPDATE of the schedule rows),
all in the batch's transaction. The complaint row itself is written only when the sweep
reassigns it or clears a failure mark: alerts are rows of their own and do not change the
complaint's `updated_at`. Emails are sent afterwards from the alert rows, so a lost task or
a dead broker delays them but never loses them.
"""

import functools
import json
import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db import connections as db_connections
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from ..messages import render, stored
from ..models import (
    OPEN_STATUSES,
    AlertSchedule,
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
from .calendars import clock_for_policy
from .email import build_email
from .isolation import describe
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
    """Who is told what: loaded once per sweep run (or per process() call), each department
    and user once, at most a constant number of queries per batch. A membership, list or
    user changed during a run counts from the next run (a minute later)."""

    heads: dict[int, list[int]] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)
    lists: dict[str, list[int]] = field(default_factory=dict)
    list_emails: dict[str, list[str]] = field(default_factory=dict)
    emails: dict[int, str] = field(default_factory=dict)  # active recipients: id -> email
    departments: set[int] = field(default_factory=set)  # loaded so far
    users: set[int] = field(default_factory=set)  # looked up so far (active or not)
    lists_loaded: bool = False

    def load_departments(self, departments: set[int]) -> None:
        missing = departments - self.departments
        if missing:
            # Read whole before anything is kept (a failed read leaves nothing half loaded).
            memberships = list(
                DepartmentMembership.objects.filter(department_id__in=missing, user__is_active=True)
                .order_by("pk")
                .values_list("department_id", "user_id", "role")
            )
            for department_id, user_id, role in memberships:
                self.members.setdefault(department_id, []).append(user_id)
                if role == DepartmentMembership.Role.HEAD:
                    self.heads.setdefault(department_id, []).append(user_id)
            self.departments |= missing
        if not self.lists_loaded:
            for notification_list in NotificationList.objects.prefetch_related("users"):
                self.lists[notification_list.code] = [
                    u.pk for u in notification_list.users.all() if u.is_active
                ]
                self.list_emails[notification_list.code] = notification_list.emails()
            self.lists_loaded = True

    def load_users(self, ids: set[int]) -> None:
        missing = ids - self.users
        if missing:
            users = get_user_model().objects.filter(pk__in=missing, is_active=True)
            self.emails.update(list(users.values_list("pk", "email")))
            self.users |= missing


def _points(
    complaint: Complaint, ctx: sla.Context, now: datetime | None = None
) -> list[tuple[str, int, datetime, datetime]]:
    """(kind, level, when, deadline) of every alert point of the complaint's pending work;
    with `now`, without the second escalations of deadlines still ahead (a clock.add each on
    a working-day calendar: the first escalation, at the deadline, comes before them)."""
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
        warn = getattr(complaint, warn_field)
        if warn is not None:
            points.append((kind, Level.WARNING, warn, due))
        points.append((kind, Level.ESCALATION_1, due, due))
        if now is not None and due > now:
            continue  # the second escalation comes after the first: neither due nor next
        allowed = sla.allowance_seconds(
            getattr(policy, f"{kind}_amount"), getattr(policy, f"{kind}_unit"), clock
        )
        second = clock.add(due, allowed * policy.escalation_delay_percent // 100)
        points.append((kind, Level.ESCALATION_2, second, due))
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


@functools.cache
def _kind_msgid(kind: str) -> str:
    return label_msgid(Kind(kind).label)


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
    params = {"what": stored(_kind_msgid(kind)), "reference": complaint.reference}
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


# What the sweep reads of a complaint: enough for its alert points, recipients and messages.
DUE_FIELDS = (
    "id",
    "reference",
    "subject",
    "severity",
    "status",
    "sla_policy_id",
    "department_id",
    "assignee_id",
    "received_at",
    "version",
    "alert_failures",
    "scheduled_at",  # AlertSchedule.next_alert_at
    *(name for kind in sla.KINDS for name in kind[1:]),
)


class Due:
    """A claimed complaint as the sweep sees it: the values of DUE_FIELDS (read with
    values_list, no model instance), with the attribute names of Complaint."""

    __slots__ = DUE_FIELDS

    def __init__(self, values):
        for name, value in zip(DUE_FIELDS, values, strict=True):
            setattr(self, name, value)

    @property
    def pk(self) -> int:
        return self.id


def _load(rows, limit: int | None = None) -> list[Due]:
    values = rows.annotate(scheduled_at=F("alert_schedule__next_alert_at")).values_list(*DUE_FIELDS)
    if limit is not None:
        values = values[:limit]
    if connection.vendor == "postgresql":
        return [Due(v) for v in _binary_rows(values)]
    return [Due(v) for v in values]


def _binary_rows(values) -> list[tuple]:
    """The rows of a values_list() queryset read in PostgreSQL's binary format. The claim
    reads 9 times per complaint: Django's connections bind client-side and read text, and a
    time costs ~1 us of Python to load; in binary psycopg loads it in C (500 complaints: 3.8
    -> 1.6 ms of CPU, under the GIL the sweep's threads share; the sweep over two connections
    3-6 % faster, alternated at 5 M). The same values (instants in the session's zone, UTC
    on Django's connections) from the same statement, wrapped and logged as any other
    (execute_wrapper, CaptureQueriesContext; the log shows $1... for the values). A column
    that Django converts after reading (JSON, a custom field) is read by the ORM instead."""
    compiler = values.query.get_compiler(connection=connection)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    if compiler.get_converters([column for column, _, _ in compiler.select]):
        return list(values)
    connection.ensure_connection()
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with connection.wrap_database_errors, wrap(_binary_cursor()(connection.connection)) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _binary_cursor() -> type:
    import psycopg

    class BinaryCursor(psycopg.Cursor):
        """Parameters bound by the server, results in binary; never a prepared statement
        (psycopg prepares a query run 5 times: PgBouncer in transaction mode refuses that,
        and a generic plan would not see the claim's time)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=False, binary=True)

    return BinaryCursor


@dataclass
class Plan:
    """What process() writes for a batch, computed without a query per complaint."""

    alerts: list[tuple] = field(default_factory=list)  # (complaint, kind, level, deadline, ...)
    marks: list[tuple] = field(default_factory=list)  # (id, next look, escalation level)
    reassigned: list = field(default_factory=list)


def _plan(complaints, ctx: sla.Context, now: datetime, existing: set, audience: Audience) -> Plan:
    """The alerts that have fallen due for these complaints and their new marks (pure Python
    over the loaded values; `existing` is every (complaint, kind, level, deadline) written)."""
    levels: dict[tuple, int] = {}  # (complaint, kind, deadline) -> highest level sent
    for cid, kind, level, deadline in existing:
        key = (cid, kind, deadline)
        levels[key] = max(levels.get(key, 0), level)
    plan = Plan()
    for complaint in complaints:
        pk = complaint.pk
        points = _points(complaint, ctx, now)
        upcoming = None
        for kind, level, when, deadline in points:
            if when > now:
                upcoming = when if upcoming is None or when < upcoming else upcoming
                continue
            key = (pk, kind, level, deadline)
            if key in existing:
                continue
            if level == Level.WARNING and kind != Kind.CRISIS and deadline <= now:
                continue  # no "due soon" once it is overdue: the escalation says more
            plan.alerts.append(
                (
                    complaint,
                    kind,
                    level,
                    deadline,
                    _recipients(complaint, kind, level, audience),
                    _list_emails(complaint, kind, level, audience),
                )
            )
            existing.add(key)
            if levels.get((pk, kind, deadline), 0) < level:
                levels[(pk, kind, deadline)] = level
            if level == Level.ESCALATION_1 and kind != Kind.CRISIS:
                plan.reassigned.append(complaint)
        # The escalation level of the deadlines still pending.
        level = max((levels.get((pk, k, d), 0) for k, _l, _w, d in points), default=0)
        plan.marks.append((pk, upcoming, level))
    return plan


def process(
    complaints, ctx: sla.Context, *, now: datetime, audience: Audience | None = None
) -> list[int]:
    """Write the alerts that have fallen due for locked complaints (Due rows or Complaint
    instances); return the new alert ids.

    A constant number of statements per batch, whatever its size: on PostgreSQL the alerts,
    their inbox entries, digest entries and timeline events are one INSERT ... SELECT from
    arrays, and the schedule's marks one UPDATE ... FROM jsonb_array_elements(...)."""
    if not complaints:
        return []
    ids = [c.pk for c in complaints]
    existing = _existing_alerts(ids)
    audience = audience or Audience()  # a sweep run's, shared by its batches
    audience.load_departments({c.department_id for c in complaints if c.department_id})
    plan = _plan(complaints, ctx, now, existing, audience)
    audience.load_users({u for alert in plan.alerts for u in alert[4]})
    # (complaint id, kind, level, deadline, recipients, emails, delivery, message, digest at)
    rows = []
    for complaint, kind, level, deadline, recipients, list_emails in plan.alerts:
        recipients = [u for u in recipients if u in audience.emails]
        personal = [audience.emails[u] for u in recipients if audience.emails[u]]
        emails = list(dict.fromkeys(personal + list_emails))
        wait = digests.window_for(kind, level, complaint.severity) if emails else None
        if not emails:
            delivery = Delivery.NONE
        elif wait is not None:
            delivery = Delivery.DIGEST  # one email per address, with its other alerts
        else:
            delivery = Delivery.PENDING
        message = alert_message(complaint, kind, level)
        due = now + wait if wait is not None else None
        rows.append(
            (complaint.pk, kind, level, deadline, recipients, emails, delivery, message, due)
        )
    if connection.vendor == "postgresql":
        alert_ids = _write_alerts_pg(rows, now)
    else:
        alert_ids = _write_alerts_orm(rows, now)
    events, assignees = _reassign_on_breach(plan.reassigned, ctx, audience, now=now)
    ComplaintEvent.objects.bulk_create(events)
    cleared = [c.pk for c in complaints if c.alert_failures]
    _write_marks(plan.marks, assignees, cleared, now)
    return alert_ids


def _event_data(alert_id, kind, level, deadline, recipients, emails, message) -> dict:
    return {
        "message": message,
        "alert": alert_id,
        "kind": kind,
        "level": level,
        "deadline": timezone.localtime(deadline).isoformat(),
        "recipients": len(recipients),
        "emails": len(emails),
    }


def _write_alerts_orm(rows: list[tuple], now: datetime) -> list[int]:
    """The alerts, inbox entries, digest entries and timeline events with bulk_create (any
    database)."""
    new = [
        DeadlineAlert(
            complaint_id=cid,
            kind=kind,
            level=level,
            deadline=deadline,
            created_at=now,
            recipients=recipients,
            emails=emails,
            delivery=delivery,
        )
        for cid, kind, level, deadline, recipients, emails, delivery, _m, _d in rows
    ]
    DeadlineAlert.objects.bulk_create(new)
    entries, notifications, events = [], [], []
    for alert, (cid, kind, level, deadline, recipients, emails, delivery, message, due) in zip(
        new, rows, strict=True
    ):
        if delivery == Delivery.DIGEST:
            entries += [DigestEntry(alert=alert, email=e, next_attempt_at=due) for e in emails]
        notifications += [
            Notification(user_id=u, complaint_id=cid, alert=alert, title=message, created_at=now)
            for u in recipients
        ]
        data = _event_data(alert.pk, kind, level, deadline, recipients, emails, message)
        events.append(
            ComplaintEvent(
                complaint_id=cid, kind=ComplaintEvent.Kind.ALERT, created_at=now, data=data
            )
        )
    DigestEntry.objects.bulk_create(entries)
    Notification.objects.bulk_create(notifications)
    ComplaintEvent.objects.bulk_create(events)
    return [alert.pk for alert in new]


def _insert_select(model, given: dict) -> tuple[str, str, list]:
    """The column list, SELECT expressions and their parameters of an INSERT ... SELECT into
    `model`: the `given` columns' SQL (a string, or (sql, params)), every other column's
    default as a parameter (NULL when it has none), so the statement keeps working when a
    field is added."""
    quote = connection.ops.quote_name
    columns, values, params = [], [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        columns.append(quote(model_field.column))
        expression = given.get(model_field.column)
        if isinstance(expression, tuple):
            values.append(expression[0])
            params += expression[1]
        elif expression is not None:
            values.append(expression)
        else:
            default = model_field.get_default()
            if default is None:
                values.append("NULL")
            else:
                values.append(f"%s::{model_field.db_type(connection)}")
                params.append(model_field.get_db_prep_save(default, connection))
    return ", ".join(columns), ", ".join(values), params


def _write_alerts_pg(rows: list[tuple], now: datetime) -> list[int]:
    """The alerts and, from their RETURNING rows, one inbox entry per recipient, one digest
    entry per address of a digest alert and one timeline event each: a single statement."""
    if not rows:
        return []
    # One JSON parameter, not an array per column: the connection binds client-side, where
    # json.dumps (C) is much cheaper than quoting arrays element by element.
    local = timezone.get_current_timezone()  # once, not per alert (localtime looks it up)
    values = json.dumps(
        [
            [
                cid,
                kind,
                level,
                deadline.isoformat(),
                recipients,
                emails,
                delivery,
                message,
                deadline.astimezone(local).isoformat(),
                due and due.isoformat(),
            ]
            for cid, kind, level, deadline, recipients, emails, delivery, message, due in rows
        ],
        ensure_ascii=False,
    )
    alert_cols, alert_values, alert_params = _insert_select(
        DeadlineAlert,
        {
            "complaint_id": "v.complaint_id",
            "kind": "v.kind",
            "level": "v.level",
            "deadline": "v.deadline",
            "created_at": ("%s", [now]),
            "recipients": "v.recipients",
            "emails": "v.emails",
            "delivery": "v.delivery",
        },
    )
    inbox_cols, inbox_values, inbox_params = _insert_select(
        Notification,
        {
            "user_id": "r.user_id::bigint",
            "complaint_id": "av.complaint_id",
            "alert_id": "av.id",
            "title": "av.message",
            "created_at": ("%s", [now]),
        },
    )
    entry_cols, entry_values, entry_params = _insert_select(
        DigestEntry,
        {"alert_id": "av.id", "email": "e.email", "next_attempt_at": "av.digest_at"},
    )
    event_cols, event_values, event_params = _insert_select(
        ComplaintEvent,
        {
            "complaint_id": "av.complaint_id",
            "kind": ("%s", [ComplaintEvent.Kind.ALERT.value]),
            "created_at": ("%s", [now]),
            "data": "jsonb_build_object('message', av.message, 'alert', av.id, 'kind', av.kind,"
            " 'level', av.level, 'deadline', av.local_deadline, 'recipients',"
            " jsonb_array_length(av.recipients), 'emails', jsonb_array_length(av.emails))",
        },
    )
    q = connection.ops.quote_name
    # Names from the models, values bound as parameters.
    sql = f"""
        WITH v AS (
            SELECT (r->>0)::bigint AS complaint_id, r->>1 AS kind, (r->>2)::integer AS level,
                   (r->>3)::timestamptz AS deadline, r->4 AS recipients, r->5 AS emails,
                   r->>6 AS delivery, r->7 AS message, r->>8 AS local_deadline,
                   (r->>9)::timestamptz AS digest_at, ord
            FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS x(r, ord)
        ), a AS (
            INSERT INTO {q(DeadlineAlert._meta.db_table)} ({alert_cols})
            SELECT {alert_values} FROM v ORDER BY v.ord
            RETURNING id, complaint_id, kind, level, deadline
        ), av AS (
            SELECT a.id, v.* FROM a JOIN v USING (complaint_id, kind, level, deadline)
        ), inbox AS (
            INSERT INTO {q(Notification._meta.db_table)} ({inbox_cols})
            SELECT {inbox_values}
            FROM av CROSS JOIN LATERAL jsonb_array_elements_text(av.recipients)
                 WITH ORDINALITY AS r(user_id, n)
            ORDER BY av.ord, r.n
        ), entries AS (
            INSERT INTO {q(DigestEntry._meta.db_table)} ({entry_cols})
            SELECT {entry_values}
            FROM av CROSS JOIN LATERAL jsonb_array_elements_text(av.emails)
                 WITH ORDINALITY AS e(email, n)
            WHERE av.delivery = %s
            ORDER BY av.ord, e.n
        ), events AS (
            INSERT INTO {q(ComplaintEvent._meta.db_table)} ({event_cols})
            SELECT {event_values} FROM av ORDER BY av.ord
        )
        SELECT id FROM av ORDER BY ord
    """  # noqa: S608
    params = [
        values,
        *alert_params,
        *inbox_params,
        *entry_params,
        Delivery.DIGEST.value,
        *event_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _write_marks(
    marks: list[tuple], assignees: dict[int, int], cleared: list[int], now: datetime
) -> None:
    """Move each processed complaint's next look on and set its escalation level (the
    schedule rows); on the complaint, the new assignee (its version and `updated_at` move)
    and the clearing of an earlier failure mark. One UPDATE of the schedule on PostgreSQL,
    and one of the complaints when some were reassigned or had failed before."""
    if not marks:
        return
    if connection.vendor != "postgresql":
        AlertSchedule.objects.bulk_update(
            [
                AlertSchedule(complaint_id=pk, next_alert_at=upcoming, escalation_level=level)
                for pk, upcoming, level in marks
            ],
            ["next_alert_at", "escalation_level"],
        )
        Complaint.objects.filter(pk__in=cleared).update(alert_failures=0, alert_error="")
        for pk, assignee in assignees.items():
            Complaint.objects.filter(pk=pk).update(
                assignee_id=assignee, version=F("version") + 1, updated_at=now
            )
        return
    values = json.dumps(
        [[pk, upcoming and upcoming.isoformat(), level] for pk, upcoming, level in marks]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE complaints_alertschedule AS s SET
                next_alert_at = v.next_alert_at,
                escalation_level = v.escalation_level
            FROM (
                SELECT (r->>0)::bigint AS id, (r->>1)::timestamptz AS next_alert_at,
                       (r->>2)::integer AS escalation_level
                FROM jsonb_array_elements(%s::jsonb) AS x(r)
            ) AS v
            WHERE s.complaint_id = v.id
            """,
            [values],
        )
        changed = sorted(set(cleared) | set(assignees))
        if not changed:
            return
        cursor.execute(
            """
            UPDATE complaints_complaint AS t SET
                assignee_id = coalesce(v.assignee_id, t.assignee_id),
                version = t.version + (v.assignee_id IS NOT NULL)::integer,
                updated_at = CASE WHEN v.assignee_id IS NULL THEN t.updated_at ELSE %s END,
                alert_failures = 0,
                alert_error = ''
            FROM (
                SELECT (r->>0)::bigint AS id, (r->>1)::bigint AS assignee_id
                FROM jsonb_array_elements(%s::jsonb) AS x(r)
            ) AS v
            WHERE t.id = v.id
            """,
            [now, json.dumps([[pk, assignees.get(pk)] for pk in changed])],
        )


def _reassign_on_breach(complaints, ctx, audience, *, now) -> tuple[list, dict[int, int]]:
    """Policies may hand a complaint to the department head when a deadline is missed: the
    timeline events (unsaved) and {complaint id: new assignee}."""
    events, assignees = [], {}
    for complaint in dict.fromkeys(complaints):
        policy = ctx.policies.by_id.get(complaint.sla_policy_id)
        heads = audience.heads.get(complaint.department_id) or []
        if not (policy and policy.reassign_on_breach and heads) or complaint.assignee_id in heads:
            continue
        old = complaint.assignee_id
        complaint.assignee_id = assignees[complaint.pk] = heads[0]
        # The version moves with the UPDATE: an edit form opened before this must not undo it.
        events.append(
            ComplaintEvent(
                complaint_id=complaint.pk,
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
    return events, assignees


def _due(now: datetime):
    return Complaint.objects.filter(
        status__in=OPEN_STATUSES, alert_schedule__next_alert_at__lte=now
    )


def _claim(
    now: datetime,
    batch_size: int,
    rows=None,
    *,
    skip_locked: bool = True,
    after: datetime | None = None,
) -> tuple[list[Due], dict]:
    """Lock the next due complaints and read what the sweep needs of them, in one statement
    (row locks, SKIP LOCKED on PostgreSQL). If a row cannot be read (a value Python cannot
    represent), claim only the ids and read them one by one: the others go on, the bad ones
    come back as {id: error}. `after`: the last batch's latest next look, where the scan
    of the index resumes (not through the entries of the rows already processed)."""
    rows = _due(now) if rows is None else rows
    if after is not None:
        rows = rows.filter(alert_schedule__next_alert_at__gte=after)
    rows = rows.order_by("alert_schedule__next_alert_at")
    if not skip_locked:
        rows = rows.select_for_update(of=("self",))
    elif connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    try:
        with transaction.atomic():  # a failed read releases its locks and leaves the rest
            return _load(rows, batch_size), {}
    except Exception:  # noqa: BLE001 - isolate below, row by row
        log.warning("Deadline sweep: a claimed row could not be read, isolating it")
    ids = list(rows.values_list("pk", flat=True)[:batch_size])
    loaded, failed = [], {}
    for pk in ids:
        try:
            with transaction.atomic():
                loaded += _load(Complaint.objects.filter(pk=pk))
        except Exception as exc:  # noqa: BLE001 - one bad row never stops the batch
            failed[pk] = exc
    return loaded, failed


def _still_due(batch: list[Due], now: datetime) -> list[Due]:
    """The claimed complaints whose schedule is still due now that they are locked. The claim
    reads the schedule as it was when its statement began; a complaint another connection
    was processing then is locked only once that connection has committed, and its complaint
    row (which the locking re-reads) does not show that the schedule has moved on. Without
    this, it would be processed a second time (nothing sent twice, but work and counts)."""
    if not batch:
        return batch
    ids = [c.pk for c in batch]
    if connection.vendor == "postgresql":
        # By the primary key only, the time compared here: with the time in the query, the
        # planner (its statistics taken when few were due) scanned every due entry of the
        # schedule's time index and filtered them by id, 12-17 ms a batch of 500 at 5 M.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT complaint_id, next_alert_at FROM complaints_alertschedule "
                "WHERE complaint_id = ANY(%s)",
                [ids],
            )
            due = {pk for pk, when in cursor.fetchall() if when is not None and when <= now}
    else:
        due = set(
            AlertSchedule.objects.filter(complaint_id__in=ids, next_alert_at__lte=now).values_list(
                "complaint_id", flat=True
            )
        )
    return [c for c in batch if c.pk in due]


def _existing_alerts(ids: list[int]) -> set[tuple]:
    """(complaint id, kind, level, deadline) of every alert of these complaints. On
    PostgreSQL the ids are one array parameter (`= ANY(%s)`), not hundreds of placeholders
    that Django and psycopg build, bind and parse one by one."""
    if connection.vendor != "postgresql":
        return set(
            DeadlineAlert.objects.filter(complaint_id__in=ids).values_list(
                "complaint_id", "kind", "level", "deadline"
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT complaint_id, kind, level, deadline FROM complaints_deadlinealert "
            "WHERE complaint_id = ANY(%s)",
            [ids],
        )
        return set(cursor.fetchall())


def _process_isolated(
    batch: list[Due], ctx: sla.Context, now: datetime, audience: Audience
) -> tuple[list[int], dict[int, BaseException]]:
    """process() for the whole batch; if it fails, again complaint by complaint (freshly
    loaded: the failed attempt may have changed the rows) in savepoints."""
    try:
        with transaction.atomic():
            return process(batch, ctx, now=now, audience=audience), {}
    except Exception:  # noqa: BLE001 - isolate below, complaint by complaint
        log.warning("Deadline sweep: batch failed, processing its complaints one by one")
    alert_ids, failed = [], {}
    for complaint in batch:
        try:
            with transaction.atomic():
                one = _load(Complaint.objects.filter(pk=complaint.pk))
                alert_ids += process(one, ctx, now=now, audience=audience)
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
        Complaint.objects.filter(pk=pk).update(alert_failures=failures, alert_error=describe(exc))
        AlertSchedule.objects.filter(complaint_id=pk).update(next_alert_at=now + delay)


@dataclass
class SweepResult:
    complaints: int = 0
    alerts: int = 0
    failed: int = 0
    alert_ids: list[int] = field(default_factory=list)


def sweep(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    on_batch=None,
    connections: int | None = None,
) -> SweepResult:
    """Process every open complaint whose next alert point has come, in bounded batches.

    Each batch is its own transaction; `on_batch(alert_ids)` runs after it commits (the
    task enqueues email delivery there). Safe to run twice, concurrently, or after a crash.
    A complaint that cannot be loaded or processed is marked (`alert_failures`,
    `alert_error`), pushed back, and the others go on.

    On PostgreSQL the batches are claimed over `connections` database connections at once
    (settings.REDRESS_SWEEP_CONNECTIONS, one thread each): the claim skips the rows another
    connection has locked, so each complaint is processed by one of them, and the database
    does the larger part of the work on as many cores. Inside a transaction (whose writes
    other connections cannot see) or on another database the sweep keeps to its caller's
    connection.
    """
    now = now or timezone.now()
    if connections is None:
        connections = settings.REDRESS_SWEEP_CONNECTIONS
    if connections <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        result = SweepResult()
        _sweep_batches(now, batch_size, result, on_batch)
        return result
    if not _due(now).exists():
        return SweepResult()  # the usual minute: no threads, no connections opened
    return _sweep_concurrently(now, batch_size, on_batch, connections)


def _sweep_concurrently(now, batch_size, on_batch, count: int) -> SweepResult:
    """sweep() over `count` threads, each with its own connection; on_batch runs in the
    calling thread as the batches commit, in the order they did. If the calling thread stops
    early (on_batch raised, the worker shuts down), the threads finish the batch they are in
    and stop; it waits for them either way. Every error is logged, the first raised."""
    results = [SweepResult() for _ in range(count)]
    committed: queue.Queue = queue.Queue()
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(result: SweepResult) -> None:
        try:
            _sweep_batches(now, batch_size, result, committed.put if on_batch else None, stop)
        except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
            log.error("Deadline sweep: a connection stopped: %s", describe(exc), exc_info=exc)
            errors.append(exc)
        finally:
            db_connections.close_all()  # this thread's connection

    threads = [
        threading.Thread(target=run, args=(result,), name=f"deadline-sweep-{n}")
        for n, result in enumerate(results)
    ]
    for thread in threads:
        thread.start()
    try:
        while any(thread.is_alive() for thread in threads) or not committed.empty():
            try:
                alert_ids = committed.get(timeout=0.05)
            except queue.Empty:
                continue
            on_batch(alert_ids)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    total = SweepResult()
    for result in results:
        total.complaints += result.complaints
        total.alerts += result.alerts
        total.failed += result.failed
        total.alert_ids += result.alert_ids
    return total


def _sweep_batches(
    now: datetime, batch_size: int, result: SweepResult, on_batch, stop=None
) -> None:
    """Claim, process and commit batches on this thread's connection until none is due (or
    `stop`, a threading.Event, is set)."""
    ctx, audience = sla.Context.load(), Audience()
    # The claim resumes where the last batch ended: a processed complaint's next point is
    # after `now` (or it failed and waits), but its old index entry stays until vacuum, and
    # scanning from the start each time would walk every earlier batch's entries again. When
    # the resumed scan is done, one last claim from the start picks up rows made due meanwhile
    # with an earlier time or released since (skipped while locked): once per run, not per batch.
    after = None
    while stop is None or not stop.is_set():
        with transaction.atomic():
            batch, failed = _claim(now, batch_size, after=after)
            if not batch and not failed:
                if after is None:
                    return
                after = None
                continue
            after = max((c.scheduled_at for c in batch), default=after)
            batch = _still_due(batch, now)
            alert_ids, failed_processing = _process_isolated(batch, ctx, now, audience)
            failed.update(failed_processing)
            if failed:
                _mark_failed(failed, now)
            if on_batch and alert_ids:
                transaction.on_commit(lambda ids=alert_ids: on_batch(ids))
        result.complaints += len(batch) - len(failed_processing)
        result.failed += len(failed)
        result.alerts += len(alert_ids)
        result.alert_ids += alert_ids


def process_one(complaint_id: int, *, now: datetime | None = None) -> list[int]:
    """The sweep for a single complaint (e.g. a crisis notice right after intake)."""
    now = now or timezone.now()
    with transaction.atomic():
        batch, failed = _claim(now, 1, _due(now).filter(pk=complaint_id), skip_locked=False)
        batch = _still_due(batch, now)
        alert_ids, failed_processing = _process_isolated(batch, sla.Context.load(), now, Audience())
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
