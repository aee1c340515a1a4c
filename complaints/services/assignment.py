"""Daily work on the queue: "take it" (assign to me), assigning many complaints to a colleague
and closing many resolved complaints at once.

Every complaint goes through `lifecycle` (row lock, version check, timeline entry, the
workflow's rules); these functions add the checks of the action (isolation, who may take what)
and, for many complaints, run each in its own savepoint: a complaint that is refused is
counted with its reason, one that fails unexpectedly is logged and counted, and neither stops
the others. What was done is returned as a `BatchResult` for the message to the user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import OPEN_STATUSES, Complaint, DepartmentMembership, Status
from ..selectors import visible_complaints
from . import lifecycle
from .errors import NotPermitted, ServiceError, StaleVersion, TransitionNotAllowed
from .locking import check_version, lock

log = logging.getLogger(__name__)

# At most this many complaints per bulk action (each is a locked, audited change).
MAX_BATCH = 500

# Why a complaint was left alone, in the order the message lists them.
REASONS = {
    "finished": gettext_lazy("already finished"),
    "not_resolved": gettext_lazy("not resolved yet"),
    "already_closed": gettext_lazy("already closed"),
    "already_assigned": gettext_lazy("already assigned to them"),
    "no_department": gettext_lazy("no responsible department"),
    "other_department": gettext_lazy("other department"),
    "not_visible": gettext_lazy("not found or not yours to see"),
    "not_permitted": gettext_lazy("not permitted"),
    "changed": gettext_lazy("changed by someone else meanwhile"),
    "rule": gettext_lazy("a closing rule is not met"),
    "over_limit": gettext_lazy("over the limit of one run"),
    "error": gettext_lazy("failed (logged)"),
}


@dataclass
class BatchResult:
    done: list[str] = field(default_factory=list)  # references
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> references
    details: dict[str, list[str]] = field(default_factory=dict)  # rule message -> references

    def skip(self, reason: str, reference: str, detail: str | None = None) -> None:
        self.skipped.setdefault(reason, []).append(reference)
        if detail:
            self.details.setdefault(detail, []).append(reference)

    @property
    def skipped_count(self) -> int:
        return sum(len(refs) for refs in self.skipped.values())

    def summary(self, done_label: str) -> str:
        """ "12 assigned, 3 skipped: 2 already finished, 1 other department"."""
        text = _("%(count)d %(done)s") % {"count": len(self.done), "done": done_label}
        if not self.skipped:
            return text
        reasons = ", ".join(
            _("%(count)d %(reason)s") % {"count": len(self.skipped[key]), "reason": REASONS[key]}
            for key in REASONS
            if key in self.skipped
        )
        return _("%(done)s, %(count)d skipped: %(reasons)s") % {
            "done": text,
            "count": self.skipped_count,
            "reasons": reasons,
        }

    def detail_lines(self, limit: int = 10) -> list[str]:
        """One line per reason naming the complaints (the first `limit` of them)."""
        lines = []
        for key in REASONS:
            refs = self.skipped.get(key)
            if refs:
                lines.append(f"{REASONS[key]}: {_references(refs, limit)}")
        for message, refs in self.details.items():
            lines.append(f"{message} ({_references(refs, limit)})")
        return lines


def _references(refs: list[str], limit: int) -> str:
    shown = ", ".join(refs[:limit])
    if len(refs) > limit:
        shown += " " + _("… and %(count)d more") % {"count": len(refs) - limit}
    return shown


# -- who may take what --------------------------------------------------------------------


def assignee_candidates(department_ids) -> QuerySet:
    """Active staff who are members of every one of these departments: who may be the
    assignee of all the complaints of these departments (the rule of the assignee picker)."""
    ids = {pk for pk in department_ids if pk is not None}
    User = get_user_model()
    if not ids:
        return User.objects.none()
    return (
        User.objects.filter(is_active=True, department_memberships__department_id__in=ids)
        .annotate(
            _departments=Count(
                "department_memberships",
                filter=Q(department_memberships__department_id__in=ids),
                distinct=True,
            )
        )
        .filter(_departments=len(ids))
        .order_by("first_name", "last_name", "username")
    )


def may_handle(user, department_id: int | None) -> bool:
    """May `user` work on complaints of this department (change them, be their assignee)?"""
    if user is None or not user.is_active or department_id is None:
        return False
    if not user.has_perm("complaints.change_complaint"):
        return False
    return DepartmentMembership.objects.filter(user=user, department_id=department_id).exists()


def can_take(user, complaint: Complaint) -> bool:
    """Whether the change page offers "Take it" (the service checks again when pressed)."""
    if not complaint.is_open or complaint.assignee_id == getattr(user, "pk", None):
        return False
    if complaint.department_id is None:
        return (
            user.has_perm("complaints.change_complaint")
            and DepartmentMembership.objects.filter(user=user).count() == 1
        )
    return may_handle(user, complaint.department_id)


# -- take it ----------------------------------------------------------------------------------


def take(complaint_id: int, *, user, expected_version: int | None = None, now=None) -> Complaint:
    """Assign the complaint to `user` (who must be allowed to handle its department).

    A complaint without a responsible department goes to the user's department when they
    belong to exactly one. With `expected_version` (the page's) a complaint changed since the
    page was loaded is refused (StaleVersion): nothing is taken over unseen."""
    now = now or timezone.now()
    if user is None or not user.has_perm("complaints.change_complaint"):
        raise NotPermitted(_("You do not have permission to do this."))
    if not visible_complaints(user, Complaint.objects.filter(pk=complaint_id)).exists():
        raise NotPermitted(_("This complaint does not exist or is not yours to see."))
    with transaction.atomic():
        complaint = lock(complaint_id)
        check_version(complaint, expected_version)
        if complaint.assignee_id == user.pk:
            raise ServiceError(_("%(reference)s is already yours.") % _ref(complaint))
        if not complaint.is_open:
            raise ServiceError(
                _("%(reference)s is “%(status)s”: finished complaints are not assigned.")
                % {**_ref(complaint), "status": complaint.get_status_display()}
            )
        department = complaint.department
        if department is None:
            memberships = list(
                DepartmentMembership.objects.filter(user=user).select_related("department")[:2]
            )
            if len(memberships) != 1:
                raise ServiceError(_("Set the responsible department first."))
            department = memberships[0].department
        if not may_handle(user, department.pk):
            raise NotPermitted(
                _("You are not a member of %(department)s, which is responsible for it.")
                % {"department": department}
            )
        return lifecycle.assign(
            complaint.pk, user=user, department=department, assignee=user, now=now
        )


def _ref(complaint) -> dict:
    return {"reference": complaint.reference}


# -- many at once --------------------------------------------------------------------------------


def _batch(ids, *, user) -> tuple[list[int], dict[int, tuple], BatchResult]:
    """The visible complaints among `ids` (at most MAX_BATCH) with the few columns the
    pre-checks read, in one query; ids that are not visible are counted."""
    result = BatchResult()
    ids = list(dict.fromkeys(int(pk) for pk in ids))
    over = ids[MAX_BATCH:]
    ids = ids[:MAX_BATCH]
    # Columns that cannot be unreadable (no timestamps): a poisoned row still loads here.
    rows = {
        pk: rest
        for pk, *rest in visible_complaints(user, Complaint.objects.filter(pk__in=ids))
        .order_by("pk")
        .values_list("pk", "reference", "status", "department_id", "assignee_id")
    }
    for pk in ids:
        if pk not in rows:
            result.skip("not_visible", f"#{pk}")
    for pk in over:
        result.skip("over_limit", f"#{pk}")
    return [pk for pk in ids if pk in rows], rows, result


def _each(pks, rows, result: BatchResult, apply, classify) -> None:
    """Run `apply(pk)` for each complaint in its own savepoint; refusals and failures are
    counted, never raised."""
    for pk in pks:
        reference = rows[pk][0]
        try:
            with transaction.atomic():
                apply(pk)
        except ServiceError as exc:
            reason, detail = classify(exc)
            result.skip(reason, reference, detail)
        except Exception:  # noqa: BLE001 - one bad complaint never stops the others
            log.exception("Bulk action failed on complaint %s", pk)
            result.skip("error", reference)
        else:
            result.done.append(reference)


def _assign_reason(exc: ServiceError) -> tuple[str, str | None]:
    if isinstance(exc, StaleVersion):
        return "changed", None
    if isinstance(exc, NotPermitted):
        return "not_permitted", None
    return "rule", exc.message


def bulk_assign(ids, *, user, assignee, now=None) -> BatchResult:
    """Assign each of these complaints to `assignee` (who must be a member of its department).
    Finished complaints, complaints without a department or of a department the assignee is
    not in, and those already theirs are skipped with the reason."""
    now = now or timezone.now()
    if not user.has_perm("complaints.change_complaint"):
        raise NotPermitted(_("You do not have permission to do this."))
    pks, rows, result = _batch(ids, user=user)
    allowed = set(
        DepartmentMembership.objects.filter(user=assignee).values_list("department_id", flat=True)
    )
    todo = []
    for pk in pks:
        reference, status, department_id, assignee_id = rows[pk]
        if status not in _OPEN:
            result.skip("finished", reference)
        elif department_id is None:
            result.skip("no_department", reference)
        elif assignee_id == assignee.pk:
            result.skip("already_assigned", reference)
        elif not assignee.is_active or department_id not in allowed:
            result.skip("other_department", reference)
        else:
            todo.append(pk)

    def apply(pk):
        complaint = lock(pk)  # the state the pre-check read may have changed since
        if not complaint.is_open:
            raise _Skip("finished")
        if complaint.department_id not in allowed:
            raise _Skip("other_department")
        lifecycle.assign(pk, user=user, department=complaint.department, assignee=assignee, now=now)

    _each(todo, rows, result, apply, _classify_with(_assign_reason))
    return result


def bulk_take(ids, *, user, now=None) -> BatchResult:
    """ "Assign to me" for many complaints: each through `take` (its checks, its timeline)."""
    now = now or timezone.now()
    if not user.has_perm("complaints.change_complaint"):
        raise NotPermitted(_("You do not have permission to do this."))
    pks, rows, result = _batch(ids, user=user)
    mine = set(
        DepartmentMembership.objects.filter(user=user).values_list("department_id", flat=True)
    )
    todo = []
    for pk in pks:
        reference, status, department_id, assignee_id = rows[pk]
        if status not in _OPEN:
            result.skip("finished", reference)
        elif assignee_id == user.pk:
            result.skip("already_assigned", reference)
        elif department_id is None and len(mine) != 1:
            result.skip("no_department", reference)
        elif department_id is not None and department_id not in mine:
            result.skip("other_department", reference)
        else:
            todo.append(pk)
    _each(
        todo,
        rows,
        result,
        lambda pk: take(pk, user=user, now=now),
        _classify_with(_assign_reason),
    )
    return result


def bulk_close(ids, *, user, note: str = "", now=None) -> BatchResult:
    """Close each resolved complaint through the workflow's Close step (its permission, the
    follow-up rule and every other close blocker); the others are skipped with the reason."""
    now = now or timezone.now()
    if not user.has_perm("complaints.close_complaint"):
        raise NotPermitted(_("You do not have permission to do this."))
    pks, rows, result = _batch(ids, user=user)
    todo = []
    for pk in pks:
        reference, status, _department_id, _assignee_id = rows[pk]
        if status == Status.RESOLVED:
            todo.append(pk)
        elif status == Status.CLOSED:
            result.skip("already_closed", reference)
        elif status in _OPEN:
            result.skip("not_resolved", reference)
        else:
            result.skip("finished", reference)

    def reason(exc):
        if isinstance(exc, TransitionNotAllowed):
            return "not_resolved", None
        return _assign_reason(exc)

    _each(
        todo,
        rows,
        result,
        lambda pk: lifecycle.transition(pk, Status.CLOSED, user=user, note=note, now=now),
        _classify_with(reason),
    )
    return result


class _Skip(ServiceError):
    """A pre-check that no longer holds under the row lock: skipped with this reason."""

    def __init__(self, reason: str):
        super().__init__(REASONS[reason])
        self.reason = reason


def _classify_with(fallback):
    def classify(exc):
        if isinstance(exc, _Skip):
            return exc.reason, None
        return fallback(exc)

    return classify


_OPEN = frozenset(str(s.value) for s in OPEN_STATUSES)
