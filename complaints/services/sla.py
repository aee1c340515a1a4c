"""SLA deadlines: which policy applies to a complaint and the deadlines it gives.

Deadlines are computed from the clock start (received_at; the resolution clock restarts on
reopening) plus the policy's allowance plus the working time the deadline was pushed back
by pauses (awaiting customer). Deadlines already met are history and never move.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..messages import is_stored, names
from ..models import (
    OPEN_STATUSES,
    Category,
    Complaint,
    ComplaintEvent,
    DurationUnit,
    Severity,
    SLAPolicy,
    Status,
)
from ..sla.clock import Clock
from . import reference_cache
from .calendars import calendars_by_id, clock_for_policy
from .deadlines import earliest_pending

# (kind = policy field prefix, due field, warning field, met-at field)
KINDS = (
    ("ack", "ack_due_at", "ack_warn_at", "acknowledged_at"),
    ("response", "response_due_at", "response_warn_at", "first_response_at"),
    ("resolve", "resolve_due_at", "resolve_warn_at", "resolved_at"),
)
DEADLINE_FIELDS = (
    *(f for kind in KINDS for f in kind[1:3]),
    "due_at",
    "deadline_provisional",
    "sla_policy",
    "next_alert_at",
)
# Bookkeeping that changes without the deadlines moving: no timeline entry for these alone.
INTERNAL_FIELDS = frozenset({"sla_policy_id", "next_alert_at"})


def allowance_seconds(amount: int, unit: str, clock: Clock) -> int:
    """A policy duration in seconds of the clock: a day on a calendar is one working day."""
    if unit == DurationUnit.MINUTES:
        return amount * 60
    if unit == DurationUnit.HOURS:
        return amount * 3600
    return amount * clock.day_seconds


class PolicyIndex:
    """Active policies and the category tree, loaded once per operation (2 queries)."""

    def __init__(self):
        self.by_severity: dict[int, list[SLAPolicy]] = {}
        self.by_id: dict[int, SLAPolicy] = {}
        for policy in SLAPolicy.objects.order_by("pk"):
            self.by_id[policy.pk] = policy
            if policy.active:
                self.by_severity.setdefault(policy.severity, []).append(policy)
        self.parent = dict(Category.objects.values_list("pk", "parent_id"))

    def ancestry(self, category_id: int | None) -> list[int]:
        """The category and its ancestors, nearest first."""
        chain, seen = [], set()
        while category_id is not None and category_id not in seen:
            seen.add(category_id)
            chain.append(category_id)
            category_id = self.parent.get(category_id)
        return chain

    def match(self, severity: int, category_id: int | None, tier: str | None) -> SLAPolicy | None:
        """The most specific policy: deepest matching category first, then a matching tier."""
        chain = self.ancestry(category_id)
        best, best_rank = None, None
        for policy in self.by_severity.get(severity, ()):
            if policy.category_id is not None and policy.category_id not in chain:
                continue
            if policy.customer_tier and policy.customer_tier != tier:
                continue
            rank = (
                len(chain) - chain.index(policy.category_id) if policy.category_id else 0,
                1 if policy.customer_tier else 0,
            )
            if best_rank is None or rank > best_rank:
                best, best_rank = policy, rank
        return best


@dataclass
class Context:
    """What deadline computation needs, loaded once and reused for many complaints."""

    policies: PolicyIndex
    calendars: dict

    @classmethod
    def load(cls) -> "Context":
        return cls(policies=PolicyIndex(), calendars=calendars_by_id())

    @classmethod
    def current(cls) -> "Context":
        """The context from this process's copy while policies, categories and calendars are
        unchanged (reference_cache: no query); read-only, shared by requests."""
        return reference_cache.get("sla-context", cls.load)


_UNKNOWN = object()


def compute(complaint: Complaint, ctx: Context, *, tier=_UNKNOWN) -> dict:
    """The deadline fields the complaint should have now (pure apart from `ctx`; pass the
    customer's tier when the customer is not loaded)."""
    if tier is _UNKNOWN:
        tier = complaint.customer.tier if complaint.customer_id else None
    policy = ctx.policies.match(complaint.severity, complaint.category_id, tier)
    clock = clock_for_policy(policy, ctx.calendars)
    values: dict = {"sla_policy_id": policy.pk if policy else None}
    provisional = False
    pauses = finished_pauses(complaint)
    for kind, due_field, warn_field, met_field in KINDS:
        if getattr(complaint, met_field) is not None:
            # Met deadlines are history: they never move, whatever the policy does now.
            values[due_field] = getattr(complaint, due_field)
            values[warn_field] = getattr(complaint, warn_field)
            continue
        if policy is None:
            values[due_field] = values[warn_field] = None
            continue
        start = complaint.received_at
        if kind == "resolve" and complaint.resolve_clock_started_at:
            start = complaint.resolve_clock_started_at
        allowed = allowance_seconds(
            getattr(policy, f"{kind}_amount"), getattr(policy, f"{kind}_unit"), clock
        )
        due = clock.add(start, allowed)
        warn = clock.add(start, allowed * policy.warning_percent // 100)
        for paused_at, resumed_at in pauses:
            if paused_at < start:
                continue  # an earlier clock cycle (before reopening)
            # A point not yet reached when the clock stopped resumes with the time it had left.
            if paused_at < due:
                due = clock.add(resumed_at, clock.between(paused_at, due))
            if paused_at < warn:
                warn = clock.add(resumed_at, clock.between(paused_at, warn))
        values[due_field], values[warn_field] = due, warn
        provisional = provisional or clock.provisional(start, due)
    values["deadline_provisional"] = provisional
    values["due_at"] = earliest_pending(
        complaint.status,
        tuple(getattr(complaint, kind[3]) for kind in KINDS),
        tuple(values[kind[1]] for kind in KINDS),
    )
    values["next_alert_at"] = next_alert_point(complaint, values)
    return values


def next_alert_point(complaint: Complaint, values: dict) -> datetime | None:
    """When the deadline sweep should first look at the complaint: its earliest pending
    warning point, or at once for a crisis. The sweep moves it on from there."""
    if complaint.status not in OPEN_STATUSES:
        return None
    points = []
    if complaint.status != Status.AWAITING_CUSTOMER:
        points = [
            values[warn]
            for _kind, _due, warn, met in KINDS
            if getattr(complaint, met) is None and values[warn] is not None
        ]
    if complaint.severity == Severity.CRISIS:
        points.append(complaint.received_at)
    return min(points) if points else None


def _changes(complaint: Complaint, values: dict) -> dict:
    changes = {}
    for field, new in values.items():
        old = getattr(complaint, field)
        if old != new:
            changes[field] = (old, new)
    # A change of next_alert_at alone is saved too (no timeline entry: INTERNAL_FIELDS): it
    # is the first point the deadline rules give, which the database copies to the sweep's
    # schedule (AlertSchedule), no longer the sweep's own bookmark.
    return changes


def _describe(changes: dict, ctx: Context) -> dict:
    """Changes as the timeline stores them: local ISO times, policy names."""

    def show(field, value):
        if isinstance(value, datetime):
            return timezone.localtime(value).isoformat()
        if field == "sla_policy" and value is not None:
            policy = ctx.policies.by_id.get(value)
            return names(policy) if policy else value
        return value

    named = {field.removesuffix("_id"): pair for field, pair in changes.items()}
    return {field: [show(field, old), show(field, new)] for field, (old, new) in named.items()}


def recompute_one(complaint: Complaint, ctx: Context, *, reason, user, now):
    """Set the deadlines the complaint should have (in memory). Returns the changed fields
    and, when deadlines moved (not only bookkeeping), the unsaved timeline event."""
    changes = _changes(complaint, compute(complaint, ctx))
    for field, (_old, new) in changes.items():
        setattr(complaint, field, new)
    if not changes.keys() - INTERNAL_FIELDS:
        return changes, None
    event = ComplaintEvent(
        complaint=complaint,
        kind=ComplaintEvent.Kind.DEADLINES,
        actor=user,
        created_at=now,
        # Why: a stored message (rendered in the reader's language), or plain text (old jobs).
        note="" if is_stored(reason) else reason,
        data={
            "changes": _describe(changes, ctx),
            **({"message": reason} if is_stored(reason) else {}),
        },
    )
    return changes, event


def apply(complaint: Complaint, ctx: Context, *, reason, user=None, now=None) -> dict:
    """Recompute a (locked) complaint's deadlines in memory; record an event if they moved.

    Returns the changed fields; the caller saves the complaint."""
    changes, event = recompute_one(
        complaint, ctx, reason=reason, user=user, now=now or timezone.now()
    )
    if event is not None:
        event.save()
    return changes


def pause(complaint: Complaint, *, now) -> None:
    """Stop the clock (entering awaiting customer). The complaint is saved by the caller."""
    if complaint.sla_paused_at is None:
        complaint.sla_paused_at = now


def resume(complaint: Complaint, *, now) -> None:
    """Restart the clock: the pause is recorded and `compute` gives every deadline not yet
    reached when the clock stopped the working time it had left then."""
    if complaint.sla_paused_at is None:
        return
    pause = [complaint.sla_paused_at.isoformat(), now.isoformat()]
    complaint.sla_pauses = [*complaint.sla_pauses, pause]
    complaint.sla_paused_at = None


def finished_pauses(complaint: Complaint) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromisoformat(start), datetime.fromisoformat(end))
        for start, end in complaint.sla_pauses
    ]


