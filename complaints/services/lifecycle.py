"""Every state change of a complaint: intake, edits, assignment, transitions, notes, contacts.

Each function validates first, then writes inside one transaction with the complaint row
locked, appends the timeline event and bumps `updated_at`. A ServiceError means nothing was
written. `version` is the optimistic lock for edits made from a form: it changes with every
edit of a form field and every status transition.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import hooks, workflow
from ..messages import names, stored
from ..models import (
    AlertSchedule,
    Channel,
    Complaint,
    ComplaintEvent,
    Customer,
    DepartmentMembership,
    Severity,
    Status,
)
from ..selectors import visible_customers
from ..validators import check_entered_time
from . import alerts, awaiting, severity, sla
from .deadlines import next_due_at
from .errors import NotPermitted, ServiceError, TransitionNotAllowed
from .locking import check_version as _check_version
from .locking import lock as _lock
from .money import label_msgid
from .references import insert_numbered, next_reference

# Fields whose changes are recorded on the timeline (with old and new value).
TRACKED_FIELDS = (
    "channel",
    "received_at",
    "customer",
    "subject",
    "description",
    "desired_outcome",
    "item_ref",
    "households_affected",
    "media_risk",
    "litigation_risk",
    "category",
    "needs_other_departments",
    "fault",
    "root_cause",
    "solution",
    "resolution",
)
ASSIGNMENT_FIELDS = ("department", "assignee")
EDITABLE_FIELDS = TRACKED_FIELDS + ASSIGNMENT_FIELDS
# Edits that move deadlines: the clock start and what selects the SLA policy.
DEADLINE_INPUTS = frozenset({"received_at", "category", "customer"})
# Analysis may continue after a complaint is finished; everything else is frozen.
EDITABLE_WHEN_FINISHED = ("category", "fault", "root_cause")


def check_time(value, *, what, now) -> None:
    """The shared plausibility rule (complaints/validators.py) as a ServiceError."""
    try:
        check_entered_time(value, what=what, now=now)
    except ValidationError as exc:
        raise ServiceError(exc.messages[0]) from exc


def _require(user, perm: str) -> None:
    if user is None or not user.has_perm(perm):
        raise NotPermitted(_("You do not have permission to do this."))


def _display(complaint: Complaint, field: str, value) -> str | int | bool | None:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, Customer):
        # Never a name or phone: the timeline is read by people without personal-data access.
        return f"#{value.pk}"
    if isinstance(value, Model):
        # Bilingual reference data is shown in the reader's language (complaints.messages).
        return names(value) if hasattr(value, "name_en") else str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    choices = dict(Complaint._meta.get_field(field).flatchoices)
    return stored(label_msgid(choices[value])) if value in choices else str(value)


def _event(complaint: Complaint, kind: str, *, user, now, **fields) -> ComplaintEvent:
    return ComplaintEvent.objects.create(
        complaint=complaint, kind=kind, actor=user, created_at=now, **fields
    )


def _touch(complaint_id: int, now) -> None:
    Complaint.objects.filter(pk=complaint_id).update(updated_at=now)


def check_assignment(department, assignee) -> None:
    if assignee is None:
        return
    if department is None:
        raise ServiceError(_("Choose the responsible department before assigning a person."))
    if not assignee.is_active:
        raise ServiceError(_("%(user)s is not an active user.") % {"user": assignee})
    if not DepartmentMembership.objects.filter(department=department, user=assignee).exists():
        raise ServiceError(
            _("%(user)s is not a member of %(department)s.")
            % {"user": assignee, "department": department}
        )


def check_customer_visible(user, customer: Customer) -> None:
    """Staff may record or move complaints only to customers they may see (selectors)."""
    if user is None:
        return
    if not visible_customers(user, Customer.objects.filter(pk=customer.pk)).exists():
        raise NotPermitted(_("You cannot choose this customer."))


def register_complaint(
    complaint: Complaint,
    *,
    user,
    now=None,
    assisting=(),
    new_customer: bool = False,
    inserted_with=(),
) -> Complaint:
    """Record a new complaint (an unsaved instance with its intake fields filled in).
    `new_customer`: its customer was created in this transaction (no earlier complaints).
    `inserted_with`: unsaved rows pointing to the complaint (a `complaint` foreign key, e.g.
    the API's idempotency record), inserted right after it and its timeline entry (on
    PostgreSQL in the same statement)."""
    now = now or timezone.now()
    if complaint.pk is not None:
        raise ServiceError(_("This complaint is already recorded."))
    if user is not None:
        _require(user, "complaints.add_complaint")
    if complaint.received_at is None:
        complaint.received_at = now
    check_time(complaint.received_at, what=_("The time received"), now=now)
    if complaint.department_id is None and complaint.category_id is not None:
        complaint.department = complaint.category.default_department
    check_assignment(complaint.department, complaint.assignee)
    # No savepoint of its own (two round trips per intake): a failure here undoes the
    # caller's whole atomic block, e.g. intake.record_complaint's, which lets it propagate.
    with transaction.atomic(savepoint=False):
        year = timezone.localtime(now).year
        # Numbered with the INSERT below where possible (one statement); a complaint that
        # may complete a cluster needs its reference first (the severity reason names it).
        numbered_late = not (complaint.item_ref and complaint.category_id)
        if not numbered_late:
            complaint.reference = next_reference(year)
        complaint.status = Status.NEW
        complaint.created_by = user
        complaint.created_at = complaint.updated_at = now
        complaint.version = 1
        ctx = sla.Context.current()
        severity.evaluate(
            complaint,
            ctx,
            user=user,
            now=now,
            assisting=bool(assisting),
            new_customer=new_customer,
        )
        for field, value in sla.compute(complaint, ctx).items():
            setattr(complaint, field, value)
        if complaint.sla_policy_id is not None:  # the policy as loaded, not another query
            complaint.sla_policy = ctx.policies.by_id[complaint.sla_policy_id]
        created = ComplaintEvent(
            kind=ComplaintEvent.Kind.CREATED,
            actor=user,
            created_at=now,
            to_status=Status.NEW,
            data={
                "channel": complaint.channel,
                "severity": complaint.severity,
                "severity_reason": complaint.severity_reason,
                "department": names(complaint.department) or None,
                "assignee": str(complaint.assignee) if complaint.assignee else None,
                "sla_policy": names(complaint.sla_policy) or None,
                **{
                    field: timezone.localtime(value).isoformat()
                    for field in ("ack_due_at", "response_due_at", "resolve_due_at")
                    if (value := getattr(complaint, field))
                },
            },
        )
        # PostgreSQL: counter, complaint and timeline event in one statement.
        if not (
            numbered_late and insert_numbered(complaint, year, event=created, rows=inserted_with)
        ):
            if not complaint.reference:
                complaint.reference = next_reference(year)
            complaint.save(force_insert=True)
            for row in (created, *inserted_with):
                row.complaint = complaint
                row.save(force_insert=True)
        if assisting:
            complaint.assisting_departments.set(assisting)
        if complaint.severity == Severity.CRISIS:
            alerts.notify_soon(complaint)  # the crisis list hears at once
        hooks.after_commit(hooks.AFTER_REGISTERED, complaint, new_customer=new_customer)
    return complaint


def validate_edit(
    complaint: Complaint,
    changes: dict,
    *,
    expected_version: int | None,
    assisting_changed: bool = False,
    now=None,
) -> dict:
    """Check an edit against the current complaint; return {field: (old, new)} that differ."""
    now = now or timezone.now()
    _check_version(complaint, expected_version)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ServiceError(_("These fields cannot be edited: %s") % ", ".join(sorted(unknown)))
    diff = {
        field: (getattr(complaint, field), value)
        for field, value in changes.items()
        if getattr(complaint, field) != value
    }
    if not complaint.is_open and (set(diff) - set(EDITABLE_WHEN_FINISHED) or assisting_changed):
        raise ServiceError(
            _(
                "A complaint that is “%(status)s” can only have its category, fault and root "
                "cause changed; reopen it to change anything else."
            )
            % {"status": complaint.get_status_display()}
        )
    if "received_at" in diff:
        check_time(diff["received_at"][1], what=_("The time received"), now=now)
    if diff.keys() & set(ASSIGNMENT_FIELDS):
        check_assignment(
            changes.get("department", complaint.department),
            changes.get("assignee", complaint.assignee),
        )
    return diff


def update_complaint(
    complaint_id: int,
    *,
    user,
    changes: dict,
    expected_version: int | None,
    assisting=None,
    now=None,
) -> Complaint:
    """Apply edits made in a form. Records what changed; refuses stale edits."""
    now = now or timezone.now()
    _require(user, "complaints.change_complaint")
    with transaction.atomic():
        complaint = _lock(complaint_id)
        old_assisting = list(complaint.assisting_departments.all())
        assisting_changed = assisting is not None and set(assisting) != set(old_assisting)
        diff = validate_edit(
            complaint,
            changes,
            expected_version=expected_version,
            assisting_changed=assisting_changed,
            now=now,
        )
        if not diff and not assisting_changed:
            return complaint
        if "customer" in diff:
            check_customer_visible(user, diff["customer"][1])
        complaint.version += 1
        complaint.updated_at = now
        _write_diff(
            complaint,
            diff,
            user=user,
            now=now,
            assisting=assisting if assisting_changed else None,
            old_assisting=old_assisting,
        )
        complaint.save()
    return complaint


def _write_diff(complaint, diff: dict, *, user, now, assisting=None, old_assisting=()) -> None:
    """Set the edited fields on the locked complaint, record them on the timeline and move
    severity and deadlines if their inputs changed. The caller saves."""
    for field, (_old, new) in diff.items():
        setattr(complaint, field, new)
    changed = {
        f: [_display(complaint, f, o), _display(complaint, f, n)] for f, (o, n) in diff.items()
    }
    if assisting is not None:
        complaint.assisting_departments.set(assisting)
        changed["assisting_departments"] = [
            [names(d) for d in sorted(old_assisting, key=lambda d: d.name)],
            [names(d) for d in sorted(assisting, key=lambda d: d.name)],
        ]
    assignment = {f: v for f, v in changed.items() if f in ASSIGNMENT_FIELDS}
    if assignment:
        _event(complaint, ComplaintEvent.Kind.ASSIGNMENT, user=user, now=now, data=assignment)
    others = {f: v for f, v in changed.items() if f not in ASSIGNMENT_FIELDS}
    if others:
        _event(
            complaint,
            ComplaintEvent.Kind.FIELD_CHANGE,
            user=user,
            now=now,
            data={"changes": others},
        )
    if complaint.is_open and (
        diff.keys() & (severity.RULE_FIELDS | DEADLINE_INPUTS) or assisting is not None
    ):
        ctx = sla.Context.load()
        now_assisting = assisting if assisting is not None else old_assisting
        severity.evaluate(complaint, ctx, user=user, now=now, assisting=bool(now_assisting))
        sla.apply(
            complaint,
            ctx,
            reason=stored(gettext_noop("Details that set the deadlines changed.")),
            user=user,
            now=now,
        )
    if "received_at" in diff:
        sla.record_work_durations(complaint)  # measured from receipt


def assign(
    complaint_id: int, *, user, department, assignee=None, expected_version=None, now=None
) -> Complaint:
    return update_complaint(
        complaint_id,
        user=user,
        changes={"department": department, "assignee": assignee},
        expected_version=expected_version,
        now=now,
    )


def allowed_transitions(complaint: Complaint, user) -> list[workflow.Edge]:
    """The edges this user may take from the complaint's current status."""
    if user is None or not user.has_perm("complaints.change_complaint"):
        return []
    return [e for e in workflow.edges_from(complaint.status) if user.has_perm(e.permission)]


