"""Demo data for the follow-ups app, built in bulk on top of `seed_demo`'s complaints:
return visits for resolved and closed complaints (from the policies, on the SLA clock),
answered satisfaction surveys, repeat links and a few improvement actions.

`make demo-data` runs it after seed_demo; it does nothing when follow-ups already exist."""

import time
from datetime import timedelta
from random import Random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.demo.seeder import Seeder
from complaints.models import Complaint, DepartmentMembership, RootCause, Status

from ...models import (
    ActionStatus,
    FollowUp,
    ImprovementAction,
    Kind,
    RepeatLink,
    SurveyInvitation,
)
from ...models import Status as FStatus
from ...services.repeats import window
from ...services.scheduling import PolicyIndex

ROOT_CAUSES = [
    ("design", "设计缺陷", "Design flaw"),
    ("material", "材料质量", "Material quality"),
    ("workmanship", "施工工艺", "Workmanship"),
    ("process", "流程缺失", "Missing process"),
    ("communication", "沟通不到位", "Poor communication"),
]
ACTIONS = [
    ("material", "更换 B 区老化立管 / Replace ageing risers in block B", 150, True),
    ("workmanship", "防水施工验收清单 / Waterproofing acceptance checklist", 120, False),
    ("communication", "销售承诺书面确认 / Sales promises confirmed in writing", 60, None),
    ("process", "维修回访标准流程 / Standard repair callback process", -20, None),
]


