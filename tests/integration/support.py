"""Helpers for the integration tests: real Celery worker processes on a queue of the test's
own, complaints that have come due, and what the deadline sweep should make of them."""

import ast
import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from celery import Celery
from django.db import connection
from django.utils import translation

from complaints.models import (
    Complaint,
    DeadlineAlert,
    DepartmentMembership,
    NotificationList,
    Severity,
    SLAPolicy,
    Status,
)
from complaints.services import alerts, sla

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
REDIS_URL = os.environ.get("REDIS_URL", "")
SUCCEEDED = re.compile(
    r"Task complaints\.tasks\.(?P<task>\w+)\[(?P<id>[-0-9a-f]+)\] succeeded in [\d.]+s: "
    r"(?P<result>.*)$",
    re.M,
)
Kind, Level = DeadlineAlert.Kind, DeadlineAlert.Level


# Bounds of the waits, generous for a busy 2-core CI machine: a wait returns as soon as
# what it waits for has happened, so a long bound costs nothing when things go well. Set
# REDRESS_IT_TIMEOUT_SCALE=2 (etc.) on an even slower machine.
SCALE = float(os.environ.get("REDRESS_IT_TIMEOUT_SCALE", "1"))
WORKER_START = 120 * SCALE


def wait_for(
    predicate: Callable[[], object],
    *,
    timeout: float,
    what: str,
    interval=0.1,
    stall: float | None = None,
    progress: Callable[[], object] | None = None,
):
    """Poll until `predicate()` is truthy; return its value or fail saying what was awaited.

    With `progress` (e.g. how many emails are out) and `stall`, it fails when `progress()`
    has not changed for `stall` seconds: slow work that keeps moving is waited for, up to
    `timeout` in all, a stuck one fails early. Both bounds are scaled by SCALE."""
    timeout *= SCALE
    stall = stall * SCALE if stall is not None else None
    started = last_change = time.monotonic()
    seen = progress() if progress else None
    while True:
        value = predicate()
        if value:
            return value
        now = time.monotonic()
        if now - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        if progress is not None:
            current = progress()
            if current != seen:
                seen, last_change = current, now
            elif stall is not None and now - last_change > stall:
                raise AssertionError(
                    f"no progress for {stall:.1f} s waiting for {what} (at {current!r})"
                )
        time.sleep(interval)


def worker_database_url() -> str:
    """DATABASE_URL of the database this test runs against (test_<name>[_gwN])."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"])
    host = s["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{quote(s['NAME'])}"


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log_path: Path
    ready_path: Path | None = None  # written by the worker on Celery's worker_ready signal

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def succeeded(self, task: str) -> list[dict]:
        """The results this worker logged for `task` (e.g. "sweep_deadlines")."""
        return [
            {"id": m["id"], "result": ast.literal_eval(m["result"])}
            for m in SUCCEEDED.finditer(self.log())
            if m["task"] == task
        ]

    def wait_ready(self, timeout: float = WORKER_START) -> None:
        """Until the worker has said it consumes (its ready file), or it died."""

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log()[-3000:]}")
            return self.ready_path.exists() if self.ready_path else " ready." in self.log()

        wait_for(ready, timeout=timeout / SCALE, what=f"worker {self.name} to start")

    def kill(self) -> None:
        """SIGKILL: the machine dies; nothing is acknowledged, rejected or cleaned up."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@dataclass