def transition(
    complaint_id: int,
    target: str,
    *,
    user,
    note: str = "",
    expected_version: int | None = None,
    merge_into: Complaint | None = None,
    changes: dict | None = None,
    now=None,
    system: bool = False,
    data: dict | None = None,
    follow_up_on=None,
) -> Complaint:
    """Move a complaint along one edge of the workflow, or change nothing and raise.

    `changes` fills in what the edge needs in the same step (the fields of
    `workflow.Edge.inputs`: the solution, the resolution summary, the responsible department
    and assignee); they are recorded like any edit, then the edge's preconditions are checked
    on the result.

    `system=True` is a rule of another service taking the step (e.g. a dissatisfied
    follow-up reopens the complaint): permission checks are skipped, `user` (may be None) is
    recorded as the actor, and `data` (e.g. a stored ``message`` giving the reason) goes on
    the timeline event in place of a typed note.

    `follow_up_on` (a date) is when to follow up with the customer when the step is
    "awaiting customer" (services/awaiting.py; default REDRESS_AWAITING_FOLLOW_UP_DAYS)."""
    now = now or timezone.now()
    note = (note or "").strip()
    data = dict(data or {})
    if follow_up_on is not None:
        if target != Status.AWAITING_CUSTOMER:
            raise ServiceError(_("A follow-up date is set only when waiting for the customer."))
        awaiting.check_follow_up(follow_up_on, now=now)
    with transaction.atomic():
        if target == Status.MERGED and merge_into is not None:
            # A merge locks two complaints: always in id order, so that two opposite merges
            # (A into B, B into A) wait for each other instead of deadlocking.
            _lock_in_order([complaint_id, merge_into.pk])
        complaint = _lock(complaint_id)
        _check_version(complaint, expected_version)
        edge = workflow.edge(complaint.status, target)
        if edge is None:
            raise TransitionNotAllowed(
                _("A complaint that is “%(source)s” cannot become “%(target)s”.")
                % {
                    "source": complaint.get_status_display(),
                    "target": Status(target).label if target in Status.values else target,
                }
            )
        if not system:
            _require(user, "complaints.change_complaint")
            _require(user, edge.permission)
        if changes:
            unexpected = set(changes) - set(edge.inputs)
            if unexpected:
                raise ServiceError(
                    _("“%(step)s” does not change: %(fields)s")
                    % {"step": edge.label, "fields": ", ".join(sorted(unexpected))}
                )
            diff = validate_edit(complaint, changes, expected_version=None, now=now)
            _write_diff(complaint, diff, user=user, now=now)
        if edge.note_required and not note and not data.get("message"):
            raise ServiceError(_("Please give a reason: %s") % edge.note_label)
        if target == Status.CLOSED and (blocker := hooks.close_blocker(complaint)):
            raise ServiceError(blocker)
        if edge.needs_department and complaint.department_id is None:
            raise ServiceError(_("Set the responsible department first."))
        if edge.needs_solution and not complaint.solution.strip():
            raise ServiceError(_("Describe the proposed solution first."))
        if edge.needs_resolution and not complaint.resolution.strip():
            raise ServiceError(_("Write the resolution summary first."))
        target_complaint = None
        if edge.needs_merge_target:
            target_complaint = _lock_merge_target(complaint, merge_into)

        source = complaint.status
        complaint.status = target
        if target == Status.ACKNOWLEDGED and complaint.acknowledged_at is None:
            complaint.acknowledged_at = now
        elif target == Status.RESOLVED:
            complaint.resolved_at = now
        elif target == Status.CLOSED:
            complaint.closed_at = now
        elif target == Status.REOPENED:
            complaint.reopened_count += 1
            complaint.resolved_at = None
            complaint.closed_at = None
        elif target == Status.INVALID:
            complaint.invalid_reason = note
        elif target == Status.MERGED:
            complaint.merged_into = target_complaint
        complaint.version += 1
        complaint.updated_at = now
        if target_complaint:
            data["merged_into"] = target_complaint.reference
        if target == Status.AWAITING_CUSTOMER:
            follow_up_on = follow_up_on or awaiting.default_follow_up(now)
            data["follow_up_on"] = follow_up_on.isoformat()
        _event(
            complaint,
            ComplaintEvent.Kind.STATUS,
            user=user,
            now=now,
            from_status=source,
            to_status=target,
            note=note,
            data=data,
        )
        _move_clock(complaint, source, target, user=user, now=now)
        if source == Status.AWAITING_CUSTOMER:
            awaiting.finish(complaint.pk, now=now)
        if target == Status.AWAITING_CUSTOMER:
            awaiting.start(complaint, user=user, now=now, follow_up_on=follow_up_on)
        if target in (Status.RESOLVED, Status.REOPENED):
            sla.record_work_durations(complaint)
        complaint.due_at = next_due_at(complaint)
        complaint.save()
        _recheck_escalation(complaint, now)
        if target_complaint is not None:
            _event(
                target_complaint,
                ComplaintEvent.Kind.MERGE,
                user=user,
                now=now,
                note=note,
                data={"merged_from": complaint.reference},
            )
            _touch(target_complaint.pk, now)
        if target == Status.RESOLVED:
            hooks.after_commit(hooks.AFTER_RESOLVED, complaint.pk)
    return complaint