class Command(BaseCommand):
    help = "Demo follow-ups, surveys, repeat links and improvement actions (bulk)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, seed, verbosity, **options):
        say = self.stdout.write if verbosity else (lambda message: None)
        if FollowUp.objects.exists():
            say(_("Follow-ups already exist; nothing to do."))
            return
        started, rnd, now = time.monotonic(), Random(seed), timezone.now()
        visits, surveys = self.followups(rnd, now)
        links = self.repeats()
        actions = self.actions(rnd, now)
        say(
            self.style.SUCCESS(
                _(
                    "Created %(f)s follow-ups, %(s)s surveys, %(r)s repeat links and %(a)s "
                    "improvement actions in %(t).1f s."
                )
                % {
                    "f": visits,
                    "s": surveys,
                    "r": links,
                    "a": actions,
                    "t": time.monotonic() - started,
                }
            )
        )

    def followups(self, rnd: Random, now) -> tuple[int, int]:
        index = PolicyIndex.load()
        hours = Seeder(lambda message: None, rnd, 0, 0)  # the demo department's working hours
        hours.load_calendar()
        rows = (
            Complaint.objects.filter(status__in=(Status.RESOLVED, Status.CLOSED))
            .exclude(resolved_at=None)
            .order_by("pk")
            .values_list(
                "pk",
                "severity",
                "category_id",
                "resolved_at",
                "reopened_count",
                "assignee_id",
                "status",
                "closed_at",
            )
        )
        total_visits = total_surveys = 0
        last = 0
        while True:
            batch = list(rows.filter(pk__gt=last)[:2000])
            if not batch:
                return total_visits, total_surveys
            last = batch[-1][0]
            visits, surveys = [], []
            for (
                pk,
                severity,
                category_id,
                resolved_at,
                round_,
                assignee_id,
                status,
                closed_at,
            ) in batch:
                policy = index.match(severity, category_id)
                if policy is None:
                    continue
                for step in policy.steps.all():
                    due = index.due_at(policy, step, resolved_at)
                    f = FollowUp(
                        complaint_id=pk,
                        round=round_,
                        kind=step.kind,
                        policy=policy,
                        due_at=due,
                        assignee_id=assignee_id,
                        method=step.method,
                        required_before_close=step.required_before_close,
                        created_at=resolved_at,
                    )
                    closed = status == Status.CLOSED
                    # Closing needed the required visits done: they were, before the close.
                    must = closed and step.required_before_close
                    if must or (due < now and (closed or rnd.random() < 0.75)):
                        # Staff call back in working hours, before the visit falls due.
                        done_at = min(now, due - timedelta(hours=rnd.randint(0, 20)))
                        if must and closed_at is not None:
                            done_at = min(done_at, closed_at)
                        done_at = hours.at_work_before(done_at, rnd)
                        if done_at < resolved_at:  # the same day as the resolution
                            done_at = min(resolved_at + timedelta(minutes=20), closed_at or now)
                            done_at = max(hours.at_work_before(done_at, rnd), resolved_at)
                        if rnd.random() < 0.1 and not (closed and step.required_before_close):
                            f.status, f.reached = FStatus.NOT_REACHED, False
                        else:
                            f.status, f.reached = FStatus.DONE, True
                            f.solved = rnd.random() < 0.93
                            f.satisfaction = rnd.choices([5, 4, 3, 2, 1], [45, 30, 15, 7, 3])[0]
                        f.done_at, f.done_by_id = done_at, assignee_id
                        f.reminded_at = due - timedelta(hours=4)
                        if step.kind == Kind.SATISFACTION and f.reached and rnd.random() < 0.5:
                            surveys.append(
                                SurveyInvitation(
                                    complaint_id=pk,
                                    created_at=done_at - timedelta(days=2),
                                    expires_at=done_at + timedelta(days=12),
                                    used_at=done_at,
                                    outcome_score=f.satisfaction,
                                    handling_score=max(
                                        1, min(5, f.satisfaction + rnd.choice((-1, 0, 0, 1)))
                                    ),
                                    solved=f.solved,
                                    answered_language=rnd.choice(("zh-hans", "en")),
                                )
                            )
                    visits.append(f)
            with transaction.atomic():
                FollowUp.objects.bulk_create(visits, batch_size=500)
                SurveyInvitation.objects.bulk_create(surveys, batch_size=500)
            total_visits += len(visits)
            total_surveys += len(surveys)

    def repeats(self) -> int:
        """Link every complaint to the earlier ones of its customer about the same category or
        item within the window (what intake does one complaint at a time)."""
        span = window()
        rows = (
            Complaint.objects.exclude(status__in=(Status.INVALID, Status.MERGED))
            .order_by("customer_id", "received_at", "pk")
            .values_list("pk", "customer_id", "category_id", "item_ref", "received_at")
            .iterator(chunk_size=5000)
        )
        links, count, recent, customer = [], 0, [], None
        for pk, customer_id, category_id, item_ref, received in rows:
            if customer_id != customer:
                customer, recent = customer_id, []
            recent = [r for r in recent if received - r[3] <= span]
            for e_pk, e_category, e_item, e_received in recent:
                category = category_id is not None and category_id == e_category
                item = bool(item_ref) and item_ref == e_item
                if category or item:
                    basis = "both" if category and item else ("category" if category else "item")
                    links.append(
                        RepeatLink(
                            complaint_id=pk,
                            earlier_id=e_pk,
                            basis=basis,
                            days_between=(received - e_received).days,
                            created_at=received,
                        )
                    )
            recent.append((pk, category_id, item_ref, received))
            if len(links) >= 5000:
                RepeatLink.objects.bulk_create(links, batch_size=500, ignore_conflicts=True)
                count, links = count + len(links), []
        RepeatLink.objects.bulk_create(links, batch_size=500, ignore_conflicts=True)
        return count + len(links)

    def actions(self, rnd: Random, now) -> int:
        causes = {
            code: RootCause.objects.get_or_create(code=code, defaults={"name": zh, "name_en": en})[
                0
            ]
            for code, zh, en in ROOT_CAUSES
        }
        heads = list(
            DepartmentMembership.objects.filter(role=DepartmentMembership.Role.HEAD)
            .select_related("department")
            .order_by("pk")
        )
        if not heads:
            return 0
        made = 0
        for i, (cause, title, days_ago, effective) in enumerate(ACTIONS):
            head = heads[i % len(heads)]
            linked = list(
                Complaint.objects.filter(department=head.department)
                .exclude(category=None)
                .order_by("-received_at")
                .values_list("pk", "category_id")[:5]
            )
            action = ImprovementAction.objects.create(
                title=title,
                root_cause=causes[cause],
                category_id=linked[0][1] if linked else None,
                department=head.department,
                owner=head.user,
                due_date=(now - timedelta(days=days_ago)).date(),
                review_days=30,
                created_at=now - timedelta(days=abs(days_ago) + 30),
            )
            action.complaints.set([pk for pk, _c in linked])
            if effective is not None:
                from ...services.actions import effectiveness

                action.status, action.completed_at = (
                    ActionStatus.DONE,
                    now - timedelta(days=days_ago),
                )
                figures = effectiveness(action, now=now)
                action.before_complaints, action.before_repeats = (
                    figures.before_complaints,
                    figures.before_repeats,
                )
                action.after_complaints, action.after_repeats = (
                    figures.after_complaints,
                    figures.after_repeats,
                )
                action.status = ActionStatus.VERIFIED if effective else ActionStatus.INEFFECTIVE
                action.verdict = (
                    "重复投诉率下降 / Fewer repeats" if effective else "未见改善 / No improvement"
                )
                action.reviewed_by, action.reviewed_at = (
                    head.user,
                    now - timedelta(days=days_ago - 31),
                )
                action.save()
            elif days_ago > 0:
                action.status = ActionStatus.IN_PROGRESS
                action.save()
            made += 1
        return made
