"""Digest emails of deadline alerts: one email per recipient address listing every alert that
waits for it, instead of one email per alert (settings.REDRESS_ALERT_DIGEST).

The sweep writes one DigestEntry per (alert, address) for the alerts that go by digest
(reminders by default; never a crisis notice nor any alert about a crisis complaint, which
always go at once and on their own) and marks the alert "in the recipients' digests". The
inbox is not affected. An address's digest is due when one of its entries has waited out
its gathering window (or its retry delay); it then takes every entry waiting for the address.

Exactly once: a worker claims the entries with a conditional UPDATE (waiting, or "sending"
by a worker dead for CLAIM_TIMEOUT) that stamps a claim token of its own, so a second
worker's UPDATE finds nothing left; it sends one email and marks exactly the entries with
its token sent. When sending fails the entries go back with a backoff (and fail for good
after MAX_ATTEMPTS); a worker killed mid-digest leaves them "sending" and another takes them
over after CLAIM_TIMEOUT. An entry that cannot be read or rendered (a bad row) is left out of
the email and marked on its own; the other entries and the other addresses go on. An alert
becomes "sent" (or "failed") once every one of its entries is.
"""

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import ngettext

from ..models import DeadlineAlert, DigestEntry, Severity
from . import alerts
from .email import build_email
from .isolation import describe, load_each

log = logging.getLogger(__name__)

Kind, Level, Delivery = DeadlineAlert.Kind, DeadlineAlert.Level, DeadlineAlert.Delivery
MAX_ITEMS = 200  # alerts in one email; more go in the next digest right after it


def window(alert: DeadlineAlert) -> timedelta | None:
    """How long this alert's email may wait to be gathered with others, or None: on its own,
    at once (crisis, or digests switched off for its kind of alert)."""
    return window_for(alert.kind, alert.level, alert.complaint.severity)


def window_for(kind: str, level: int, severity: int) -> timedelta | None:
    """window() from an alert's kind and level and its complaint's severity."""
    if kind == Kind.CRISIS or severity == Severity.CRISIS:
        return None
    key = "reminder" if level == Level.WARNING else "escalation"
    minutes = settings.REDRESS_ALERT_DIGEST.get(key)
    return None if minutes is None else timedelta(minutes=minutes)


def _free(now: datetime) -> Q:
    """Entries no worker holds: waiting, or claimed by a worker that died."""
    return Q(delivery=Delivery.PENDING) | Q(
        delivery=Delivery.SENDING, claimed_at__lt=now - alerts.CLAIM_TIMEOUT
    )


def pending_digests(*, now: datetime | None = None, alert_ids=None, limit=1000) -> list[str]:
    """Addresses whose digest is due (of these alerts' addresses, if given)."""
    now = now or timezone.now()
    rows = DigestEntry.objects.filter(_free(now), next_attempt_at__lte=now)
    if alert_ids is not None:
        rows = rows.filter(alert_id__in=list(alert_ids))
    return list(rows.order_by("email").values_list("email", flat=True).distinct()[:limit])