def _recheck_escalation(complaint: Complaint, now) -> None:
    """A deadline was met: if the complaint was escalated, the sweep looks again at once and
    recounts the escalation level of what is left. After the complaint's save (whose trigger
    has just set the schedule from the complaint's first alert point)."""
    if complaint.is_open:
        AlertSchedule.objects.filter(complaint_id=complaint.pk, escalation_level__gt=0).update(
            next_alert_at=now
        )


def _move_clock(complaint: Complaint, source: str, target: str, *, user, now) -> None:
    """Waiting for the customer stops the SLA clock; reopening starts a new resolution clock."""
    if target == Status.AWAITING_CUSTOMER:
        sla.pause(complaint, now=now)
        _event(
            complaint,
            ComplaintEvent.Kind.DEADLINES,
            user=user,
            now=now,
            data={
                "paused_at": timezone.localtime(now).isoformat(),
                "message": stored(
                    gettext_noop("The clock stopped while waiting for the customer.")
                ),
            },
        )
        return
    if source == Status.AWAITING_CUSTOMER:
        sla.resume(complaint, now=now)
        reason = stored(gettext_noop("The clock resumed after waiting for the customer."))
    elif target == Status.REOPENED:
        sla.restart_resolution_clock(complaint, now=now)
        reason = stored(gettext_noop("Reopened: a new resolution clock starts."))
    else:
        return
    if complaint.is_open:
        sla.apply(complaint, sla.Context.load(), reason=reason, user=user, now=now)


