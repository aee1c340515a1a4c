"""Corrective and improvement actions (整改): progress, completion and the effectiveness
review (repeat rate in the N days before completion versus the N days after, computed by
the database)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import Category, Complaint, DepartmentMembership, Status
from complaints.selectors import sees_all
from complaints.services.errors import NotPermitted, ServiceError

from ..models import OPEN_ACTION_STATUSES, ActionStatus, ImprovementAction, RepeatLink

COUNTED = ~Q(status__in=(Status.INVALID, Status.MERGED))


def visible_actions(user, actions=None):
    """Department isolation, as for complaints: managers see all, others their departments'."""
    actions = ImprovementAction.objects.all() if actions is None else actions
    if sees_all(user):
        return actions
    departments = DepartmentMembership.objects.filter(user=user).values("department_id")
    return actions.filter(Q(department_id__in=departments) | Q(owner=user))


def _lock(action_id: int, user) -> ImprovementAction:
    if user is None or not user.has_perm("followups.change_improvementaction"):
        raise NotPermitted(_("You do not have permission to do this."))
    action = visible_actions(user).select_for_update().filter(pk=action_id).first()
    if action is None:
        raise NotPermitted(_("You do not have permission to do this."))
    return action


def start(action_id: int, *, user, now=None) -> ImprovementAction:
    now = now or timezone.now()
    with transaction.atomic():
        action = _lock(action_id, user)
        if action.status != ActionStatus.OPEN:
            raise ServiceError(_("Only an open action can be started."))
        action.status, action.updated_at = ActionStatus.IN_PROGRESS, now
        action.save(update_fields=["status", "updated_at"])
    return action


def complete(action_id: int, *, user, now=None) -> ImprovementAction:
    now = now or timezone.now()
    with transaction.atomic():
        action = _lock(action_id, user)
        if action.status not in OPEN_ACTION_STATUSES:
            raise ServiceError(_("This action is already finished."))
        action.status, action.completed_at, action.updated_at = ActionStatus.DONE, now, now
        action.save(update_fields=["status", "completed_at", "updated_at"])
    return action


@dataclass(frozen=True)
class Effectiveness:
    before_complaints: int
    before_repeats: int
    after_complaints: int
    after_repeats: int
    window_complete: bool  # the "after" period has fully passed

    @staticmethod
    def _rate(repeats: int, total: int) -> Decimal | None:
        if not total:
            return None
        return (Decimal(100) * repeats / total).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def before_rate(self) -> Decimal | None:
        """Percent of the complaints in the period that repeat an earlier one."""
        return self._rate(self.before_repeats, self.before_complaints)

    @property
    def after_rate(self) -> Decimal | None:
        return self._rate(self.after_repeats, self.after_complaints)


def scope(action: ImprovementAction):
    """The complaints the action is about: its category (and subcategories) and/or item;
    without either, the complaints with its root-cause category."""
    rows = Complaint.objects.filter(COUNTED)
    if action.category_id is None and not action.item_ref:
        return rows.filter(root_cause_category_id=action.root_cause_id)
    if action.category_id is not None:
        parent = dict(Category.objects.values_list("pk", "parent_id"))
        children: dict[int, list[int]] = {}
        for pk, parent_id in parent.items():
            children.setdefault(parent_id, []).append(pk)
        tree, todo = [], [action.category_id]
        while todo:
            node = todo.pop()
            tree.append(node)
            todo += children.get(node, [])
        rows = rows.filter(category_id__in=tree)
    if action.item_ref:
        rows = rows.filter(item_ref=action.item_ref)
    return rows


def effectiveness(action: ImprovementAction, *, now: datetime | None = None) -> Effectiveness:
    """Repeat rate in the `review_days` before completion versus after (one query)."""
    now = now or timezone.now()
    if action.completed_at is None:
        raise ServiceError(_("The action is not completed yet."))
    done = action.completed_at
    span = timedelta(days=action.review_days)
    is_repeat = Exists(RepeatLink.objects.filter(complaint_id=OuterRef("pk")))
    before = Q(received_at__lt=done)
    after = Q(received_at__gte=done)
    figures = (
        scope(action)
        .filter(received_at__gte=done - span, received_at__lt=done + span)
        .annotate(is_repeat=is_repeat)
        .aggregate(
            before_complaints=Count("pk", filter=before),
            before_repeats=Count("pk", filter=before & Q(is_repeat=True)),
            after_complaints=Count("pk", filter=after),
            after_repeats=Count("pk", filter=after & Q(is_repeat=True)),
        )
    )
    return Effectiveness(**figures, window_complete=now >= done + span)


def review(action_id: int, *, user, effective: bool, verdict: str, now=None) -> ImprovementAction:
    """The reviewer's verdict on a done action, stored with the figures it was based on."""
    now = now or timezone.now()
    verdict = (verdict or "").strip()
    if not verdict:
        raise ServiceError(_("Write the reviewer's verdict."))
    with transaction.atomic():
        action = _lock(action_id, user)
        if not user.has_perm("followups.review_improvementaction"):
            raise NotPermitted(_("You do not have permission to do this."))
        if action.status != ActionStatus.DONE:
            raise ServiceError(_("Only a done action can be reviewed."))
        figures = effectiveness(action, now=now)
        if not figures.window_complete:
            raise ServiceError(
                _("The review period ends %(date)s: the after-completion figure is not final.")
                % {
                    "date": timezone.localtime(
                        action.completed_at + timedelta(days=action.review_days)
                    ).strftime("%Y-%m-%d")
                }
            )
        action.before_complaints = figures.before_complaints
        action.before_repeats = figures.before_repeats
        action.after_complaints = figures.after_complaints
        action.after_repeats = figures.after_repeats
        action.status = ActionStatus.VERIFIED if effective else ActionStatus.INEFFECTIVE
        action.verdict, action.reviewed_by, action.reviewed_at = verdict, user, now
        action.updated_at = now
        action.save()
    return action
