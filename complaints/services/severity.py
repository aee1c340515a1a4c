"""Automatic severity: the rule table of DOMAIN.md, evaluated on intake and on every change
of a related fact. A complaint takes the most severe level whose condition holds; the level
only rises automatically, and a staff override stops the rules until staff clear it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import hooks
from ..messages import names, source_text, stored, with_text
from ..models import OPEN_STATUSES, Complaint, ComplaintEvent, Fault, Severity, Status
from . import alerts, sla
from .errors import NotPermitted, ServiceError
from .locking import check_version, lock

WINDOW = timedelta(days=30)
CLUSTER_CUSTOMERS = 3
# Earlier complaints of the same customer: not discarded as invalid or as a duplicate.
COUNTED = ~Q(status__in=(Status.INVALID, Status.MERGED))
# Complainants of a cluster: a complaint merged into another still brought its customer.
CLUSTER_COUNTED = ~Q(status=Status.INVALID)
# Facts the rules read; an edit of any of them re-evaluates the level.
RULE_FIELDS = frozenset(
    {
        "media_risk",
        "litigation_risk",
        "households_affected",
        "category",
        "item_ref",
        "customer",
        "received_at",
        "fault",
        "needs_other_departments",
    }
)


@dataclass(frozen=True)
class Finding:
    level: int
    reason: dict  # a stored message (complaints.messages)
    cluster: tuple[int, ...] = ()  # ids of open complaints the cluster rule raises too


def _refs(complaints) -> str:
    return ", ".join(c.reference for c in complaints)


def _cluster(complaint: Complaint) -> list[Complaint]:
    """The other complaints about the same item in the same category that form, with this
    one, 3+ different customers within some 30-day window (empty if there is none)."""
    if not complaint.item_ref or complaint.category_id is None:
        return []
    near = list(
        Complaint.objects.filter(
            CLUSTER_COUNTED,
            category_id=complaint.category_id,
            item_ref=complaint.item_ref,
            received_at__gte=complaint.received_at - WINDOW,
            received_at__lte=complaint.received_at + WINDOW,
        )
        .exclude(pk=complaint.pk)
        .only("pk", "reference", "customer_id", "status", "received_at")
        .order_by("received_at", "pk")
    )
    members = sorted([*near, complaint], key=lambda c: (c.received_at, c.pk or 0))
    cluster: dict[int, Complaint] = {}
    for first in members:  # every 30-day window that starts at a complaint and holds this one
        end = first.received_at + WINDOW
        if not first.received_at <= complaint.received_at <= end:
            continue
        window = [c for c in members if first.received_at <= c.received_at <= end]
        if len({c.customer_id for c in window}) >= CLUSTER_CUSTOMERS:
            cluster.update((id(c), c) for c in window if c is not complaint)
    return sorted(cluster.values(), key=lambda c: (c.received_at, c.pk))


def findings(
    complaint: Complaint, *, now: datetime, assisting: bool = False, new_customer: bool = False
) -> list[Finding]:
    """Every rule that holds for the complaint, most severe first (a few queries).
    `new_customer`: the customer was created with this complaint, so has no earlier ones."""
    found = []
    n = complaint.households_affected
    if complaint.media_risk:
        found.append(Finding(1, stored(gettext_noop("Risk of negative media exposure."))))
    if n >= 10:
        found.append(
            Finding(
                1, stored(gettext_noop("%(n)s households/customers affected (10 or more)."), n=n)
            )
        )
    if complaint.litigation_risk:
        found.append(Finding(2, stored(gettext_noop("May lead to litigation."))))
    if 3 <= n <= 9:
        found.append(
            Finding(2, stored(gettext_noop("%(n)s households/customers affected (3 to 9)."), n=n))
        )
    others = _cluster(complaint)
    customers = {c.customer_id for c in others} | {complaint.customer_id}
    if others:
        found.append(
            Finding(
                2,
                stored(
                    gettext_noop(
                        "%(n)s customers reported item %(item)s in category %(category)s within "
                        "30 days: %(refs)s."
                    ),
                    n=len(customers),
                    item=complaint.item_ref,
                    category=names(complaint.category),
                    refs=_refs(sorted([*others, complaint], key=lambda c: c.received_at)),
                ),
                cluster=tuple(c.pk for c in others if c.status in OPEN_STATUSES),
            )
        )
    if (
        complaint.fault == Fault.OURS
        and complaint.status in OPEN_STATUSES
        and complaint.received_at < now - WINDOW
    ):
        found.append(
            Finding(
                2,
                stored(
                    gettext_noop(
                        "Unresolved for more than 30 days through our own fault (received "
                        "%(date)s)."
                    ),
                    date=timezone.localtime(complaint.received_at).strftime("%Y-%m-%d"),
                ),
            )
        )
    same = Q(item_ref=complaint.item_ref) if complaint.item_ref else None
    if new_customer or not complaint.customer_id:
        same = linked = None
    else:
        linked = hooks.same_problem(complaint)
    if linked is not None:  # e.g. repeats by category (followups)
        same = linked if same is None else same | linked
    if same is not None and complaint.customer_id:
        earlier = list(
            Complaint.objects.filter(
                same,
                COUNTED,
                customer_id=complaint.customer_id,
                received_at__lt=complaint.received_at,
            )
            .exclude(pk=complaint.pk)
            .only("reference", "resolved_at")
            .order_by("received_at", "pk")
        )
        if len(earlier) >= 2 and any(c.resolved_at for c in earlier):
            if complaint.item_ref:
                text = gettext_noop(
                    "Complaint number %(n)s by this customer about item %(item)s after an "
                    "earlier one was handled: %(refs)s."
                )
            else:
                text = gettext_noop(
                    "Complaint number %(n)s by this customer about the same problem after an "
                    "earlier one was handled: %(refs)s."
                )
            params = {"n": len(earlier) + 1, "item": complaint.item_ref, "refs": _refs(earlier)}
            found.append(Finding(3, stored(text, **params)))
    if complaint.needs_other_departments or assisting:
        found.append(Finding(3, stored(gettext_noop("Needs help from other departments."))))
    return sorted(found, key=lambda f: f.level)


RECORDED = gettext_noop("Level set when the complaint was recorded.")
SEVERITY_CHANGED = gettext_noop("The severity changed.")


def reason_value(message: dict | list) -> dict:
    """What `severity_reason` holds: the message(s), with the English text for SQL readers."""
    if isinstance(message, list):
        return {"msg": "%(reasons)s", "params": {"reasons": message}, "text": source_text(message)}
    return with_text(message)


def _rule_reason(level: int, found: list[Finding]) -> dict:
    """Every rule of the level, or why none raises it (a stored message)."""
    reasons = [f.reason for f in found if f.level == level]
    if not reasons:
        return reason_value(stored(gettext_noop("No rule for a higher level applies.")))
    return reason_value(reasons[0] if len(reasons) == 1 else reasons)


def _raise_to(complaint: Complaint, level: int, reason, ctx: sla.Context, *, user, now) -> bool:
    """Raise a locked complaint's level (never lower it); record why; move its deadlines."""
    if complaint.severity_overridden or level >= complaint.severity:
        return False
    _set_level(complaint, level, reason, user=user, now=now, automatic=True)
    return True