def _lock_in_order(ids) -> None:
    list(
        Complaint.objects.filter(pk__in=set(ids))
        .order_by("pk")
        .select_for_update(of=("self",))
        .values_list("pk", flat=True)
    )


def _lock_merge_target(complaint: Complaint, merge_into: Complaint | None) -> Complaint:
    if merge_into is None:
        raise ServiceError(_("Choose the complaint to merge into."))
    if merge_into.pk == complaint.pk:
        raise ServiceError(_("A complaint cannot be merged into itself."))
    target = Complaint.objects.select_for_update().get(pk=merge_into.pk)
    if target.status in (Status.MERGED, Status.INVALID):
        raise ServiceError(
            _("%(reference)s is %(status)s and cannot receive other complaints.")
            % {"reference": target.reference, "status": target.get_status_display()}
        )
    return target


def add_note(complaint_id: int, *, user, text: str, source: str = "", now=None) -> ComplaintEvent:
    """An internal note. `user=None` is a system caller authorised by its own rules (the API
    checks the client's scope); `source` names it on the timeline."""
    now = now or timezone.now()
    text = (text or "").strip()
    if user is not None:
        _require(user, "complaints.change_complaint")
    if not text:
        raise ServiceError(_("The note is empty."))
    with transaction.atomic():
        complaint = _lock(complaint_id)
        event = _event(
            complaint,
            ComplaintEvent.Kind.NOTE,
            user=user,
            now=now,
            note=text,
            data={"source": source} if source else {},
        )
        _touch(complaint.pk, now)
    return event


