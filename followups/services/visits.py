"""Recording return visits, waiving them, and what they mean for the complaint: a customer
who says the problem is not solved, or gives a satisfaction of 1-2, reopens it (through
complaints' lifecycle service); closing needs the required visits done or a waiver."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from complaints.messages import stored
from complaints.models import Complaint, ComplaintEvent
from complaints.models import Status as ComplaintStatus
from complaints.selectors import can_see
from complaints.services import lifecycle
from complaints.services.errors import NotPermitted, ServiceError
from complaints.services.locking import lock

from ..models import FollowUp, FollowUpWaiver, Kind, Method, Status

DISSATISFIED = (1, 2)
# The kinds' labels as msgids, for stored messages (the same strings as models.Kind).
KIND_MSGID = {
    Kind.CALLBACK: gettext_noop("Callback (verify the fix)"),
    Kind.SATISFACTION: gettext_noop("Satisfaction check"),
}


def _require_change(user, complaint: Complaint) -> None:
    if (
        user is None
        or not user.has_perm("followups.change_followup")
        or not can_see(user, complaint)
    ):
        raise NotPermitted(_("You do not have permission to do this."))


def _lock_followup(followup_id: int) -> FollowUp:
    """Lock the complaint, then the follow-up (the order every writer uses)."""
    complaint_id = (
        FollowUp.objects.filter(pk=followup_id).values_list("complaint_id", flat=True).first()
    )
    if complaint_id is None:
        raise ServiceError(_("This follow-up does not exist."))
    lock(complaint_id)
    return FollowUp.objects.select_for_update().select_related("complaint").get(pk=followup_id)


def reopen_reason(*, solved: bool | None, satisfaction: int | None) -> str | None:
    """The msgid of why an answer reopens the complaint, or None."""
    if solved is False:
        return gettext_noop(
            "Reopened automatically: in the %(source)s the customer said the problem is not solved."
        )
    if satisfaction in DISSATISFIED:
        return gettext_noop(
            "Reopened automatically: in the %(source)s the customer gave a satisfaction of "
            "%(score)s out of 5."
        )
    return None


def reopen_if_dissatisfied(
    complaint_id: int, *, solved, satisfaction, source_msgid: str, user, comment: str, now
) -> bool:
    """Reopen a resolved or closed complaint when the answer says so (inside the caller's
    transaction). A complaint that is open again already is left as it is."""
    msgid = reopen_reason(solved=solved, satisfaction=satisfaction)
    if msgid is None:
        return False
    status = Complaint.objects.filter(pk=complaint_id).values_list("status", flat=True).first()
    if status not in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        return False
    # The rest of this resolution's visits are moot: the next resolution schedules new ones.
    FollowUp.objects.filter(complaint_id=complaint_id, status=Status.SCHEDULED).update(
        status=Status.CANCELLED, done_at=now
    )
    lifecycle.transition(
        complaint_id,
        ComplaintStatus.REOPENED,
        user=user,
        note=comment,
        now=now,
        system=True,
        data={
            "source": "followups",
            "message": stored(msgid, source=stored(source_msgid), score=satisfaction),
        },
    )
    return True


def record_outcome(
    followup_id: int,
    *,
    user,
    reached: bool,
    solved: bool | None = None,
    satisfaction: int | None = None,
    comment: str = "",
    now=None,
) -> FollowUp:
    """Record a return visit: done (customer reached: solved yes/no, satisfaction 1-5) or
    customer not reached. Reopens the complaint on "not solved" or satisfaction 1-2."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    if reached:
        if solved is None:
            raise ServiceError(_("Say whether the problem is really solved."))
        if satisfaction is not None and satisfaction not in range(1, 6):
            raise ServiceError(_("Satisfaction is a number from 1 to 5."))
    elif solved is not None or satisfaction is not None:
        raise ServiceError(
            _("The customer was not reached: leave “solved” and the satisfaction empty.")
        )
    with transaction.atomic():
        followup = _lock_followup(followup_id)
        _require_change(user, followup.complaint)
        if followup.status != Status.SCHEDULED:
            raise ServiceError(
                _("This follow-up is already “%(status)s”.")
                % {"status": followup.get_status_display()}
            )
        followup.status = Status.DONE if reached else Status.NOT_REACHED
        followup.reached = reached
        followup.solved = solved if reached else None
        followup.satisfaction = satisfaction if reached else None
        followup.comment = comment
        followup.done_at, followup.done_by = now, user
        followup.save()
        if reached:
            msg = stored(
                gettext_noop("%(kind)s done: problem solved: %(solved)s; satisfaction: %(score)s."),
                kind=stored(KIND_MSGID[followup.kind]),
                solved=stored(gettext_noop("yes") if solved else gettext_noop("no")),
                score=f"{satisfaction}/5" if satisfaction else "—",
            )
        else:
            msg = stored(
                gettext_noop("%(kind)s: the customer was not reached."),
                kind=stored(KIND_MSGID[followup.kind]),
            )
        ComplaintEvent.objects.create(
            complaint_id=followup.complaint_id,
            kind=ComplaintEvent.Kind.CONTACT if reached else ComplaintEvent.Kind.NOTE,
            actor=user,
            created_at=now,
            note=comment,
            contact_direction=ComplaintEvent.Direction.OUTBOUND if reached else "",
            data={"source": "followups", "followup": followup.pk, "message": msg},
        )
        Complaint.objects.filter(pk=followup.complaint_id).update(updated_at=now)
        if reached:
            reopen_if_dissatisfied(
                followup.complaint_id,
                solved=solved,
                satisfaction=satisfaction,
                source_msgid=gettext_noop("return visit"),
                user=user,
                comment=comment,
                now=now,
            )
    return followup