def _set_level(
    complaint: Complaint, level: int, reason, *, user, now, message=None, **data
) -> None:
    """Give a locked complaint a level with its reason (a stored message, or the text staff
    wrote), on the timeline (with `message`, else the reason); a new crisis tells the crisis
    list. The caller moves deadlines and saves."""
    old = complaint.severity
    complaint.severity, complaint.severity_reason = level, reason
    if level == Severity.CRISIS and old != level:
        alerts.notify_soon(complaint)
    message = message or reason
    written = isinstance(message, str)  # staff's own words stay a note
    ComplaintEvent.objects.create(
        complaint=complaint,
        kind=ComplaintEvent.Kind.SEVERITY,
        actor=user,
        created_at=now,
        note=message if written else "",
        data={"from": old, "to": level, **data, **({} if written else {"message": message})},
    )


def evaluate(
    complaint: Complaint,
    ctx: sla.Context,
    *,
    user=None,
    now=None,
    assisting: bool = False,
    new_customer: bool = False,
) -> list[int]:
    """Apply the rules to a locked complaint (saved by the caller) and raise the open
    complaints of a cluster it completes. Returns the ids of the other complaints raised."""
    now = now or timezone.now()
    found = findings(complaint, now=now, assisting=assisting, new_customer=new_customer)
    level = found[0].level if found else Severity.GENERAL
    if complaint.pk is None:  # intake: the level starts from the rules
        if not complaint.severity_overridden:
            if complaint.severity < level:  # recorded higher than the rules say
                complaint.severity_reason = reason_value(stored(RECORDED))
            else:
                complaint.severity = level
                complaint.severity_reason = _rule_reason(level, found)
    elif _raise_to(complaint, level, _rule_reason(level, found), ctx, user=user, now=now):
        sla.apply(complaint, ctx, reason=stored(SEVERITY_CHANGED), user=user, now=now)
    raised = []
    for finding in found:
        if finding.cluster:
            raised += _raise_others(finding.cluster, finding.reason, ctx, user=user, now=now)
    return raised