def restart_resolution_clock(complaint: Complaint, *, now) -> None:
    """Reopening starts a new resolution clock (earlier pauses belong to the old one)."""
    complaint.resolve_clock_started_at = now
    complaint.resolve_due_at = complaint.resolve_warn_at = None


def recompute_open(
    *,
    reason,
    calendar_id: int | None = None,
    severity: int | None = None,
    customer_id: int | None = None,
    provisional_only: bool = False,
    actor=None,
    now: datetime | None = None,
    batch_size: int = 500,
) -> int:
    """Recompute the deadlines of open complaints after a calendar, policy, customer tier or
    the category tree changed (no filter: every open complaint).

    Works in batches, each in its own transaction with the rows locked; returns how many
    complaints' deadlines moved. Safe to run repeatedly."""
    now = now or timezone.now()
    ctx = Context.load()
    rows = Complaint.objects.filter(status__in=OPEN_STATUSES)
    if provisional_only:
        rows = rows.filter(deadline_provisional=True)
    if severity is not None:
        rows = rows.filter(severity=severity)
    if calendar_id is not None:
        rows = rows.filter(sla_policy__calendar_id=calendar_id)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    moved, last_pk = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                rows.filter(pk__gt=last_pk)
                .select_related("customer")
                .select_for_update(of=("self",))
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return moved
            last_pk = batch[-1].pk
            changed_rows, events = [], []
            for complaint in batch:
                changes, event = recompute_one(complaint, ctx, reason=reason, user=actor, now=now)
                if changes:
                    changed_rows.append(complaint)
                if event is not None:
                    complaint.updated_at = now
                    events.append(event)
            if changed_rows:
                Complaint.objects.bulk_update(changed_rows, [*DEADLINE_FIELDS, "updated_at"])
                ComplaintEvent.objects.bulk_create(events)
                moved += len(events)