def log_contact(
    complaint_id: int,
    *,
    user,
    channel: str,
    direction: str,
    summary: str,
    contacted_at=None,
    source: str = "",
    now=None,
) -> ComplaintEvent:
    """Record a contact with the customer. The first outbound contact is the first response.
    `user=None` and `source` as for add_note."""
    now = now or timezone.now()
    contacted_at = contacted_at or now
    summary = (summary or "").strip()
    if user is not None:
        _require(user, "complaints.change_complaint")
    if not summary:
        raise ServiceError(_("Summarise what was said."))
    if channel not in Channel.values:
        raise ServiceError(_("Choose a valid contact channel."))
    if direction not in ComplaintEvent.Direction.values:
        raise ServiceError(_("Choose whether the customer contacted us or we contacted them."))
    check_time(contacted_at, what=_("The contact time"), now=now)
    with transaction.atomic():
        complaint = _lock(complaint_id)
        if contacted_at < complaint.received_at:
            raise ServiceError(_("The contact cannot be earlier than the complaint was received."))
        event = _event(
            complaint,
            ComplaintEvent.Kind.CONTACT,
            user=user,
            now=now,
            note=summary,
            contact_channel=channel,
            contact_direction=direction,
            data={
                "contacted_at": contacted_at.isoformat(),
                **({"source": source} if source else {}),
            },
        )
        fields = ["updated_at"]
        complaint.updated_at = now
        if complaint.status == Status.AWAITING_CUSTOMER:
            awaiting.contact_logged(complaint.pk, contacted_at=contacted_at)
        # Contacts are often logged after the fact and out of order: the earliest outbound
        # contact is the first response.
        first_response = direction == ComplaintEvent.Direction.OUTBOUND and (
            complaint.first_response_at is None or contacted_at < complaint.first_response_at
        )
        if first_response:
            complaint.first_response_at = contacted_at
            sla.record_work_durations(complaint)
            complaint.due_at = next_due_at(complaint)
            fields += [
                "first_response_at",
                "first_response_work_seconds",
                "resolution_work_seconds",
                "due_at",
            ]
        complaint.save(update_fields=fields)
        if first_response:
            _recheck_escalation(complaint, now)
    return event
