"""Responsibility determination (责任判定) and the remedy plan (解决方案) of a complaint.

The department / assisting departments / fault / "needs other departments" part goes through
`lifecycle.update_complaint` (so the severity rules and deadlines follow); validity with its
reason, the root-cause category and the finding are set here, with who decided and when, and
one "Responsibility decided" timeline entry in both languages.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..messages import stored
from ..models import Complaint, ComplaintEvent, Fault, RemedyPlan, RootCause, Validity
from . import lifecycle
from .errors import NotPermitted, ServiceError, StaleVersion
from .lifecycle import check_time
from .money import label_msgid


def _require(user, perm: str) -> None:
    if user is None or not user.is_active or not user.has_perm(perm):
        raise NotPermitted(_("You do not have permission to do this."))


def decide(
    complaint_id: int,
    *,
    user,
    validity: str,
    validity_reason: str = "",
    department=None,
    assisting=None,
    fault: str = Fault.UNDETERMINED,
    root_cause_category: RootCause | None = None,
    finding: str = "",
    needs_other_departments: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Complaint:
    now = now or timezone.now()
    _require(user, "complaints.change_complaint")
    validity_reason = (validity_reason or "").strip()
    finding = (finding or "").strip()
    if validity not in Validity.values:
        raise ServiceError(_("Choose whether the complaint is valid."))
    if validity == Validity.INVALID:
        _require(user, "complaints.invalidate_complaint")
        if not validity_reason:
            raise ServiceError(_("Give the reason why the complaint is invalid."))
    if fault not in Fault.values:
        raise ServiceError(_("Choose the fault attribution."))
    if root_cause_category is not None and not root_cause_category.active:
        raise ServiceError(_("This root cause is no longer in use; choose another."))
    if validity == Validity.VALID and department is None:
        raise ServiceError(_("A valid complaint needs a responsible department."))
    with transaction.atomic():
        complaint = lifecycle.update_complaint(
            complaint_id,
            user=user,
            changes={
                "department": department,
                "fault": fault,
                "needs_other_departments": needs_other_departments,
            },
            expected_version=expected_version,
            assisting=list(assisting) if assisting is not None else None,
            now=now,
        )
        complaint.validity = validity
        complaint.validity_reason = validity_reason
        complaint.root_cause_category = root_cause_category
        complaint.finding = finding
        complaint.responsibility_decided_by = user
        complaint.responsibility_decided_at = now
        complaint.version += 1
        complaint.updated_at = now
        complaint.save(
            update_fields=[
                "validity",
                "validity_reason",
                "root_cause_category",
                "finding",
                "responsibility_decided_by",
                "responsibility_decided_at",
                "version",
                "updated_at",
            ]
        )
        assisting_names = sorted(str(d) for d in complaint.assisting_departments.all())
        ComplaintEvent.objects.create(
            complaint=complaint,
            kind=ComplaintEvent.Kind.RESPONSIBILITY,
            actor=user,
            created_at=now,
            note="\n".join(t for t in (validity_reason, finding) if t),
            data={
                "message": stored(
                    gettext_noop(
                        "Responsibility decided: %(validity)s; fault: %(fault)s; responsible: "
                        "%(department)s"
                    ),
                    validity=stored(label_msgid(Validity(validity).label)),
                    fault=stored(label_msgid(Fault(fault).label)),
                    department=str(department) if department else "—",
                ),
                "validity": validity,
                "fault": fault,
                "department": department.pk if department else None,
                "assisting": assisting_names,
                "root_cause_category": root_cause_category.code if root_cause_category else None,
                "needs_other_departments": needs_other_departments,
            },
        )
    return complaint


PLAN_FIELDS = ("apology", "apology_text", "explanation", "correction")


def record_plan(
    complaint_id: int,
    *,
    user,
    apology: bool,
    apology_text: str = "",
    explanation: str = "",
    correction: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> RemedyPlan:
    """Write (or revise) the remedy plan; a revision waits for a new answer of the customer."""
    now = now or timezone.now()
    _require(user, "complaints.change_remedyplan")
    values = {
        "apology": bool(apology),
        "apology_text": (apology_text or "").strip(),
        "explanation": (explanation or "").strip(),
        "correction": (correction or "").strip(),
    }
    if not (values["apology"] or values["explanation"] or values["correction"]):
        raise ServiceError(
            _("A remedy plan needs at least an apology, an explanation or a correction.")
        )
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update(of=("self",)).get(pk=complaint_id)
        if not complaint.is_open:
            raise ServiceError(
                _("A complaint that is “%(status)s” cannot get a new remedy plan.")
                % {"status": complaint.get_status_display()}
            )
        plan = RemedyPlan.objects.select_for_update().filter(complaint=complaint).first()
        if plan is None:
            plan = RemedyPlan(complaint=complaint, version=0)
        elif expected_version is not None and plan.version != expected_version:
            raise StaleVersion(
                _("The remedy plan was changed by someone else after you opened it.")
            )
        changed = [f for f in PLAN_FIELDS if getattr(plan, f) != values[f]]
        if plan.pk and not changed:
            return plan
        for field, value in values.items():
            setattr(plan, field, value)
        plan.answer, plan.answered_at = RemedyPlan.Answer.PENDING, None
        plan.escalation_path, plan.escalation_note = "", ""
        plan.updated_by, plan.updated_at = user, now
        plan.version += 1
        plan.save()
        ComplaintEvent.objects.create(
            complaint=complaint,
            kind=ComplaintEvent.Kind.REMEDY,
            actor=user,
            created_at=now,
            note="\n".join(
                t
                for t in (values["apology_text"], values["explanation"], values["correction"])
                if t
            ),
            data={
                "message": stored(
                    gettext_noop("Remedy plan recorded (version %(version)s)")
                    if plan.version == 1
                    else gettext_noop("Remedy plan revised (version %(version)s)"),
                    version=plan.version,
                ),
                "apology": values["apology"],
                "changed": changed,
            },
        )
        Complaint.objects.filter(pk=complaint.pk).update(updated_at=now)
    return plan


def record_answer(
    complaint_id: int,
    *,
    user,
    answer: str,
    escalation_path: str = "",
    escalation_note: str = "",
    answered_at: datetime | None = None,
    now: datetime | None = None,
) -> RemedyPlan:
    """The customer's answer; a rejection records the escalation path offered (ISO 10002)."""
    now = now or timezone.now()
    answered_at = answered_at or now
    _require(user, "complaints.change_remedyplan")
    Answer, Path = RemedyPlan.Answer, RemedyPlan.EscalationPath
    if answer not in (Answer.ACCEPTED, Answer.REJECTED, Answer.NO_ANSWER):
        raise ServiceError(_("Choose the customer's answer."))
    if answer == Answer.REJECTED and escalation_path not in (Path.INTERNAL_REVIEW, Path.EXTERNAL):
        raise ServiceError(
            _("The customer rejected the solution: record the escalation path offered.")
        )
    if answer != Answer.REJECTED:
        escalation_path, escalation_note = "", ""
    check_time(answered_at, what=_("The time of the customer's answer"), now=now)
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update(of=("self",)).get(pk=complaint_id)
        plan = RemedyPlan.objects.select_for_update().filter(complaint=complaint).first()
        if plan is None:
            raise ServiceError(_("Record the remedy plan before the customer's answer."))
        plan.answer, plan.answered_at = answer, answered_at
        plan.escalation_path = escalation_path
        plan.escalation_note = (escalation_note or "").strip()
        plan.updated_by, plan.updated_at = user, now
        plan.version += 1
        plan.save()
        if answer == Answer.REJECTED:
            message = stored(
                gettext_noop("The customer rejected the remedy; offered: %(path)s"),
                path=stored(label_msgid(Path(escalation_path).label)),
            )
        else:
            message = stored(
                gettext_noop("Customer's answer to the remedy: %(answer)s"),
                answer=stored(label_msgid(Answer(answer).label)),
            )
        ComplaintEvent.objects.create(
            complaint=complaint,
            kind=ComplaintEvent.Kind.REMEDY,
            actor=user,
            created_at=now,
            note=plan.escalation_note,
            data={
                "message": message,
                "answer": answer,
                "escalation_path": escalation_path,
                "answered_at": timezone.localtime(answered_at).isoformat(),
            },
        )
        Complaint.objects.filter(pk=complaint.pk).update(updated_at=now)
    return plan