def working_seconds(complaint: Complaint, end: datetime, calendars: dict) -> int:
    """Working seconds on the complaint's SLA clock from receipt to `end`, less the working time
    the clock stood in between (awaiting the customer): what the deadlines count."""
    clock = clock_for_policy(complaint.sla_policy, calendars)
    start = complaint.received_at
    if end <= start:
        return 0
    stood = list(finished_pauses(complaint))
    if complaint.sla_paused_at is not None:
        stood.append((complaint.sla_paused_at, end))
    total = clock.between(start, end)
    for paused_at, resumed_at in stood:
        a, b = max(paused_at, start), min(resumed_at, end)
        if b > a:
            total -= clock.between(a, b)
    return max(0, total)


def record_work_durations(complaint: Complaint, calendars: dict | None = None) -> None:
    """Set the stored working-time durations (to first response, to resolution) from the
    complaint's met-at times, in memory; reports aggregate these columns in the database."""
    if calendars is None:
        policy = complaint.sla_policy
        ids = [policy.calendar_id] if policy and policy.calendar_id else []
        calendars = calendars_by_id(ids)
    for met_field, field in (
        ("first_response_at", "first_response_work_seconds"),
        ("resolved_at", "resolution_work_seconds"),
    ):
        end = getattr(complaint, met_field)
        seconds = None if end is None else working_seconds(complaint, end, calendars)
        setattr(complaint, field, seconds)


def working_time_left(complaint: Complaint, calendars: dict, *, now: datetime) -> int | None:
    """Seconds of the policy's clock until the next deadline; negative when overdue."""
    if complaint.due_at is None:
        return None
    clock = clock_for_policy(complaint.sla_policy, calendars)
    if complaint.due_at >= now:
        return clock.between(now, complaint.due_at)
    return -clock.between(complaint.due_at, now)


def format_duration(seconds: int, clock: Clock) -> str:
    """'2 working days 3 h', '5 h 20 min', '40 min' on a calendar or the wall clock."""
    seconds = abs(seconds)
    days, rest = divmod(seconds, clock.day_seconds) if clock.day_seconds else (0, seconds)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        if clock.day_seconds == 86400:
            parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
        else:
            parts.append(ngettext("%(n)d working day", "%(n)d working days", days) % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if minutes and not days:
        parts.append(_("%(n)d min") % {"n": minutes})
    return " ".join(parts) or _("%(n)d min") % {"n": 0}
