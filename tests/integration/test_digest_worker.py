"""Digest emails end to end: real Celery workers on Redis against PostgreSQL. A worker killed
while it sends a digest (its claim held, nothing written) loses and repeats no reminder: the
claim expires, another worker sends the same reminders in one digest, each once.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/redress_ci \\
    REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/pytest tests/integration/test_digest_worker.py
"""

import re
from collections import Counter

import pytest
from django.db.models import F
from django.utils import timezone

from complaints.models import AlertSchedule, DeadlineAlert, DigestEntry, Severity
from complaints.services import alerts

from .support import (
    AGE_ACK_WARNING,
    AGE_CRISIS,
    REDIS_URL,
    bulk_complaints,
    emails_by_alert,
    sent_emails,
    wait_for,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis (set REDIS_URL)"),
]
Delivery = DeadlineAlert.Delivery
UNSENT = (Delivery.PENDING, Delivery.SENDING, Delivery.DIGEST)


def all_sent(expected: int):
    def check():
        return (
            DeadlineAlert.objects.count() == expected
            and not DeadlineAlert.objects.filter(delivery__in=UNSENT).exists()
        )

    return check


def progress():
    return (
        DeadlineAlert.objects.exclude(delivery__in=UNSENT).count(),
        DigestEntry.objects.filter(delivery=Delivery.SENT).count(),
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_killed_mid_digest_loses_and_repeats_no_reminder(cluster, due):
    cluster.env = {"REDRESS_ALERT_DIGEST_REMINDER": "0"}  # digests, sent at once
    audience, member = due.audience, due.audience.members[1]
    now = timezone.now()
    common = {
        "age_minutes": AGE_ACK_WARNING,
        "now": now,
        "customer": due.customer,
        "category": due.category,
        "department": audience.department,
    }
    bulk_complaints(250, assignee=member, prefix=f"DA{due.prefix}", **common)  # to the member
    bulk_complaints(150, prefix=f"DD{due.prefix}", **common)  # to the department
    crisis = {**common, "age_minutes": AGE_CRISIS, "severity": Severity.CRISIS}
    bulk_complaints(1, assignee=member, prefix=f"DC{due.prefix}", **crisis)
    expected = 400 + 4  # the crisis: notice, two escalations, a response reminder

    # A slow SMTP server: the worker is killed while it holds a digest's claim.
    first = cluster.start(visibility_timeout=2, mail_delay=3)
    cluster.send("sweep_deadlines")
    wait_for(
        lambda: DigestEntry.objects.filter(delivery=Delivery.SENDING).exists(),
        timeout=300,
        interval=0.02,
        what="a digest being sent",
    )
    first.kill()
    held = DigestEntry.objects.filter(delivery=Delivery.SENDING)
    assert 0 < held.count() <= 200
    held_ids = set(held.values_list("pk", flat=True))
    # Time passes: the dead worker's claim expires (CLAIM_TIMEOUT, 10 minutes).
    held.update(claimed_at=F("claimed_at") - alerts.CLAIM_TIMEOUT)

    second = cluster.start(visibility_timeout=2)
    cluster.send("sweep_deadlines")  # whatever the killed sweep left
    wait_for(
        lambda: len(second.succeeded("sweep_deadlines")) >= 1,
        timeout=300,
        what="a sweep on the second worker",
    )
    cluster.send("deliver_pending_alerts")  # beat's minutely delivery sweep
    wait_for(all_sent(expected), timeout=600, stall=120, progress=progress, what="every reminder")

    # Every reminder entry sent once; the ones the dead worker held were tried twice.
    entries = DigestEntry.objects.select_related("alert__complaint")
    assert {e.delivery for e in entries} == {Delivery.SENT}
    assert {e.attempts for e in entries if e.pk in held_ids} == {2}
    wanted = Counter()
    for entry in entries:
        wanted[(entry.email, entry.alert.complaint.reference)] += 1
    assert max(wanted.values()) == 1
    assert {address for address, _ref in wanted} == {"member@example.com", "head@example.com"}

    # What the mail folder holds: each (address, reminder) in exactly one digest.
    got = Counter()
    digests = [m for m in sent_emails(cluster.mail_dir) if "deadline alert" in m["subject"]]
    for message in digests:
        (address,) = [a.addr_spec for a in message["to"].addresses]
        english = message.get_content().rsplit("-" * 40, 1)[-1]
        for reference in set(re.findall(r"\bD[AD]\w+-\d{5}\b", english)):
            got[(address, reference)] += 1
    assert got == wanted
    # Far fewer emails than reminders: the member's 400 in two digests, the head's 150 in one.
    assert Counter(m["to"].addresses[0].addr_spec for m in digests) == {
        "member@example.com": 2,
        "head@example.com": 1,
    }

    # The crisis went alone, one email per alert, never in a digest.
    crisis_rows = list(
        DeadlineAlert.objects.filter(complaint__severity=Severity.CRISIS).select_related(
            "complaint"
        )
    )
    assert len(crisis_rows) == 4
    assert not DigestEntry.objects.filter(alert__in=crisis_rows).exists()
    messages, _strays = emails_by_alert(cluster.mail_dir, crisis_rows)
    assert all(len(messages[a.pk]) == 1 for a in crisis_rows)
    assert AlertSchedule.objects.filter(next_alert_at__lte=now).count() == 0