def cancel(followup_id: int, *, user, reason: str, now=None) -> FollowUp:
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why the follow-up is cancelled."))
    with transaction.atomic():
        followup = _lock_followup(followup_id)
        _require_change(user, followup.complaint)
        if followup.status != Status.SCHEDULED:
            raise ServiceError(
                _("This follow-up is already “%(status)s”.")
                % {"status": followup.get_status_display()}
            )
        followup.status = Status.CANCELLED
        followup.comment = reason
        followup.done_at, followup.done_by = now, user
        followup.save()
        ComplaintEvent.objects.create(
            complaint_id=followup.complaint_id,
            kind=ComplaintEvent.Kind.NOTE,
            actor=user,
            created_at=now,
            note=reason,
            data={
                "source": "followups",
                "followup": followup.pk,
                "message": stored(
                    gettext_noop("%(kind)s cancelled."),
                    kind=stored(KIND_MSGID[followup.kind]),
                ),
            },
        )
    return followup


def reschedule(followup_id: int, *, user, assignee, method: str, due_at, now=None) -> FollowUp:
    """Change who makes a scheduled follow-up, how and when. A new assignee or due time is
    reminded again."""
    now = now or timezone.now()
    if method not in Method.values:
        raise ServiceError(_("Choose a valid method."))
    if due_at is None:
        raise ServiceError(_("Give the due time."))
    with transaction.atomic():
        followup = _lock_followup(followup_id)
        _require_change(user, followup.complaint)
        if followup.status != Status.SCHEDULED:
            raise ServiceError(_("Only a scheduled follow-up can be changed."))
        if assignee is not None:
            if not assignee.is_active:
                raise ServiceError(_("%(user)s is not an active user.") % {"user": assignee})
            if not can_see(assignee, followup.complaint):
                raise ServiceError(_("%(user)s cannot see this complaint.") % {"user": assignee})
        if assignee != followup.assignee or due_at != followup.due_at:
            followup.reminded_at = None
        followup.assignee, followup.method, followup.due_at = assignee, method, due_at
        followup.save(update_fields=["assignee", "method", "due_at", "reminded_at"])
    return followup


def current_round_followups(complaint: Complaint):
    return FollowUp.objects.filter(complaint=complaint, round=complaint.reopened_count)


def waive(complaint_id: int, *, user, reason: str, now=None) -> FollowUpWaiver:
    """Allow closing without the current resolution's required follow-ups (reason needed);
    scheduled ones of that resolution are cancelled."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give the reason for closing without the follow-ups."))
    with transaction.atomic():
        complaint = lock(complaint_id)
        if (
            user is None
            or not user.has_perm("complaints.close_complaint")
            or not can_see(user, complaint)
        ):
            raise NotPermitted(_("You do not have permission to do this."))
        if complaint.status != ComplaintStatus.RESOLVED:
            raise ServiceError(_("Only a resolved complaint's follow-ups can be waived."))
        round_ = complaint.reopened_count
        if FollowUpWaiver.objects.filter(complaint=complaint, round=round_).exists():
            raise ServiceError(_("The follow-ups of this resolution are already waived."))
        waiver = FollowUpWaiver.objects.create(
            complaint=complaint, round=round_, reason=reason, waived_by=user, waived_at=now
        )
        pending = current_round_followups(complaint).filter(status=Status.SCHEDULED)
        pending.update(status=Status.CANCELLED, done_at=now, done_by=user, comment=reason)
        ComplaintEvent.objects.create(
            complaint=complaint,
            kind=ComplaintEvent.Kind.NOTE,
            actor=user,
            created_at=now,
            note=reason,
            data={
                "source": "followups",
                "message": stored(gettext_noop("Follow-ups waived: may be closed without them.")),
            },
        )
        Complaint.objects.filter(pk=complaint.pk).update(updated_at=now)
    return waiver


def close_blocker(complaint: Complaint) -> str | None:
    """Registered in complaints.hooks.CLOSE_BLOCKERS: the current resolution's required
    follow-ups must be done (customer reached) unless waived."""
    round_ = complaint.reopened_count
    if FollowUpWaiver.objects.filter(complaint=complaint, round=round_).exists():
        return None
    if not current_round_followups(complaint).exists():
        # Resolved, but the after-commit scheduling has not run (yet): do it now, so the
        # policy is checked rather than skipped.
        from .scheduling import schedule_for

        schedule_for(complaint.pk)
    missing = (
        current_round_followups(complaint)
        .filter(required_before_close=True)
        .exclude(status=Status.DONE)
        .count()
    )
    if missing:
        return _(
            "The required follow-up (return visit) is not done yet. Record it, or waive the "
            "follow-ups with a reason, before closing."
        )
    return None