def _raise_others(ids, reason: dict, ctx: sla.Context, *, user, now) -> list[int]:
    raised = []
    # Only members that still need raising; rows another transaction holds are skipped (it
    # evaluates them itself, and the periodic check catches anything left) - waiting for
    # them could deadlock two edits of the same cluster.
    others = Complaint.objects.filter(
        pk__in=ids,
        status__in=OPEN_STATUSES,
        severity__gt=Severity.MAJOR,
        severity_overridden=False,
    ).select_related("customer")
    others = others.select_for_update(of=("self",), skip_locked=True).order_by("pk")
    for other in others:
        if _raise_to(other, Severity.MAJOR, reason_value(reason), ctx, user=user, now=now):
            sla.apply(other, ctx, reason=stored(SEVERITY_CHANGED), user=user, now=now)
            other.updated_at = now
            other.save()
            raised.append(other.pk)
    return raised


def reevaluate_open(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """The periodic check: rules that become true with time (open > 30 days through our own
    fault) and clusters that concurrent edits completed without noticing. Safe to run
    repeatedly and concurrently; returns how many complaints rose."""
    now = now or timezone.now()
    ctx = sla.Context.load()
    due = Q(fault=Fault.OURS, received_at__lt=now - WINDOW)
    groups = (
        Complaint.objects.filter(CLUSTER_COUNTED, received_at__gte=now - 2 * WINDOW)
        .exclude(item_ref="")
        .exclude(category=None)
        .values("category_id", "item_ref")
        .annotate(customers=Count("customer_id", distinct=True))
        .filter(customers__gte=CLUSTER_CUSTOMERS)
        .values_list("category_id", "item_ref")
    )
    for category_id, item_ref in groups[:500]:
        due |= Q(category_id=category_id, item_ref=item_ref, received_at__gte=now - 2 * WINDOW)
    candidates = Complaint.objects.filter(
        due,
        status__in=OPEN_STATUSES,
        severity__gt=Severity.MAJOR,
        severity_overridden=False,
    )
    raised, last_pk = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                candidates.filter(pk__gt=last_pk)
                .select_related("customer")
                .select_for_update(of=("self",), skip_locked=True)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return raised
            last_pk = batch[-1].pk
            done: set[int] = set()  # raised with a cluster earlier in this batch
            for complaint in batch:
                if complaint.pk in done:
                    continue
                before = complaint.severity
                others = evaluate(complaint, ctx, now=now)
                done.update(others)
                raised += len(others)
                if complaint.severity != before:
                    complaint.updated_at = now
                    complaint.save()
                    raised += 1


def override(
    complaint_id: int,
    *,
    user,
    severity: int,
    reason: str,
    expected_version: int | None = None,
    now=None,
) -> Complaint:
    """Staff set the level by hand, with a reason; the rules leave it alone until cleared."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if user is None or not user.has_perm("complaints.override_severity"):
        raise NotPermitted(_("You do not have permission to do this."))
    if severity not in Severity.values:
        raise ServiceError(_("Choose a severity from 1 to 4."))
    if not reason:
        raise ServiceError(_("Say why you set the severity by hand."))
    with transaction.atomic():
        complaint = lock(complaint_id)
        check_version(complaint, expected_version)
        if not complaint.is_open:
            raise ServiceError(_("Reopen the complaint to change its severity."))
        complaint.severity_overridden = True
        _set_level(complaint, severity, reason, user=user, now=now, override=True)
        sla.apply(
            complaint, sla.Context.load(), reason=stored(SEVERITY_CHANGED), user=user, now=now
        )
        complaint.version += 1
        complaint.updated_at = now
        complaint.save()
    return complaint


def clear_override(
    complaint_id: int, *, user, expected_version: int | None = None, now=None
) -> Complaint:
    """Hand the level back to the rules: the complaint takes the level they give now (which
    may be lower than the hand-set one)."""
    now = now or timezone.now()
    if user is None or not user.has_perm("complaints.override_severity"):
        raise NotPermitted(_("You do not have permission to do this."))
    with transaction.atomic():
        complaint = lock(complaint_id)
        check_version(complaint, expected_version)
        if not complaint.is_open:
            raise ServiceError(_("Reopen the complaint to change its severity."))
        if not complaint.severity_overridden:
            raise ServiceError(_("The severity was not set by hand."))
        found = findings(complaint, now=now, assisting=complaint.assisting_departments.exists())
        level = found[0].level if found else Severity.GENERAL
        reason = _rule_reason(level, found)
        complaint.severity_overridden = False
        _set_level(
            complaint,
            level,
            reason,
            user=user,
            now=now,
            message=stored(
                gettext_noop("Severity handed back to the rules: %(reason)s"), reason=reason
            ),
            override=False,
        )
        sla.apply(
            complaint, sla.Context.load(), reason=stored(SEVERITY_CHANGED), user=user, now=now
        )
        complaint.version += 1
        complaint.updated_at = now
        complaint.save()
    return complaint
