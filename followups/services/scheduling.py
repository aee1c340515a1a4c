"""Scheduling return visits when a complaint is resolved, from the most specific policy, on
the same working-time clock as the SLA deadlines (complaints.sla.clock via
complaints.services.calendars / sla.allowance_seconds)."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_noop

from complaints.messages import names, stored
from complaints.models import BusinessCalendar, Category, Complaint, ComplaintEvent, Status
from complaints.services.calendars import WALL_CLOCK, calendars_by_id
from complaints.services.sla import allowance_seconds

from ..models import FollowUp, FollowUpPolicy, FollowUpStep, Kind
from ..models import Status as FollowUpStatus


@dataclass
class PolicyIndex:
    """Active follow-up policies, their steps and the category tree (3 queries)."""

    policies: list[FollowUpPolicy]
    parent: dict[int, int | None]
    calendars: dict
    default_calendar_id: int | None

    @classmethod
    def load(cls) -> "PolicyIndex":
        policies = list(
            FollowUpPolicy.objects.filter(active=True).prefetch_related("steps").order_by("pk")
        )
        default = BusinessCalendar.objects.filter(is_default=True).values_list("pk", flat=True)
        return cls(
            policies=policies,
            parent=dict(Category.objects.values_list("pk", "parent_id")),
            calendars=calendars_by_id(),
            default_calendar_id=default.first(),
        )

    def ancestry(self, category_id: int | None) -> list[int]:
        chain, seen = [], set()
        while category_id is not None and category_id not in seen:
            seen.add(category_id)
            chain.append(category_id)
            category_id = self.parent.get(category_id)
        return chain

    def match(self, severity: int, category_id: int | None) -> FollowUpPolicy | None:
        """The most specific policy: the deepest matching category first, then one that
        names the severity."""
        chain = self.ancestry(category_id)
        best, best_rank = None, None
        for policy in self.policies:
            if policy.category_id is not None and policy.category_id not in chain:
                continue
            if policy.severity is not None and policy.severity != severity:
                continue
            rank = (
                len(chain) - chain.index(policy.category_id) if policy.category_id else 0,
                1 if policy.severity is not None else 0,
            )
            if best_rank is None or rank > best_rank:
                best, best_rank = policy, rank
        return best

    def clock(self, policy: FollowUpPolicy, step: FollowUpStep):
        if not step.working_time:
            return WALL_CLOCK
        calendar_id = policy.calendar_id or self.default_calendar_id
        return self.calendars.get(calendar_id, WALL_CLOCK)

    def due_at(self, policy: FollowUpPolicy, step: FollowUpStep, resolved_at: datetime):
        clock = self.clock(policy, step)
        return clock.add(resolved_at, allowance_seconds(step.amount, step.unit, clock))


def _round(complaint: Complaint) -> int:
    return complaint.reopened_count


def schedule_for(
    complaint_id: int, *, index: PolicyIndex | None = None, now=None
) -> list[FollowUp]:
    """Create the follow-ups of a resolved complaint's current resolution (none if it is not
    resolved, or they exist already). Safe to run twice or concurrently: the unique
    constraint (complaint, round, kind) keeps one of each."""
    now = now or timezone.now()
    index = index or PolicyIndex.load()
    with transaction.atomic():
        complaint = (
            Complaint.objects.select_for_update(of=("self",))
            .filter(pk=complaint_id, status=Status.RESOLVED)
            .first()
        )
        if complaint is None or complaint.resolved_at is None:
            return []
        round_ = _round(complaint)
        if FollowUp.objects.filter(complaint=complaint, round=round_).exists():
            return []
        policy = index.match(complaint.severity, complaint.category_id)
        if policy is None:
            return []
        rows = [
            FollowUp(
                complaint=complaint,
                round=round_,
                kind=step.kind,
                policy=policy,
                due_at=index.due_at(policy, step, complaint.resolved_at),
                assignee_id=complaint.assignee_id,
                method=step.method,
                required_before_close=step.required_before_close,
                created_at=now,
            )
            for step in sorted(policy.steps.all(), key=lambda s: Kind.values.index(s.kind))
        ]
        if not rows:
            return []
        try:
            with transaction.atomic():
                FollowUp.objects.bulk_create(rows)
        except IntegrityError:
            return []  # another worker scheduled them first
        # Visits still open from an earlier resolution (reopened by hand) are superseded.
        FollowUp.objects.filter(
            complaint=complaint, round__lt=round_, status=FollowUpStatus.SCHEDULED
        ).update(status=FollowUpStatus.CANCELLED, done_at=now)
        ComplaintEvent.objects.create(
            complaint=complaint,
            kind=ComplaintEvent.Kind.NOTE,
            created_at=now,
            data={
                "source": "followups",
                "message": stored(
                    gettext_noop(
                        "%(count)s follow-up(s) scheduled by policy “%(policy)s”, the first "
                        "due %(due)s."
                    ),
                    count=len(rows),
                    policy=names(policy),
                    due=f"{timezone.localtime(min(r.due_at for r in rows)):%Y-%m-%d %H:%M}",
                ),
            },
        )
    return rows


def schedule_missing(*, now=None, limit: int = 1000) -> int:
    """The periodic catch-up: resolved complaints whose current resolution has no
    follow-ups yet (a lost after-commit call, a crash). Returns how many were scheduled."""
    now = now or timezone.now()
    has_round = FollowUp.objects.filter(
        complaint_id=OuterRef("pk"), round=OuterRef("reopened_count")
    )
    ids = list(
        Complaint.objects.filter(status=Status.RESOLVED)
        .filter(~Exists(has_round))
        .order_by("resolved_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    index = PolicyIndex.load()
    return sum(1 for pk in ids if schedule_for(pk, index=index, now=now))