class Cluster:
    """Workers of one test: own queue, own Redis key prefix, own mail folder."""

    tmp_path: Path
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    workers: list[Worker] = field(default_factory=list)
    # Settings of the workers (environment): each alert emailed on its own unless a test
    # switches reminder digests on (the digest tests do).
    env: dict[str, str] = field(default_factory=lambda: {"REDRESS_ALERT_DIGEST_REMINDER": "off"})
    _publisher: Celery | None = None

    @property
    def queue(self) -> str:
        return f"it-{self.token}"

    @property
    def keyprefix(self) -> str:
        return f"redress-it:{self.token}:"

    @property
    def mail_dir(self) -> Path:
        return self.tmp_path / "mail"

    def start(
        self, *, visibility_timeout: int | None = None, wait=True, mail_delay: float = 0
    ) -> Worker:
        name = f"w{len(self.workers) + 1}-{self.token}"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("EMAIL_", "CELERY_", "PYTEST_", "DJANGO_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="tests.integration.worker_settings",
            DATABASE_URL=worker_database_url(),
            REDIS_URL=REDIS_URL,
            REDRESS_IT_QUEUE=self.queue,
            REDRESS_IT_KEYPREFIX=self.keyprefix,
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(self.mail_dir),
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
            **self.env,
        )
        if mail_delay:  # each email takes this long to send (a slow SMTP server)
            env["EMAIL_BACKEND"] = "tests.integration.slow_mail.SlowFileBackend"
            env["REDRESS_IT_MAIL_DELAY"] = str(mail_delay)
        if visibility_timeout is not None:
            env["REDRESS_IT_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
        ready_path = self.tmp_path / f"{name}.ready"
        env["REDRESS_IT_READY_FILE"] = str(ready_path)
        log_path = self.tmp_path / f"{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    str(CELERY),
                    "-A",
                    "config",
                    "worker",
                    "--pool=solo",
                    "-Q",
                    self.queue,
                    "-n",
                    f"{name}@%h",
                    "-l",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(name, proc, log_path, ready_path)
        self.workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    @property
    def publisher(self) -> Celery:
        if self._publisher is None:
            app = Celery("redress-it", broker=REDIS_URL, set_as_current=False)
            app.conf.broker_transport_options = {"global_keyprefix": self.keyprefix}
            app.conf.task_default_queue = self.queue
            self._publisher = app
        return self._publisher

    def send(self, task: str) -> str:
        """Enqueue complaints.tasks.<task> through the broker, as beat does; its id."""
        return self.publisher.send_task(f"complaints.tasks.{task}", queue=self.queue).id

    def succeeded(self, task: str) -> list[dict]:
        return [done for worker in self.workers for done in worker.succeeded(task)]

    def logs(self) -> str:
        return "\n".join(f"== {w.name}\n{w.log()[-4000:]}" for w in self.workers)

    def close(self) -> None:
        """Stop every worker and delete every Redis key of this test (queue included)."""
        for worker in self.workers:  # warm shutdown, all at once
            if worker.proc.poll() is None:
                worker.proc.terminate()
        for worker in self.workers:
            worker.stop()
        if self._publisher is not None:
            self._publisher.close()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"{self.keyprefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


# -- the data -----------------------------------------------------------------------------

# A 24x7 policy in minutes so that which points have passed does not depend on the weekday:
# acknowledge 60 min (warning 45, second escalation 90), first response 240 min (warning
# 180), resolve 600 min (warning 450).
POLICY = {
    "ack_amount": 60,
    "ack_unit": "minutes",
    "response_amount": 240,
    "response_unit": "minutes",
    "resolve_amount": 600,
    "resolve_unit": "minutes",
    "warning_percent": 75,
    "escalation_delay_percent": 50,
}
# Ages (minutes since received) at least 5 minutes away from every alert point.
AGE_ACK_WARNING = 50  # acknowledge due soon
AGE_ACK_OVERDUE = 75  # acknowledge overdue (first escalation)
AGE_ACK_LONG_OVERDUE = 120  # both escalations of the acknowledgement
AGE_CRISIS = 200  # crisis: notice, both acknowledge escalations, first response warning


def make_policies(category) -> dict[int, SLAPolicy]:
    return {
        severity: SLAPolicy.objects.create(
            name=f"IT {severity} {category.code}", severity=severity, category=category, **POLICY
        )
        for severity in (Severity.CRISIS, Severity.GENERAL)
    }


def set_list(code: str, users, extra_emails: str) -> NotificationList:
    notification_list, _ = NotificationList.objects.get_or_create(
        code=code, defaults={"name": code}
    )
    notification_list.extra_emails = extra_emails
    notification_list.save()
    notification_list.users.set(users)
    return notification_list


def bulk_complaints(
    n: int,
    *,
    age_minutes: int,
    now: datetime,
    customer,
    category,
    department,
    assignee=None,
    severity: int = Severity.GENERAL,
    prefix: str,
) -> None:
    """n complaints received `age_minutes` ago with the deadlines intake gives them, written in
    bulk (no intake side effects: the crisis notice is left to the sweep)."""
    ctx = sla.Context.load()
    received = now - timedelta(minutes=age_minutes)
    rows = []
    for i in range(n):
        complaint = Complaint(
            reference=f"{prefix}-{i:05d}",
            channel="hotline",
            received_at=received,
            customer=customer,
            subject="Lift out of order",
            description="The lift has not worked since the morning.",
            category=category,
            department=department,
            assignee=assignee,
            severity=severity,
            status=Status.NEW,
            created_at=received,
            updated_at=received,
        )
        for name, value in sla.compute(complaint, ctx, tier=customer.tier).items():
            setattr(complaint, name, value)
        rows.append(complaint)
    Complaint.objects.bulk_create(rows, batch_size=1000)


def expected_points(complaint: Complaint, now: datetime) -> set[tuple[str, int, datetime]]:
    """The alerts the sweep must have written by `now`, worked out from the policy above by
    plain arithmetic (independent of the service): (kind, level, deadline)."""
    received = complaint.received_at
    points = set()
    if complaint.severity == Severity.CRISIS:
        points.add((Kind.CRISIS, Level.WARNING, received))
    for kind in ("ack", "response", "resolve"):
        amount = POLICY[f"{kind}_amount"]
        due = received + timedelta(minutes=amount)
        warn = received + timedelta(minutes=amount * POLICY["warning_percent"] / 100)
        second = due + timedelta(minutes=amount * POLICY["escalation_delay_percent"] / 100)
        if warn <= now < due:
            points.add((kind, Level.WARNING, due))
        if due <= now:
            points.add((kind, Level.ESCALATION_1, due))
        if second <= now:
            points.add((kind, Level.ESCALATION_2, due))
    return points


@dataclass
class Audience:
    """Who should hear about what: department head and members, the two lists."""

    department: object
    head: object
    members: list  # every member in membership order (head included)
    managers: list
    crisis: list
    managers_extra: list[str]
    crisis_extra: list[str]

    @property
    def email_of(self) -> dict[int, str]:
        return {u.pk: u.email for u in [*self.members, *self.managers, *self.crisis]}

    def recipients(self, complaint: Complaint, kind: str, level: int) -> list[int]:
        """Inbox: a crisis notice to the crisis list; a reminder to the assignee, else the
        department; the first escalation to the head, the second to the managers; the crisis
        list hears of every escalation of a crisis."""
        if kind == Kind.CRISIS:
            users = [u.pk for u in self.crisis]
        elif level == Level.WARNING:
            users = [complaint.assignee_id] if complaint.assignee_id else self.ids(self.members)
        elif level == Level.ESCALATION_1:
            users = [self.head.pk]
        else:
            users = self.ids(self.managers)
        if complaint.severity == Severity.CRISIS and level > Level.WARNING:
            users += self.ids(self.crisis)
        return list(dict.fromkeys(users))

    def emails(self, complaint: Complaint, kind: str, level: int) -> set[str]:
        """Email: every recipient with an address, plus the lists' other addresses."""
        email_of = self.email_of
        addresses = {
            email_of[u] for u in self.recipients(complaint, kind, level) if email_of.get(u)
        }
        if kind == Kind.CRISIS or (complaint.severity == Severity.CRISIS and level > 0):
            addresses |= set(self.crisis_extra)
        if level == Level.ESCALATION_2:
            addresses |= set(self.managers_extra)
        return addresses

    @staticmethod
    def ids(users) -> list[int]:
        return [u.pk for u in users]


def make_audience(prefix: str) -> Audience:
    from tests.factories import DepartmentFactory, UserFactory

    department = DepartmentFactory(code=f"{prefix}-dept", name=f"{prefix} department")

    def user(name, with_email=True):
        return UserFactory(
            username=f"{prefix}-{name}", email=f"{name}@example.com" if with_email else ""
        )

    head, member, quiet = user("head"), user("member"), user("quiet", with_email=False)
    for person, role in ((head, "head"), (member, "member"), (quiet, "member")):
        DepartmentMembership.objects.create(department=department, user=person, role=role)
    managers, crisis = [user("manager")], [user("crisis-desk")]
    managers_extra, crisis_extra = ["duty-manager@example.com"], ["press@example.com"]
    set_list(NotificationList.MANAGERS, managers, "\n".join(managers_extra))
    set_list(NotificationList.CRISIS, crisis, "\n".join(crisis_extra))
    return Audience(
        department=department,
        head=head,
        members=[head, member, quiet],
        managers=managers,
        crisis=crisis,
        managers_extra=managers_extra,
        crisis_extra=crisis_extra,
    )


# -- what was sent ------------------------------------------------------------------------


def sent_emails(mail_dir: Path) -> list[email.message.EmailMessage]:
    """Every message the file backend wrote (a file may hold several)."""
    separator = b"\n" + b"-" * 79 + b"\n"
    messages = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_bytes().split(separator):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
    return messages


def english_title(alert: DeadlineAlert) -> str:
    with translation.override("en"):
        return alerts.alert_title(alert.complaint, alert.kind, alert.level)


def emails_by_alert(mail_dir: Path, alert_rows) -> tuple[dict[int, list], list[str]]:
    """The emails each alert got, told apart by the English half of the subject (it names the
    complaint's reference, the deadline and the level), and the subjects of any others."""
    by_title = {english_title(alert): alert.pk for alert in alert_rows}
    found: dict[int, list] = {pk: [] for pk in by_title.values()}
    strays = []
    for message in sent_emails(mail_dir):
        subject = str(message["subject"])
        alert_id = by_title.get(subject.rsplit(" / ", 1)[-1])
        if alert_id is None:
            strays.append(subject)
        else:
            found[alert_id].append(message)
    return found, strays