def single_deliveries(alert_ids) -> list[int]:
    """Of these alerts, the ones whose email goes on its own (not in a digest)."""
    return list(
        DeadlineAlert.objects.filter(pk__in=list(alert_ids))
        .exclude(delivery=Delivery.DIGEST)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _claim(address: str, now: datetime) -> str | None:
    """Take every waiting entry of the address (up to MAX_ITEMS) if its digest is due; the
    claim token, or None when there is nothing to send (or another worker took it)."""
    free = DigestEntry.objects.filter(_free(now), email=address)
    if not free.filter(next_attempt_at__lte=now).exists():
        return None
    ids = list(free.order_by("pk").values_list("pk", flat=True)[:MAX_ITEMS])
    token = uuid.uuid4().hex
    claimed = DigestEntry.objects.filter(_free(now), pk__in=ids).update(
        delivery=Delivery.SENDING, claimed_at=now, claim=token, attempts=F("attempts") + 1
    )
    return token if claimed else None


def _item(entry: DigestEntry) -> dict:
    alert, complaint = entry.alert, entry.alert.complaint
    return {
        "reference": complaint.reference,
        "subject": complaint.subject,
        "title": alerts.alert_title(complaint, alert.kind, alert.level),
        "deadline": alert.deadline,
        "link": f"{settings.REDRESS_BASE_URL}/admin/complaints/complaint/{complaint.pk}/change/",
    }


def render_digest(address: str, entries: list[DigestEntry]) -> EmailMultiAlternatives:
    """A bilingual digest (Chinese first, then English): the alerts by deadline."""
    entries = sorted(entries, key=lambda e: (e.alert.deadline, e.alert.complaint.reference))
    parts = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            heading = ngettext(
                "%(count)d deadline alert for you",
                "%(count)d deadline alerts for you",
                len(entries),
            ) % {"count": len(entries)}
            items = [_item(entry) for entry in entries]
            body = render_to_string(
                "complaints/email/digest.txt", {"heading": heading, "items": items}
            )
            parts.append({"heading": heading, "body": body.strip() + "\n"})
    subject = f"[Redress] {parts[0]['heading']} / {parts[1]['heading']}"
    body = "\n\n----------------------------------------\n\n".join(p["body"] for p in parts)
    return build_email(subject=subject, body=body, to=[address])


def _release(rows, error: str, now: datetime) -> None:
    """Entries whose digest failed: back to waiting with a backoff of 1, 2, 4 ... minutes
    (by their attempts), or failed for good after MAX_ATTEMPTS."""
    rows.update(
        delivery=Case(
            When(attempts__gte=alerts.MAX_ATTEMPTS, then=Value(Delivery.FAILED)),
            default=Value(Delivery.PENDING),
        ),
        next_attempt_at=Case(
            *[
                When(attempts=n, then=Value(now + timedelta(minutes=2 ** (n - 1))))
                for n in range(1, alerts.MAX_ATTEMPTS)
            ],
            default=F("next_attempt_at"),
        ),
        claim="",
        last_error=error,
    )


def _settle_alerts(alert_ids: set[int], now: datetime) -> None:
    """An alert is sent once all its entries are, failed once none waits and one failed."""
    if not alert_ids:
        return
    mine = DeadlineAlert.objects.filter(pk__in=list(alert_ids), delivery=Delivery.DIGEST)
    entries = DigestEntry.objects.filter(alert=OuterRef("pk"))
    unsent = entries.exclude(delivery=Delivery.SENT)
    waiting = entries.filter(delivery__in=[Delivery.PENDING, Delivery.SENDING])
    mine.exclude(Exists(unsent)).update(delivery=Delivery.SENT, sent_at=now, last_error="")
    mine.filter(Exists(unsent)).exclude(Exists(waiting)).update(delivery=Delivery.FAILED)


def _note_error(entry_ids, error: str) -> None:
    """The last error shows on the alerts (admin list) while they wait or once they failed."""
    DeadlineAlert.objects.filter(
        pk__in=DigestEntry.objects.filter(pk__in=list(entry_ids)).values("alert_id")
    ).exclude(delivery=Delivery.SENT).update(last_error=error)


def deliver_digest(address: str, *, now: datetime | None = None) -> str:
    """Send the address's due digest: "sent", "retry"/"failed" (sending failed), "skipped"
    (nothing due, or another worker has it). Never raises for a bad entry or a failed send."""
    now = now or timezone.now()
    token = _claim(address, now)
    if token is None:
        return "skipped"
    claimed = DigestEntry.objects.filter(claim=token, delivery=Delivery.SENDING)
    ids = list(claimed.values_list("pk", flat=True))
    entries, bad = load_each(DigestEntry.objects.select_related("alert__complaint"), ids)
    good = []
    for entry in entries:  # a row that loads may still fail to render: find out before sending
        try:
            with translation.override("en"):
                _item(entry)
            good.append(entry)
        except Exception as exc:  # noqa: BLE001 - one bad alert never stops the digest
            bad[entry.pk] = exc
    for pk, exc in bad.items():
        log.error("Digest entry %s left out: %s", pk, describe(exc))
        _release(claimed.filter(pk=pk), describe(exc), now)
    alert_ids = set(DigestEntry.objects.filter(pk__in=ids).values_list("alert_id", flat=True))
    good_ids = [entry.pk for entry in good]
    outcome, error = "failed", ""
    if good:
        try:
            render_digest(address, good).send()
        except Exception as exc:  # noqa: BLE001 - recorded and retried, never raised
            log.warning("Digest to %s failed: %s", address, exc)
            error = describe(exc)
            _release(claimed.filter(pk__in=good_ids), error, now)
            outcome = "retry"
            if DigestEntry.objects.filter(pk__in=good_ids, delivery=Delivery.FAILED).exists():
                outcome = "failed"
        else:
            claimed.filter(pk__in=good_ids).update(
                delivery=Delivery.SENT, sent_at=now, claim="", last_error=""
            )
            outcome = "sent"
    _settle_alerts(alert_ids, now)
    for pk, exc in bad.items():
        _note_error([pk], describe(exc))
    if error:
        _note_error(good_ids, error)
    return outcome


def deliver_digests(addresses, *, now: datetime | None = None) -> dict[str, int]:
    """Each address's digest on its own (and as many as its waiting alerts need): one bad
    address never stops the others."""
    outcome: dict[str, int] = {}
    for address in addresses:
        for _round in range(100):  # MAX_ITEMS alerts per email; bounded, whatever happens
            try:
                result = deliver_digest(address, now=now)
            except Exception:  # noqa: BLE001 - e.g. the database hiccuped on this one: go on
                log.exception("Digest to %s failed unexpectedly", address)
                result = "error"
            if result == "skipped":
                break
            key = f"digest {result}"
            outcome[key] = outcome.get(key, 0) + 1
            if result != "sent":
                break
    return outcome


def requeue(alert_ids) -> list[int]:
    """Staff asked to send these alerts again: the failed entries of failed digest alerts
    wait again (due at once). Returns the ids of the alerts requeued."""
    ids = list(
        DeadlineAlert.objects.filter(
            Exists(DigestEntry.objects.filter(alert=OuterRef("pk"), delivery=Delivery.FAILED)),
            pk__in=list(alert_ids),
            delivery=Delivery.FAILED,
        ).values_list("pk", flat=True)
    )
    if ids:
        now = timezone.now()
        DigestEntry.objects.filter(alert_id__in=ids, delivery=Delivery.FAILED).update(
            delivery=Delivery.PENDING, next_attempt_at=now, attempts=0
        )
        DeadlineAlert.objects.filter(pk__in=ids).update(delivery=Delivery.DIGEST)
    return ids
